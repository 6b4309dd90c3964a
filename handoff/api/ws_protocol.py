"""WebSocket protocol constants shared by the borrower and the agent sockets."""

from __future__ import annotations

AUTH_TIMEOUT_S = 10.0  # a socket that has not authenticated by then is closed
CLOSE_UNAUTHORIZED = 4401  # application close codes: 4000 + the HTTP status they mirror
CLOSE_FORBIDDEN = 4403
MAX_FRAME_CHARS = 20_000
