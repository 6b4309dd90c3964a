"""Request rate limits per conversation and per client address.

In one process a sliding window in memory; with REDIS_URL a fixed one-minute window in Redis
(`INCR` + `EXPIRE`, in one script: one round trip per request, and no key is ever left without its expiry),
so all replicas share the count.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

from handoff.errors import RateLimitedError

WINDOW_S = 60
# INCR and, for the window's first request, EXPIRE: atomically, in one round trip instead of two.
_HIT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


class RateLimiter:
    def __init__(self, redis: Any = None) -> None:
        self._redis = redis
        self._hit_script = redis.register_script(_HIT_SCRIPT) if redis is not None else None  # no I/O here
        self._hits: dict[str, deque[float]] = {}

    async def hit(self, key: str, *, limit: int, what: str) -> None:
        """Count one request for `key`; raise RateLimitedError when more than `limit` fall in the window."""
        if self._redis is not None:
            await self._hit_redis(key, limit=limit, what=what)
            return
        now = time.monotonic()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - WINDOW_S:
            hits.popleft()
        if len(hits) >= limit:
            retry = max(1, math.ceil(hits[0] + WINDOW_S - now))
            raise RateLimitedError(
                f"too many requests for this {what}; try again in {retry}s", retry_after_s=retry
            )
        hits.append(now)
        if len(self._hits) > 10_000:  # forget idle keys
            for stale in [k for k, v in self._hits.items() if not v or v[-1] <= now - WINDOW_S]:
                del self._hits[stale]

    async def _hit_redis(self, key: str, *, limit: int, what: str) -> None:
        window = int(time.time() // WINDOW_S)
        rkey = f"handoff:rate:{key}:{window}"
        assert self._hit_script is not None  # set with the client
        count = int(await self._hit_script(keys=[rkey], args=[WINDOW_S + 5]))
        if count > limit:
            retry = max(1, WINDOW_S - int(time.time()) % WINDOW_S)
            raise RateLimitedError(
                f"too many requests for this {what}; try again in {retry}s", retry_after_s=retry
            )
