"""HTTP front of the action server (Starlette): shared-secret check, deadline, errors that never echo input.

Rasa posts ``{"next_action", "sender_id", "tracker", "domain", "version"}`` to ``/webhook?token=...``.
Replies: 200 ``{"events", "responses"}``; 400 ``{"error", "action_name"}`` (Rasa's rejection format);
401/404/500/504 ``{"error", "code", "action_name"}``. The tracker is never part of a reply or a log line.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import (
    ActionExecutionRejection,
    ActionMissingDomainException,
    ActionNotFoundException,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from actions.errors import ActionError
from actions.kb import KnowledgeBaseProvider
from actions.metrics import ActionMetrics
from actions.settings import ActionServerSettings
from telemetry import REQUEST_ID_HEADER, bind, new_request_id

logger = logging.getLogger(__name__)

UNAUTHORIZED = 401
NOT_FOUND = 404
BAD_REQUEST = 400
INTERNAL_ERROR = 500
GATEWAY_TIMEOUT = 504


def _error(status: int, code: str, message: str, action_name: str | None) -> JSONResponse:
    return JSONResponse({"error": message, "code": code, "action_name": action_name}, status_code=status)


def _authorized(request: Request, token: str) -> bool:
    supplied = request.query_params.get("token")
    if supplied is None:
        header = request.headers.get("authorization", "")
        supplied = header[7:] if header.lower().startswith("bearer ") else None
    return supplied is not None and hmac.compare_digest(supplied.encode(), token.encode())


def _ids(request: Request, action_call: dict[str, Any]) -> tuple[str, str | None]:
    """The request id the service gave this turn (message metadata, which Rasa keeps in the tracker's
    latest message), and the conversation id (Rasa's sender id)."""
    tracker = action_call.get("tracker")
    latest = tracker.get("latest_message") if isinstance(tracker, dict) else None
    metadata = latest.get("metadata") if isinstance(latest, dict) else None
    supplied = metadata.get("request_id") if isinstance(metadata, dict) else None
    sender = action_call.get("sender_id")
    return (
        new_request_id(supplied if isinstance(supplied, str) else request.headers.get(REQUEST_ID_HEADER)),
        sender if isinstance(sender, str) else None,
    )


def create_app(
    settings: ActionServerSettings,
    actions: Sequence[Action],
    kb: KnowledgeBaseProvider | None = None,
    metrics: ActionMetrics | None = None,
) -> Starlette:
    metrics = metrics or ActionMetrics()
    executor = ActionExecutor()
    for action in actions:
        executor.register_action(action)
    token = settings.ACTION_SERVER_TOKEN
    timeout = settings.ACTION_TIMEOUT_S

    async def health(_: Request) -> JSONResponse:
        status: dict[str, Any] = {"status": "ok"}
        if kb is not None:
            status["knowledge_base"] = "ready" if kb.ready else ("error" if kb.error else "loading")
        return JSONResponse(status)

    async def list_actions(request: Request) -> JSONResponse:
        if not _authorized(request, token):
            return _error(UNAUTHORIZED, "unauthorized", "missing or wrong token", None)
        return JSONResponse([{"name": name} for name in sorted(executor.actions)])

    async def metrics_page(_: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def webhook(request: Request) -> JSONResponse:
        if not _authorized(request, token):
            metrics.rejected.labels(reason="unauthorized").inc()
            return _error(UNAUTHORIZED, "unauthorized", "missing or wrong token", None)
        try:
            action_call = json.loads(await request.body())
        except ValueError:
            metrics.rejected.labels(reason="invalid_json").inc()
            return _error(BAD_REQUEST, "invalid_json", "request body is not JSON", None)
        if not isinstance(action_call, dict) or not isinstance(action_call.get("next_action"), str):
            metrics.rejected.labels(reason="invalid_request").inc()
            return _error(BAD_REQUEST, "invalid_request", "request needs 'next_action' and 'tracker'", None)
        request_id, conversation_id = _ids(request, action_call)
        name: str = action_call["next_action"]
        started = time.perf_counter()
        with bind(request_id=request_id, conversation_id=conversation_id):
            response = await run_action(action_call, name)
        # Label values: registered action names only (an unknown name is one "unknown" series).
        label = name if name in executor.actions else "unknown"
        elapsed = time.perf_counter() - started
        result = "ok" if response.status_code == 200 else str(response.status_code)
        metrics.action_seconds.labels(action=label, result=result).observe(elapsed)
        logger.info(
            "%s: HTTP %s in %.1f ms", label, response.status_code, elapsed * 1000,
            extra={"request_id": request_id, "conversation_id": conversation_id},
        )
        response.headers[REQUEST_ID_HEADER] = request_id
        return response

    async def run_action(action_call: dict[str, Any], name: str) -> JSONResponse:
        try:
            result = await asyncio.wait_for(executor.run(action_call), timeout=timeout)
        except ActionExecutionRejection as exc:
            return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=BAD_REQUEST)
        except ActionNotFoundException:
            return _error(NOT_FOUND, "action_not_found", f"no action named {name!r}", name)
        except ActionMissingDomainException:
            return _error(BAD_REQUEST, "domain_missing", "the request carried no domain", name)
        except TimeoutError:
            logger.error("%s: timed out after %s s", name, timeout)
            return _error(GATEWAY_TIMEOUT, "action_timeout", f"action took longer than {timeout} s", name)
        except ActionError as exc:
            logger.error("%s: %s", exc.action_name, exc.message)
            return _error(INTERNAL_ERROR, exc.code, exc.message, exc.action_name)
        except Exception as exc:
            # The default rasa-sdk handler would echo the request (the whole tracker); we never do.
            logger.error("%s: failed with %s", name, type(exc).__name__, exc_info=exc)
            return _error(INTERNAL_ERROR, "action_failed", "the action failed", name)
        if result is None:
            return _error(BAD_REQUEST, "invalid_request", "request needs 'next_action'", None)
        return JSONResponse(result.model_dump(by_alias=True))

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        warm = asyncio.create_task(kb.warm()) if kb is not None else None
        try:
            yield
        finally:
            if warm is not None and not warm.done():
                warm.cancel()

    return Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/actions", list_actions, methods=["GET"]),
            Route("/webhook", webhook, methods=["POST"]),
            Route("/metrics", metrics_page, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
