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
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from redis.exceptions import RedisError

from handoff.errors import ConflictError

log = logging.getLogger(__name__)

KEY_PREFIX = "handoff:lock:conversation:"
FIRST_RETRY_S = 0.005  # a lock held by another replica is tried again after this, doubling up to MAX_RETRY_S
MAX_RETRY_S = 0.1
# Deletes the lock only while it still holds this holder's token (it may have expired and been taken since).
_RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class TurnLocks:
    def __init__(self, *, redis: Any = None, hold_s: float = 30.0, wait_s: float = 30.0) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._redis = redis
        self._release_script = redis.register_script(_RELEASE_SCRIPT) if redis is not None else None  # no I/O
        self._hold_ms = int(hold_s * 1000)
        self._wait_s = wait_s
        # Redis releases under way: the turn's answer does not wait for them, the next turn here does.
        self._releasing: dict[str, asyncio.Task[None]] = {}

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
        """The Redis lock: one `SET NX PX` to take it (another replica's turn: tried again after a short,
        growing back-off, not at a fixed 100 ms), one script to release it. The release is sent after the
        turn's work and not waited for: the turn's answer goes out at once, and this replica's next turn of
        the conversation waits for the release before it takes the lock again."""
        pending = self._releasing.get(conversation_id)
        if pending is not None:
            await asyncio.shield(pending)  # never fails: errors are logged
        key, token = KEY_PREFIX + conversation_id, uuid.uuid4().hex
        loop = asyncio.get_running_loop()
        give_up_at, retry_s = loop.time() + self._wait_s, FIRST_RETRY_S
        while not await self._redis.set(key, token, nx=True, px=self._hold_ms):
            if loop.time() + retry_s > give_up_at:
                raise ConflictError(
                    "another message of this conversation is still being processed; retry shortly",
                    target_id=conversation_id,
                )
            await asyncio.sleep(retry_s)
            retry_s = min(retry_s * 2, MAX_RETRY_S)
        try:
            yield
        finally:
            task = asyncio.create_task(self._release(conversation_id, key, token))
            self._releasing[conversation_id] = task
            task.add_done_callback(lambda done: self._forget(conversation_id, done))

    async def _release(self, conversation_id: str, key: str, token: str) -> None:
        assert self._release_script is not None  # set with the client
        try:
            released = await self._release_script(keys=[key], args=[token])
        except (RedisError, OSError) as exc:  # it expires after `hold_s`
            log.warning("conversation %s: turn lock not released (%s)", conversation_id, type(exc).__name__)
            return
        if not released:  # held past `hold_s`: it expired; the turn itself is complete
            log.warning("conversation %s: turn lock expired before release", conversation_id)

    def _forget(self, conversation_id: str, task: asyncio.Task[None]) -> None:
        if self._releasing.get(conversation_id) is task:
            del self._releasing[conversation_id]

    async def aclose(self) -> None:
        """Wait for the releases still under way (before the Redis client closes)."""
        pending = [task for task in self._releasing.values() if not task.done()]
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)

    def __len__(self) -> int:
        return len(self._locks)
