"""Rasa custom actions: answer from the knowledge base, clarify, fallback ladder, handoff packet.

Run with ``python -m actions --host 127.0.0.1 --port 5055``. Nothing happens at import time.
"""
