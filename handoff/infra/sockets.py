"""Which conversations have a borrower WebSocket open right now, on any replica.

The live-chat pushes (`handoff.conversations.pushes`) go only to borrowers with no open socket. In one
process the open sockets are counted in memory. With Redis every socket is a member of the sorted set
`handoff:sockets:{conversation_id}` scored with its expiry (unix time): the socket refreshes it every
REFRESH_S while it is open and removes it when it closes, so a replica that dies without closing its
sockets stops counting as "open" after TTL_S. When Redis cannot be asked, a socket counts as absent:
a push too many beats a question that waits unseen.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY_PREFIX = "handoff:sockets:"
TTL_S = 45.0
REFRESH_S = 15.0


class SocketPresence:
    def __init__(self, redis: Any = None, *, ttl_s: float = TTL_S, refresh_s: float = REFRESH_S) -> None:
        self._redis = redis
        self._ttl_s = ttl_s
        self._refresh_s = refresh_s
        self._local: dict[str, set[str]] = {}
        self._refreshed: dict[str, float] = {}  # socket id -> when this replica last refreshed it

    async def opened(self, conversation_id: str) -> str:
        """Count a socket of `conversation_id` as open; returns its id for `refresh` and `closed`."""
        socket_id = uuid.uuid4().hex
        self._local.setdefault(conversation_id, set()).add(socket_id)
        self._refreshed[socket_id] = time.monotonic()
        await self._put(conversation_id, socket_id)
        return socket_id

    async def refresh(self, conversation_id: str, socket_id: str) -> None:
        """Called often by an open socket; writes to Redis at most every `refresh_s`."""
        now = time.monotonic()
        if now - self._refreshed.get(socket_id, 0.0) < self._refresh_s:
            return
        self._refreshed[socket_id] = now
        await self._put(conversation_id, socket_id)

    async def closed(self, conversation_id: str, socket_id: str) -> None:
        sockets = self._local.get(conversation_id)
        if sockets is not None:
            sockets.discard(socket_id)
            if not sockets:
                del self._local[conversation_id]
        self._refreshed.pop(socket_id, None)
        if self._redis is None:
            return
        try:
            await self._redis.zrem(KEY_PREFIX + conversation_id, socket_id)
        except (RedisError, OSError) as exc:  # it expires by itself after ttl_s
            log.warning("socket presence: could not remove a closed socket (%s)", type(exc).__name__)

    async def is_open(self, conversation_id: str) -> bool:
        """True when a borrower socket of the conversation is open on this or (with Redis) any replica."""
        if self._redis is None:
            return bool(self._local.get(conversation_id))
        try:
            count = await self._redis.zcount(KEY_PREFIX + conversation_id, time.time(), "+inf")
        except (RedisError, OSError) as exc:
            log.warning("socket presence unknown (%s); counting the borrower as away", type(exc).__name__)
            return False
        return int(count) > 0

    async def _put(self, conversation_id: str, socket_id: str) -> None:
        if self._redis is None:
            return
        key = KEY_PREFIX + conversation_id
        now = time.time()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zadd(key, {socket_id: now + self._ttl_s})
                pipe.zremrangebyscore(key, "-inf", now)  # sockets of replicas that died
                pipe.expire(key, int(self._ttl_s) + 5)
                await pipe.execute()
        except (RedisError, OSError) as exc:  # the socket itself keeps working
            log.warning("socket presence: could not record an open socket (%s)", type(exc).__name__)
