"""Rasa server side of the assistant: domain, endpoints and custom NLU components."""
