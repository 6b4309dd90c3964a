"""ASGI middleware: a request id for every HTTP request and WebSocket, the ids bound for logging,
request latency and open WebSockets in the metrics.

The id is the client's `X-Request-ID` when it looks like one (a load balancer's), else a new one;
it is sent back in the response header and travels on to Rasa with the turn (`handoff.rasa.client`).
A path of one conversation (`/api/conversations/{id}/...`, `/ws/conversations/{id}`) binds the
conversation id as well. Metrics are labelled by route template, never by the path itself.
"""

from __future__ import annotations

import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handoff.infra.metrics import Metrics
from telemetry import REQUEST_ID_HEADER, bind, new_request_id

_CONVERSATION_PATH = re.compile(r"^/(?:api|ws)/(?:agent/)?conversations/([A-Za-z0-9_-]{1,64})(?:/|$)")
_HEADER = REQUEST_ID_HEADER.lower().encode()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


def _websocket_kind(path: str) -> str:
    return "agent" if path.startswith("/ws/agent") else "borrower"


class RequestContext:
    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = new_request_id(_header(scope, _HEADER))
        match = _CONVERSATION_PATH.match(scope.get("path", ""))
        with bind(request_id=request_id, conversation_id=match.group(1) if match else None):
            if scope["type"] == "http":
                await self._http(scope, receive, send, request_id)
            else:
                await self._websocket(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append((_HEADER, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.http_seconds.labels(
                route=_route(scope), method=scope.get("method", ""), status=f"{status // 100}xx"
            ).observe(time.perf_counter() - started)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        gauge = self.metrics.websockets.labels(kind=_websocket_kind(scope.get("path", "")))
        accepted = False

        async def send_counted(message: Message) -> None:
            nonlocal accepted
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                gauge.inc()
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            if accepted:
                gauge.dec()

