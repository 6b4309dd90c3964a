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
from starlette.responses import JSONResponse
from starlette.routing import Route

from actions.errors import ActionError
from actions.kb import KnowledgeBaseProvider
from actions.settings import ActionServerSettings

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


def create_app(
    settings: ActionServerSettings, actions: Sequence[Action], kb: KnowledgeBaseProvider | None = None
) -> Starlette:
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

    async def webhook(request: Request) -> JSONResponse:
        if not _authorized(request, token):
            return _error(UNAUTHORIZED, "unauthorized", "missing or wrong token", None)
        try:
            action_call = json.loads(await request.body())
        except ValueError:
            return _error(BAD_REQUEST, "invalid_json", "request body is not JSON", None)
        if not isinstance(action_call, dict) or not isinstance(action_call.get("next_action"), str):
            return _error(BAD_REQUEST, "invalid_request", "request needs 'next_action' and 'tracker'", None)
        name: str = action_call["next_action"]
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
        ],
        lifespan=lifespan,
    )
