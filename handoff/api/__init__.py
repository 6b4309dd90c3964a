"""HTTP and WebSocket routes of the conversation service."""
