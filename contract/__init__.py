"""What crosses between the bot (`actions/`, run by Rasa's action server) and the conversation service
(`handoff/`): slot names, reason and priority codes, custom payload types, tracker turns and the handoff
packet. Both sides import these definitions; neither builds the shapes by hand.

It depends only on the standard library and typing_extensions (TypedDicts that pydantic can validate), so
the action server and the service can both load it.
"""
