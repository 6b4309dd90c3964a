"""WebSocket protocol constants shared by the borrower and the agent sockets, and the typing budget."""

from __future__ import annotations

import math
from collections import deque

from handoff.errors import RateLimitedError
from handoff.infra.clock import Clock

AUTH_TIMEOUT_S = 10.0  # a socket that has not authenticated by then is closed
CLOSE_UNAUTHORIZED = 4401  # application close codes: 4000 + the HTTP status they mirror
CLOSE_FORBIDDEN = 4403
MAX_FRAME_CHARS = 20_000
# Typing frames fan out to the other side of the chat (and to every replica): a person typing sends
# one on and one off every few seconds, so this is generous; past it frames are dropped.
TYPING_FRAMES_PER_WINDOW = 10
TYPING_WINDOW_S = 10.0


class FrameBudget:
    """At most `limit` frames of one kind per `window_s` on one socket (a sliding window).

    `spend()` is True while there is budget. The first frame over it raises RateLimitedError, so the
    client hears why once; further frames in the same window are dropped without an answer."""

    def __init__(self, clock: Clock, *, limit: int = TYPING_FRAMES_PER_WINDOW, window_s: float = TYPING_WINDOW_S) -> None:
        self._clock = clock
        self._limit = limit
        self._window_s = window_s
        self._spent: deque[float] = deque()
        self._told = False

    def spend(self, what: str = "typing") -> bool:
        now = self._clock.now().timestamp()
        while self._spent and self._spent[0] <= now - self._window_s:
            self._spent.popleft()
        if len(self._spent) < self._limit:
            self._spent.append(now)
            self._told = False
            return True
        if self._told:
            return False
        self._told = True
        retry = max(1, math.ceil(self._spent[0] + self._window_s - now))
        raise RateLimitedError(f"too many {what} frames; the next is accepted in {retry}s", retry_after_s=retry)
