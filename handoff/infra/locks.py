"""One turn at a time per conversation.

In-process an `asyncio.Lock` per conversation (FIFO, so turns run in arrival order). With
REDIS_URL a Redis lock is taken as well, so several service replicas serialise too: Rasa's own
lock store cannot be relied on for that (Rasa 3.6's `RedisLockStore` is read-modify-write, not atomic
across processes: rasa#9213, #6290). The Redis lock expires after `hold_s`, so
a replica that dies mid-turn blocks its conversation for seconds, not forever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.exceptions import LockError

from handoff.errors import ConflictError

log = logging.getLogger(__name__)


class TurnLocks:
    def __init__(self, *, redis: Any = None, hold_s: float = 30.0, wait_s: float = 30.0) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._redis = redis
        self._hold_s = hold_s
        self._wait_s = wait_s

    @asynccontextmanager
    async def hold(self, conversation_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(conversation_id, (asyncio.Lock(), 0))
        self._locks[conversation_id] = (lock, users + 1)
        try:
            async with lock:
                if self._redis is None:
                    yield
                else:
                    async with self._shared(conversation_id):
                        yield
        finally:
            lock, users = self._locks[conversation_id]
            if users <= 1:
                del self._locks[conversation_id]
            else:
                self._locks[conversation_id] = (lock, users - 1)

    @asynccontextmanager
    async def _shared(self, conversation_id: str) -> AsyncIterator[None]:
        shared = self._redis.lock(
            f"handoff:lock:conversation:{conversation_id}",
            timeout=self._hold_s,
            blocking_timeout=self._wait_s,
        )
        if not await shared.acquire():
            raise ConflictError(
                "another message of this conversation is still being processed; retry shortly",
                target_id=conversation_id,
            )
        try:
            yield
        finally:
            try:
                await shared.release()
            except LockError:  # held past `hold_s`: it expired; the turn itself is complete
                log.warning("conversation %s: turn lock expired before release", conversation_id)

    def __len__(self) -> int:
        return len(self._locks)
