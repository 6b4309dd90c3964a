"""A replica listens to the Redis channels of its own sockets only (not `psubscribe handoff:*`), and a
subscription is live once `ready()` returns. Needs TEST_REDIS_URL; two buses stand for two replicas."""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as aioredis

from handoff.infra.bus import REDIS_PREFIX, RedisBus
from handoff.infra.metrics import Metrics


async def subscribers(redis_url: str, topic: str) -> int:
    client = aioredis.from_url(redis_url)
    try:
        counts = await client.pubsub_numsub(REDIS_PREFIX + topic)
        return int(counts[0][1])
    finally:
        await client.aclose()


async def test_a_replica_listens_to_the_topics_of_its_sockets_only(redis_url: str) -> None:
    topic = f"conversation:{uuid.uuid4().hex}"
    elsewhere = f"conversation:{uuid.uuid4().hex}"
    metrics = Metrics()
    holder, publisher = RedisBus(redis_url, metrics=metrics), RedisBus(redis_url)
    await holder.start()
    await publisher.start()
    try:
        assert await subscribers(redis_url, topic) == 0
        sub = holder.subscribe(topic)
        await sub.ready()  # no sleep: once ready, a publish from another replica arrives
        assert await subscribers(redis_url, topic) == 1
        assert await subscribers(redis_url, elsewhere) == 0
        await publisher.publish(topic, {"type": "message", "seq": 1})
        await publisher.publish(elsewhere, {"type": "message", "seq": 99})
        assert await sub.get(timeout=3) == {"type": "message", "seq": 1}
        assert await sub.get(timeout=0.3) is None
        assert metrics.bus_channels._value.get() == 1  # type: ignore[attr-defined]

        second = holder.subscribe(topic)  # a second socket of the same chat: still one channel
        await second.ready()
        sub.close()
        await asyncio.sleep(0.2)
        assert await subscribers(redis_url, topic) == 1
        second.close()
        for _ in range(50):
            if await subscribers(redis_url, topic) == 0:
                break
            await asyncio.sleep(0.05)
        assert await subscribers(redis_url, topic) == 0
        assert metrics.bus_channels._value.get() == 0  # type: ignore[attr-defined]
    finally:
        await holder.stop()
        await publisher.stop()


async def test_closing_and_reopening_at_once_ends_subscribed(redis_url: str) -> None:
    topic = f"conversation:{uuid.uuid4().hex}"
    holder, publisher = RedisBus(redis_url), RedisBus(redis_url)
    await holder.start()
    await publisher.start()
    try:
        for _ in range(5):
            holder.subscribe(topic).close()
        sub = holder.subscribe(topic)
        await sub.ready()
        await publisher.publish(topic, {"type": "message", "seq": 7})
        assert await sub.get(timeout=3) == {"type": "message", "seq": 7}
        assert await subscribers(redis_url, topic) == 1
    finally:
        await holder.stop()
        await publisher.stop()
