"""The shared clients one running service holds, created in the app's lifespan and handed down."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio.to_thread
import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from handoff.access import TokenHashes
from handoff.bus import InProcessBus
from handoff.clock import Clock
from handoff.config import Settings
from handoff.db import session_scope
from handoff.locks import TurnLocks
from handoff.rasa_client import RasaClient
from handoff.ratelimit import RateLimiter

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
    token_hashes: TokenHashes = field(default_factory=TokenHashes)  # handoff.access

    async def db(self, work: Callable[[Session], T], *, write: bool = True) -> T:
        """Run `work(session)` in one transaction on a worker thread (the event loop never blocks
        on the database); bus events it queued are published after the commit."""

        def run() -> T:
            with session_scope(self.engine, bus=self.bus, write=write) as session:
                return work(session)

        return await anyio.to_thread.run_sync(run)
