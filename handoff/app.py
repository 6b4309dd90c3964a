"""The application factory: `create_app(settings, engine=None) -> FastAPI`.

Nothing happens at import. The lifespan migrates the database, creates the shared clients
(`Services`: bus, HTTP client for Rasa, Redis, locks, rate limiter, clock) and starts the
background loops: the SLA clock of the agent side and the retention purge. Every router is wired in explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import redis.asyncio as aioredis
from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from opentelemetry.sdk.trace.export import SpanExporter
from sqlalchemy import Engine, text

from handoff.agents.kb import LazyKnowledgeBase
from handoff.agents.queue_feed import QueueFeed
from handoff.api.errors import register_error_handlers
from handoff.api.headers import PAGE_HEADERS, SecurityHeaders
from handoff.api.origin import OriginCheck
from handoff.api.routes import (
    agent,
    agent_ws,
    borrower,
    borrower_devices,
    borrower_reminders,
    borrower_survey,
    borrower_ws,
    dashboard,
    dashboard_reminders,
    docs,
    editor,
    gateway,
    identity,
    internal,
)
from handoff.borrower import sweeper
from handoff.config import Settings
from handoff.conversations import pushes
from handoff.infra import db, notifier, webhooks
from handoff.infra.bodylimit import BodySizeLimit
from handoff.infra.bus import make_bus
from handoff.infra.clock import Clock, SystemClock
from handoff.infra.leader import make_leader
from handoff.infra.locks import TurnLocks
from handoff.infra.metrics import Metrics, WaitingLine, serve_metrics
from handoff.infra.ratelimit import RateLimiter
from handoff.infra.requestlog import RequestContext
from handoff.infra.sockets import SocketPresence
from handoff.infra.tracing import make_tracer
from handoff.loans.factory import make_loan_system
from handoff.loans.system import LoanSystem
from handoff.masking import policy_from_settings
from handoff.privacy import retention
from handoff.queue import followups, sla, stats
from handoff.rasa.client import RasaClient, action_server_health
from handoff.rasa.tracker_store import TrackerStore
from handoff.reminder_settings import NotifierSettings, ReminderSettings
from handoff.reminders import scheduler as reminder_scheduler
from handoff.reminders import templates as reminder_templates
from handoff.services import Services
from knowledge_base import KBSettings

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY_BYTES = 64 * 1024
ROUTERS = (
    borrower.router, borrower_ws.router, identity.router, agent.router, agent_ws.router, internal.router,
    docs.router, borrower_survey.router, borrower_devices.router, dashboard.router, dashboard.page_router,
    borrower_reminders.router, borrower_reminders.dev_router, dashboard_reminders.router,
    editor.router, editor.page_router, gateway.router,
)

def _check_db(engine: Engine) -> dict[str, Any]:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"ok": True, "backend": engine.dialect.name}
    except Exception as exc:  # noqa: BLE001 - any failure means "database down" to the health check
        return {"ok": False, "backend": engine.dialect.name, "error": type(exc).__name__}


async def _check_redis(redis: Any) -> dict[str, Any]:
    try:
        await asyncio.wait_for(redis.ping(), 2.0)
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure means "redis down" to the health check
        return {"ok": False, "error": type(exc).__name__}


def _waiting_lines(svc: Services) -> list[WaitingLine]:
    """The queue gauges, read when Prometheus scrapes (in the metrics listener's thread)."""
    with db.session_scope(svc.engine, write=False) as session:
        return stats.waiting_lines(session, now=svc.clock.now())


def _nothing() -> None:
    """Releasing a loan system the caller owns: the caller does that."""


def create_app(
    settings: Settings,
    engine: Engine | None = None,
    *,
    kb_settings: KBSettings | None = None,
    clock: Clock | None = None,
    migrate: bool = True,
    loans: LoanSystem | None = None,
    span_exporter: SpanExporter | None = None,
    notifier_settings: NotifierSettings | None = None,
    reminder_settings: ReminderSettings | None = None,
) -> FastAPI:
    """The service. `kb_settings` describe the knowledge base the agent console searches (None: no search);
    `span_exporter` receives the trace spans (tests), as TRACING_OTLP_ENDPOINT's collector would;
    `notifier_settings` / `reminder_settings` the borrower gateway and the reminders (None: the defaults, with
    the reminder scheduler off; `python -m handoff serve` passes what the environment says)."""
    owns_engine = engine is None
    engine = engine or db.make_engine(settings.DATABASE_URL)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate and settings.MIGRATE_ON_START:
            await anyio.to_thread.run_sync(db.upgrade, engine)
        bus = make_bus(settings.REDIS_URL, metrics=metrics)
        await bus.start()
        redis = None
        if settings.REDIS_URL:
            redis = aioredis.from_url(settings.REDIS_URL)
        http = httpx.AsyncClient(trust_env=False)
        tracer, stop_tracing = make_tracer(settings.TRACING_OTLP_ENDPOINT, exporter=span_exporter)
        loan_system, release_loans = (loans, _nothing) if loans is not None else make_loan_system(settings, engine)
        app.state.services = Services(
            settings=settings,
            engine=engine,
            bus=bus,
            clock=clock or SystemClock(),
            http=http,
            rasa=RasaClient(
                base_urls=settings.rasa_urls,
                token=settings.RASA_TOKEN,
                timeout_s=settings.RASA_TIMEOUT_S,
                max_in_flight=settings.RASA_MAX_IN_FLIGHT,
                metrics=metrics,
            ),
            locks=TurnLocks(
                redis=redis, hold_s=settings.RASA_TIMEOUT_S * 2 + 10, wait_s=settings.RASA_TIMEOUT_S * 4 + 10
            ),
            limiter=RateLimiter(redis),
            redis=redis,
            metrics=metrics,
            loans=loan_system,
            mask_policy=policy_from_settings(settings),
            tracer=tracer,
            sockets=SocketPresence(redis),
            notifier=notifier_settings or NotifierSettings.model_construct(),
            # Not passed (tests, embedding): the defaults, without the scheduler unless asked for.
            reminders=reminder_settings or ReminderSettings.model_construct(REMINDER_ENABLED=False),
        )
        svc = app.state.services
        svc.reminder_templates = reminder_templates.load()  # invalid templates stop start-up
        metrics.set_queue_probe(lambda: _waiting_lines(svc))
        stop_metrics = (
            serve_metrics(metrics, host=settings.METRICS_HOST, port=settings.METRICS_PORT)
            if settings.METRICS_PORT else None
        )
        # One replica runs the periodic work (handoff/infra/leader.py); the others stand by.
        leader = make_leader(engine, retry_s=settings.LEADER_RETRY_S, metrics=metrics)
        app.state.leader = leader
        tracker = TrackerStore(settings.RASA_TRACKER_DB_URL) if settings.RASA_TRACKER_DB_URL else None

        async def periodic_work() -> None:  # on the leader only; a failing one stops the other (TaskGroup)
            async with asyncio.TaskGroup() as group:
                group.create_task(sla.run_forever(svc, interval_s=settings.SLA_INTERVAL_S, fence=leader.fence))
                group.create_task(retention.run_forever(svc, tracker))
                group.create_task(followups.run_forever(svc))
                group.create_task(webhooks.run_forever(svc))
                group.create_task(notifier.run_forever(svc, fence=leader.fence, prepare=pushes.prepare_send))
                if svc.reminders.REMINDER_ENABLED and svc.loans is not None:
                    group.create_task(reminder_scheduler.run_forever(
                        svc, templates=svc.reminder_templates, fence=leader.fence))
                group.create_task(sweeper.run_forever(svc))

        tasks = [asyncio.create_task(leader.run(periodic_work), name="periodic")]
        try:
            yield
        finally:
            if stop_metrics is not None:
                stop_metrics()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await http.aclose()
            release_loans()
            await app.state.services.rasa.aclose()
            await bus.stop()
            if tracker is not None:
                tracker.close()
            await app.state.services.locks.aclose()
            if redis is not None:
                await redis.aclose()
            stop_tracing()
            if owns_engine:
                engine.dispose()

    app = FastAPI(
        title="Car-loan assistant: conversation service",
        version="0.1.0",
        description="Borrower API (REST + WebSocket), agent API and console, handoff queue.",
        lifespan=lifespan,
        docs_url=None,  # handoff.api.routes.docs serves /docs without a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.queue_feed = QueueFeed()  # one read of the queue per change for this replica's consoles
    app.state.agent_kb = LazyKnowledgeBase(kb_settings) if kb_settings is not None else None
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(RequestContext, metrics=metrics)
    register_error_handlers(app)
    # Outermost, so that every answer (a refusal or an error page too) gets them.
    app.add_middleware(OriginCheck, allowed=settings.allowed_origins)
    app.add_middleware(SecurityHeaders, hsts=settings.APP_ENV == "production")
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> JSONResponse:
        """Each dependency's state. 200 while the database works (the service can still store
        messages and offer a person when the bot is down); 503 when it does not."""
        svc: Services = app.state.services
        checks: dict[str, Any] = {"db": await anyio.to_thread.run_sync(_check_db, engine)}
        checks["rasa"], checks["action_server"] = await asyncio.gather(
            svc.rasa.health(), action_server_health(svc.http, settings.ACTION_SERVER_URL)
        )
        if svc.redis is not None:
            checks["redis"] = await _check_redis(svc.redis)
        healthy = all(check.get("ok") for check in checks.values())
        status = "ok" if healthy else ("degraded" if checks["db"]["ok"] else "down")
        return JSONResponse(
            {"status": status, "checks": checks}, status_code=200 if checks["db"]["ok"] else 503
        )

    @app.get("/readyz", include_in_schema=False)  # a probe for the orchestrator; 503 until ready by design
    async def readyz() -> JSONResponse:
        """Readiness: 200 only when every dependency answers - the database, each Rasa with its model
        loaded, the action server and Redis (when configured); 503 until then. /healthz (liveness)
        stays 200 while the database works."""
        svc: Services = app.state.services
        checks: dict[str, Any] = {"db": await anyio.to_thread.run_sync(_check_db, engine)}
        checks["rasa"], checks["action_server"] = await asyncio.gather(
            svc.rasa.ready(), action_server_health(svc.http, settings.ACTION_SERVER_URL)
        )
        if svc.redis is not None:
            checks["redis"] = await _check_redis(svc.redis)
        ready = all(check.get("ok") for check in checks.values())
        return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                            status_code=200 if ready else 503)

    @app.get("/livez", tags=["ops"])
    async def livez() -> dict[str, str]:
        """The process answers (its event loop runs). Liveness only: a database outage is /healthz's
        business, and restarting every replica because the database is down would not bring it back."""
        return {"status": "alive"}

    @app.get("/", include_in_schema=False)
    async def chat_page() -> FileResponse:
        return FileResponse(STATIC / "chat" / "index.html", headers=PAGE_HEADERS)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
