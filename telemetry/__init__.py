"""Logging context shared by the three processes: JSON log lines that carry the request and
conversation ids, passed from the service to Rasa (message metadata, `X-Request-ID`) and on to the
action server (the tracker's latest message). Standard library only, so that Rasa's own environment
(Python 3.10, not ours to change) can load the formatter too (`bot/logging.yml`)."""

from telemetry.logs import (
    CONVERSATION_ID,
    REQUEST_ID,
    REQUEST_ID_HEADER,
    JsonFormatter,
    bind,
    configure_logging,
    new_request_id,
    outgoing_headers,
)

__all__ = [
    "CONVERSATION_ID",
    "REQUEST_ID",
    "REQUEST_ID_HEADER",
    "JsonFormatter",
    "bind",
    "configure_logging",
    "new_request_id",
    "outgoing_headers",
]
