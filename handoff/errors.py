"""Typed errors and the one JSON error shape: `{"error": {"code": ..., "message": ...}}`.

Data functions raise these with the id of what failed; `register_error_handlers` maps them (and
FastAPI's own validation / routing errors) to a status code and that shape. A database that cannot
be reached (connection refused or reset) is a 503 `database_unavailable` with `Retry-After`, so a
client retries the same request (same `client_message_id`) instead of giving up. Unexpected
exceptions become a 500 whose body says nothing about the input.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handoff.states import IllegalTransition

log = logging.getLogger(__name__)


class HandoffError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, target_id: str | int | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.message = message
        self.target_id = target_id
        self.headers = headers


class InvalidInputError(HandoffError):
    status_code = 422
    code = "invalid_input"


class UnauthorizedError(HandoffError):
    status_code = 401
    code = "unauthorized"


class ForbiddenError(HandoffError):
    status_code = 403
    code = "forbidden"


class NotFoundError(HandoffError):
    status_code = 404
    code = "not_found"


class ConflictError(HandoffError):
    status_code = 409
    code = "conflict"


class MessageTooLongError(HandoffError):
    status_code = 413
    code = "message_too_long"


class RateLimitedError(HandoffError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: int, target_id: str | None = None):
        super().__init__(message, target_id=target_id, headers={"Retry-After": str(retry_after_s)})
        self.retry_after_s = retry_after_s


class BotUnavailableError(HandoffError):
    """Rasa (or the action server behind it) failed, timed out or answered nothing."""

    status_code = 503
    code = "bot_unavailable"


# The database connection failed or was lost (not a bad statement: those are other DBAPIErrors).
DATABASE_DOWN_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)
DATABASE_RETRY_AFTER_S = 2
WS_CLOSE_TRY_AGAIN_LATER = 1013  # RFC 6455: the client should reconnect (with `after`) shortly


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
}


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """The one error shape every route answers with."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` documenting the error shape (it replaces FastAPI's default 422 schema)."""
    return {
        status: {"model": ErrorBody, "description": HTTP_CODES.get(status, "error")} for status in statuses
    }


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def register_error_handlers(app: FastAPI) -> None:
    async def on_handoff_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HandoffError)
        return error_response(exc.status_code, exc.code, exc.message, exc.headers)

    async def on_illegal_transition(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, IllegalTransition)
        return error_response(
            409, "illegal_transition", f"conversation is {exc.current!r}; cannot move to {exc.target!r}"
        )

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, "invalid_input", _validation_message(exc))

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = HTTP_CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    async def on_database_down(conn: HTTPConnection, exc: Exception) -> JSONResponse | None:
        log.warning("database unavailable on %s (%s)", conn.url.path, type(exc).__name__)
        if isinstance(conn, WebSocket):  # already accepted: close it; the client resumes with `after`
            with contextlib.suppress(Exception):
                await conn.close(WS_CLOSE_TRY_AGAIN_LATER)
            return None
        return error_response(
            503,
            "database_unavailable",
            "the service cannot reach its database right now; retry the same request shortly",
            {"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        )

    app.add_exception_handler(HandoffError, on_handoff_error)
    app.add_exception_handler(IllegalTransition, on_illegal_transition)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for error in DATABASE_DOWN_ERRORS:
        app.add_exception_handler(error, on_database_down)
    app.add_middleware(UnexpectedErrors)


class UnexpectedErrors:
    """Any other exception becomes a 500 in the one shape, saying nothing about the input.

    Done here rather than with an `Exception` handler: Starlette re-raises after such a handler, and
    uvicorn then drops the keep-alive connection, so the client's next request fails too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = error_response(
                500, "internal_error", "something went wrong on our side; please try again"
            )
            await response(scope, receive, send)


# Short names, used by the agent side.
InvalidInput = InvalidInputError
Unauthorized = UnauthorizedError
Forbidden = ForbiddenError
NotFound = NotFoundError
Conflict = ConflictError
RateLimited = RateLimitedError
BotUnavailable = BotUnavailableError
