"""Logging of the service process: paths without their query strings, everywhere.

Query strings can carry what people typed (an old console's KB search did: `?q=...card 4111...`),
so no log line shows one: uvicorn's access lines (`"GET /path?x=1 HTTP/1.1" 200`) and WebSocket
lines (`"WebSocket /ws/...?after=3" [accepted]`) are filtered before they are formatted. The entry
point (`python -m handoff serve`) hands `uvicorn_log_config` to uvicorn and filters its own handlers.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG


def without_query(value: object) -> object:
    """`/a/b?x=1` -> `/a/b`; anything that is not a path with a query string is returned as it is."""
    if isinstance(value, str) and value.startswith("/") and "?" in value:
        return value.split("?", 1)[0]
    return value


class WithoutQueryStrings(logging.Filter):
    """Removes the query string from every path among a record's arguments (never drops the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(without_query(arg) for arg in record.args)
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's own logging configuration with `WithoutQueryStrings` on each of its handlers."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["without_query"] = {"()": WithoutQueryStrings}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("without_query")
    return config


def filter_root_handlers() -> None:
    """The same filter on the root logger's handlers (the service's own log lines)."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(WithoutQueryStrings())
