"""The one JSON error shape, `{"error": {"code": ..., "message": ...}}`, and the HTTP status of each error.

Domain errors (`handoff.errors`) map to a status by class; FastAPI's own validation and routing errors
get the same shape. A database that cannot be reached (connection refused or reset) is a 503
`database_unavailable` with `Retry-After`, so a client retries the same request (same
`client_message_id`) instead of giving up. Unexpected exceptions become a 500 whose body says nothing
about the input.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handoff.errors import (
    DATABASE_DOWN_ERRORS,
    ConflictError,
    ForbiddenError,
    HandoffError,
    InvalidInputError,
    MessageTooLongError,
    NotFoundError,
    RateLimitedError,
    UnauthorizedError,
    UnavailableError,
)
from handoff.states import IllegalTransition

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER_S = 2
WS_CLOSE_TRY_AGAIN_LATER = 1013  # RFC 6455: the client should reconnect (with `after`) shortly

# The first class in an error's MRO found here gives its status; anything else is a 400.
STATUS_BY_ERROR: dict[type[HandoffError], int] = {
    InvalidInputError: 422,
    UnauthorizedError: 401,
    ForbiddenError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    MessageTooLongError: 413,
    RateLimitedError: 429,
    UnavailableError: 503,
}


def status_of(exc: HandoffError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def headers_of(exc: HandoffError) -> dict[str, str] | None:
    if isinstance(exc, RateLimitedError):
        return {"Retry-After": str(exc.retry_after_s)}
    return None


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
        return error_response(status_of(exc), exc.code, exc.message, headers_of(exc))

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
        app.add_exception_handler(error, on_database_down)  # type: ignore[arg-type]  # HTTP and WebSocket both
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
