"""The log filter of the service process: paths lose their query strings, records are kept."""

from __future__ import annotations

import logging

from uvicorn.logging import AccessFormatter

from handoff.infra.logs import WithoutQueryStrings, uvicorn_log_config


def test_access_and_websocket_lines_lose_their_query_strings() -> None:
    access = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/api/agent/kb/search?q=card+4111111111111111", "1.1", 405),
                               None)
    assert WithoutQueryStrings().filter(access) is True
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(access)
    assert line == '127.0.0.1:5000 - "GET /api/agent/kb/search HTTP/1.1" 405 Method Not Allowed'
    ws = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, '%s - "WebSocket %s" %s',
                           ("127.0.0.1:5000", "/ws/conversations/abc?after=3&t=secret", "[accepted]"), None)
    WithoutQueryStrings().filter(ws)
    assert ws.getMessage() == '127.0.0.1:5000 - "WebSocket /ws/conversations/abc" [accepted]'
    plain = logging.LogRecord("handoff", logging.INFO, __file__, 1, "asked %s?", ("why",), None)
    WithoutQueryStrings().filter(plain)
    assert plain.getMessage() == "asked why?"


def test_every_uvicorn_handler_has_the_filter() -> None:
    config = uvicorn_log_config()
    assert config["filters"]["without_query"] == {"()": WithoutQueryStrings}
    assert all("without_query" in handler["filters"] for handler in config["handlers"].values())
