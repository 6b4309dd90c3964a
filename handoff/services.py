"""The shared clients one running service holds, created in the app's lifespan and handed down."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.to_thread
import httpx
from opentelemetry import trace
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from handoff.config import Settings
from handoff.infra.bus import InProcessBus
from handoff.infra.clock import Clock
from handoff.infra.db import session_scope, sqlite_writer_lock
from handoff.infra.locks import TurnLocks
from handoff.infra.metrics import Metrics
from handoff.infra.ratelimit import RateLimiter
from handoff.infra.secretbox import SecretBox
from handoff.infra.token_cache import TokenHashes
from handoff.loans.system import LoanSystem, LoanSystemUnavailable
from handoff.masking import MaskPolicy
from handoff.rasa.client import RasaClient

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    engine: Engine
    bus: InProcessBus
    clock: Clock
    http: httpx.AsyncClient
    rasa: RasaClient
    locks: TurnLocks
    limiter: RateLimiter
    redis: Any = None  # redis.asyncio.Redis when REDIS_URL is set
    loans: LoanSystem | None = None  # the loan-system adapter (handoff.loans); None only in some tests
    token_hashes: TokenHashes = field(default_factory=TokenHashes)  # handoff.borrower.access reads it
    metrics: Metrics = field(default_factory=Metrics)  # handoff.infra.metrics; served on METRICS_PORT
    mask_policy: MaskPolicy = field(default_factory=MaskPolicy)  # handoff.masking.policy_from_settings
    # Decrypts callback contacts (CONTACT_KEYS); built from the settings unless given.
    box: SecretBox | None = None
    tracer: trace.Tracer = field(default_factory=trace.NoOpTracer)  # handoff.infra.tracing (TRACING_OTLP_ENDPOINT)
    # When this replica last wrote a waiting borrower's `borrower_seen_at` (handoff.borrower.presence).
    seen_marks: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.box is None:
            self.box = SecretBox(self.settings.contact_keys)

    @property
    def secret_box(self) -> SecretBox:
        assert self.box is not None  # set in __post_init__
        return self.box

    async def db(
        self, work: Callable[[Session], T], *, write: bool = True, offload: bool = False, single_statement: bool = False
    ) -> T:
        """Run `work(session)` in one transaction; bus events it queued are published after the commit.
        `single_statement`: `work` writes with one statement at most (no BEGIN/COMMIT on PostgreSQL,
        `handoff.infra.db.session_scope`).

        PostgreSQL work runs on a worker thread, so the event loop never waits on the network. SQLite
        work (SQLITE_IN_EVENT_LOOP) runs right here: a turn's transactions take about a millisecond each,
        less than handing them to a thread and back costs, and under load the thread hand-offs made
        the median turn 7 ms slower (benchmarks/results/load.md). It still goes to a thread when
        another thread holds the write lock (the loop never waits for one) and for `offload` work
        that is slow for other reasons (password hashing at login)."""

        def run() -> T:
            with self.tracer.start_as_current_span("handoff.db"), session_scope(self.engine, bus=self.bus, write=write, single_statement=single_statement) as session:
                return work(session)

        if self.settings.SQLITE_IN_EVENT_LOOP and not offload:
            lock = sqlite_writer_lock(self.engine)
            if lock is not None and (not write or lock.acquire(blocking=False)):
                try:
                    return run()
                finally:
                    if write:
                        lock.release()
        return await anyio.to_thread.run_sync(run)

    async def loan_call(self, call: Callable[[LoanSystem], T]) -> T:
        """Run one (blocking) loan-system call on a worker thread; LoanSystemUnavailable if there is none."""
        system = self.loans
        if system is None:
            raise LoanSystemUnavailable("no loan system is configured")
        return await anyio.to_thread.run_sync(lambda: call(system))
