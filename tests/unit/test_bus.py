"""Event fan-out in one process, and through Redis when TEST_REDIS_URL is set."""

from __future__ import annotations

import asyncio
import threading

from handoff.infra.bus import PUBLISH_BATCH, InProcessBus, RedisBus


async def _roundtrip(bus: InProcessBus) -> None:
    await bus.start()
    try:
        a = bus.subscribe("conversation:1")
        b = bus.subscribe("conversation:1")
        other = bus.subscribe("conversation:2")
        await asyncio.sleep(0.2)  # let a Redis subscription settle
        await bus.publish("conversation:1", {"type": "message", "n": 1})
        thread = threading.Thread(
            target=lambda: [bus.publish_threadsafe("conversation:1", {"n": i}) for i in (2, 3)]
        )
        thread.start()
        thread.join()
        for sub in (a, b):
            got = [await sub.get(timeout=3) for _ in range(3)]
            assert [g["n"] for g in got if g] == [1, 2, 3]
        assert await other.get(timeout=0.2) is None
        a.close()
        await bus.publish("conversation:1", {"n": 4})
        assert (await b.get(timeout=3))["n"] == 4  # type: ignore[index]
        assert a._queue.empty()
    finally:
        await bus.stop()


async def test_in_process_bus() -> None:
    await _roundtrip(InProcessBus())


async def test_redis_bus(redis_url: str) -> None:
    await _roundtrip(RedisBus(redis_url))


async def test_redis_bus_sends_a_backlog_complete_and_in_order(redis_url: str) -> None:
    """More events than one pipelined batch, queued at once: every one arrives, once, in publish order."""
    bus = RedisBus(redis_url)
    await bus.start()
    try:
        sub = bus.subscribe("conversation:burst")
        await asyncio.sleep(0.2)  # let the Redis subscription settle
        total = PUBLISH_BATCH + 7  # two batches, and below the subscriber queue size (no resync)
        for i in range(total):
            await bus.publish("conversation:burst", {"n": i})
        got = []
        async with asyncio.timeout(10):
            while len(got) < total:
                event = await sub.get(timeout=5)
                assert event is not None and event.get("type") != "resync"
                got.append(event["n"])
        assert got == list(range(total))
        assert await sub.get(timeout=0.3) is None  # nothing twice
    finally:
        await bus.stop()


async def test_overflowing_subscriber_is_told_to_resync() -> None:
    bus = InProcessBus()
    await bus.start()
    sub = bus.subscribe("t")
    for i in range(1200):
        await bus.publish("t", {"n": i})
    seen = [await sub.get(timeout=1) for _ in range(1001)]
    assert seen[-1] == {"type": "resync"}
