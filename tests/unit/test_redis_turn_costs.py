"""The Redis side of a borrower turn (TEST_REDIS_URL): a rate-limit hit is one command that always leaves its
key with an expiry, and the turn lock still admits one holder at a time, across replicas, when its release
is not waited for."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis

from handoff.errors import ConflictError, RateLimitedError
from handoff.infra import locks as locks_module
from handoff.infra.locks import TurnLocks
from handoff.infra.ratelimit import WINDOW_S, RateLimiter


async def test_a_redis_rate_limit_counts_with_an_expiry_and_refuses_past_the_limit(redis_url: str) -> None:
    redis = aioredis.from_url(redis_url)
    try:
        limiter = RateLimiter(redis)
        key = f"test:{uuid.uuid4().hex}"
        for _ in range(3):
            await limiter.hit(key, limit=3, what="test")
        with pytest.raises(RateLimitedError):
            await limiter.hit(key, limit=3, what="test")
        [rkey] = [k async for k in redis.scan_iter(match=f"handoff:rate:{key}:*")]
        assert int(await redis.get(rkey)) == 4
        assert 0 < await redis.ttl(rkey) <= WINDOW_S + 5
    finally:
        await redis.aclose()


async def test_turn_locks_of_two_replicas_never_overlap(redis_url: str) -> None:
    clients = [aioredis.from_url(redis_url), aioredis.from_url(redis_url)]
    replicas = [TurnLocks(redis=client, hold_s=5, wait_s=5) for client in clients]
    conversation_id = f"test-{uuid.uuid4().hex}"
    inside, most, turns = 0, 0, 0

    async def turn(locks: TurnLocks) -> None:
        nonlocal inside, most, turns
        async with locks.hold(conversation_id):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.002)
            inside -= 1
            turns += 1

    try:
        await asyncio.gather(*(turn(replicas[n % 2]) for n in range(20)))
        assert (turns, most) == (20, 1)
        for locks in replicas:
            await locks.aclose()
        assert await clients[0].exists(locks_module.KEY_PREFIX + conversation_id) == 0  # released
    finally:
        for client in clients:
            await client.aclose()


async def test_a_turn_lock_held_elsewhere_past_the_wait_is_a_conflict(redis_url: str) -> None:
    redis = aioredis.from_url(redis_url)
    conversation_id = f"test-{uuid.uuid4().hex}"
    try:
        await redis.set(locks_module.KEY_PREFIX + conversation_id, "another replica", px=5000)
        with pytest.raises(ConflictError):
            async with TurnLocks(redis=redis, hold_s=5, wait_s=0.05).hold(conversation_id):
                pass
    finally:
        await redis.delete(locks_module.KEY_PREFIX + conversation_id)
        await redis.aclose()
