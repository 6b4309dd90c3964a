"""Reading a service WebSocket in a synchronous test: wait for the first frame that matches."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from websockets.sync.client import ClientConnection

Frame = dict[str, Any]


def until(ws: ClientConnection, predicate: Callable[[Frame], bool], timeout_s: float = 15) -> Frame:
    """The next frame for which `predicate` holds; frames before it are skipped. TimeoutError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        frame = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
        if predicate(frame):
            return frame
