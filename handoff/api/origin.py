"""Cross-site requests are refused: an ASGI middleware that checks the `Origin` header.

A browser names the page that makes a request in `Origin` on every POST, PUT, PATCH and DELETE and on
every WebSocket handshake. The agent console authenticates with a cookie, which the browser would send
along with a request another site's page makes (SameSite helps, but not on every browser, path or
subdomain setup). So every state-changing request of the agent API (and any that carries the agent's
cookie), and both WebSocket handshakes, must come from the service's own origin (the `Host` the request
was sent to) or one listed in ALLOWED_ORIGINS. Requests without `Origin` are not from a page (API
clients, native apps, curl): allowed. The borrower's REST routes take a bearer token only, never a
cookie, so another site's page cannot act with the borrower's credentials: they are not checked.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from handoff.api.deps_agent import SESSION_COOKIE
from handoff.api.errors import error_response
from handoff.api.ws_protocol import CLOSE_FORBIDDEN
from handoff.config import normalise_origin

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
AGENT_API = "/api/agent"


def origin_allowed(origin: str, *, host: str | None, allowed: frozenset[str]) -> bool:
    """Is `origin` (an Origin header) the origin of `host` (the Host header) or an allowed one?"""
    found = normalise_origin(origin)
    if found is None:  # "null" (sandboxed frames, file:) or junk
        return False
    if found in allowed:
        return True
    own = {normalise_origin(f"{scheme}://{host}") for scheme in ("http", "https")} if host else set()
    return found in own


class OriginCheck:
    def __init__(self, app: ASGIApp, *, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        checked = scope["type"] == "websocket" or (
            scope.get("method", "GET") not in SAFE_METHODS
            and (scope.get("path", "").startswith(AGENT_API) or SESSION_COOKIE in HTTPConnection(scope).cookies)
        )
        if not checked or origin is None or origin_allowed(origin, host=headers.get("host"), allowed=self.allowed):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await receive()  # websocket.connect; closing before accepting answers the handshake with 403
            await send({"type": "websocket.close", "code": CLOSE_FORBIDDEN, "reason": "origin not allowed"})
            return
        response = error_response(
            403, "forbidden", "cross-site request refused: this page's origin may not change anything here "
            "(the service's own origin and ALLOWED_ORIGINS may)",
        )
        await response(scope, receive, send)
