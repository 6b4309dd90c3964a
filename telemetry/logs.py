"""JSON log lines with the ids of the request and the conversation they belong to.

The ids live in context variables: set once where a request enters a process (`bind`), they follow
the request through its tasks and worker threads (asyncio and `anyio.to_thread` copy the context),
and `ContextFilter` puts them on every record logged meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, Literal

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)
CONVERSATION_ID: ContextVar[str | None] = ContextVar("conversation_id", default=None)
# An id from outside is kept only when it looks like one: it lands in every log line.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# Attributes every LogRecord has; anything else passed with `extra=` is written out as a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def new_request_id(supplied: str | None = None) -> str:
    """`supplied` when it is a plausible id (letters, digits, `._:-`, at most 64), else a fresh one."""
    if supplied and _SAFE_ID.match(supplied):
        return supplied
    return uuid.uuid4().hex


def outgoing_headers() -> dict[str, str]:
    """Headers that carry the current request id on to another process (empty outside a request)."""
    request_id = REQUEST_ID.get()
    return {REQUEST_ID_HEADER: request_id} if request_id else {}


@contextlib.contextmanager
def bind(*, request_id: str | None = None, conversation_id: str | None = None) -> Iterator[None]:
    """Within the block, log records carry these ids (None leaves the current value)."""
    tokens = []
    if request_id is not None:
        tokens.append((REQUEST_ID, REQUEST_ID.set(request_id)))
    if conversation_id is not None:
        tokens.append((CONVERSATION_ID, CONVERSATION_ID.set(conversation_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class ContextFilter(logging.Filter):
    """Adds `request_id` and `conversation_id` (None outside a request) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        if not hasattr(record, "conversation_id"):
            record.conversation_id = CONVERSATION_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ids, `extra=` fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
            "conversation_id": getattr(record, "conversation_id", CONVERSATION_ID.get()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str, fmt: Literal["text", "json"] = "text") -> None:
    """The root handler of a process: plain text (development) or JSON lines (production)."""
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
