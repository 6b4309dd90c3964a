"""Security headers: the pages' own (CSP and friends) on every HTML response, HSTS in production.

`SecurityHeaders` adds them to every response that is HTML, whichever route or static file produced it
(`/`, `/console`, `/static/...`, `/docs`), unless the route set its own; every response is `nosniff`.
`connect-src 'self'` covers the pages' WebSockets to their own host (CSP Level 3: 'self' matches ws: and
wss: of the same host; checked in Chromium by the browser tests).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Referrer-Policy": "no-referrer",
}
HTML_HEADERS = {key: value for key, value in PAGE_HEADERS.items() if key != "Cache-Control"}
HSTS = "max-age=31536000; includeSubDomains"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    for key, value in HTML_HEADERS.items():
                        headers.setdefault(key, value)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, with_headers)
