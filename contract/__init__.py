"""What crosses between the bot (`actions/`, run by Rasa's action server) and the conversation service
(`handoff/`): slot names, reason and priority codes, custom payload types, tracker turns and the handoff
packet. Both sides import these definitions; neither builds the shapes by hand.

`settings.py` holds the one way every process reads its settings. The package depends only on the standard
library, typing_extensions and pydantic-settings, so the action server and the service can both load it.
"""
