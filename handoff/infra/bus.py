"""Event fan-out between the parts of the service (and, with Redis, between replicas).

Topics: `conversation:{id}` (messages, state changes, typing for one chat), `agents` (queue
changes, SLA alerts) and `agent:{id}` (one agent's sessions ending). Events are JSON-serialisable dicts. Delivery is at most once and a slow
subscriber may miss events: consumers that must not miss anything (the WebSockets) treat events as
hints and read the stored messages by sequence number. An overflowing subscriber receives
`{"type": "resync"}` once so it knows to re-read.

`InProcessBus` serves one process; `RedisBus` publishes through Redis pub/sub so every replica's
subscribers see every event, in the order this process published them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, Self

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

SUBSCRIBER_QUEUE_SIZE = 1000
REDIS_PREFIX = "handoff:"
PUBLISH_BATCH = 500  # events per pipelined round trip to Redis
RESYNC = {"type": "resync"}


def conversation_topic(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


AGENTS_TOPIC = "agents"


def agent_topic(agent_id: int) -> str:
    """One agent's own events: `session_ended` when it logs out or its sessions are revoked."""
    return f"agent:{agent_id}"


class Subscription:
    """Async iterator over one topic's events; `close()` (or `async with`) unsubscribes."""

    def __init__(self, bus: InProcessBus, topic: str) -> None:
        self._bus = bus
        self.topic = topic
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(SUBSCRIBER_QUEUE_SIZE)
        self._overflowed = False

    def _offer(self, event: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._overflowed = True

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self._overflowed and self._queue.empty():
            self._overflowed = False
            return dict(RESYNC)
        return await self._queue.get()

    async def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next event, or None after `timeout` seconds."""
        try:
            return await asyncio.wait_for(self.__anext__(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        self._bus._unsubscribe(self)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.close()


class InProcessBus:
    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        self._loop = None

    def subscribe(self, topic: str) -> Subscription:
        sub = Subscription(self, topic)
        self._subs.setdefault(topic, set()).add(sub)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.topic)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.topic]

    def _deliver(self, topic: str, event: dict[str, Any]) -> None:
        for sub in list(self._subs.get(topic, ())):
            sub._offer(event)

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        self._deliver(topic, event)

    def publish_threadsafe(self, topic: str, event: dict[str, Any]) -> None:
        """Publish from any thread (database work runs in worker threads); keeps the call order."""
        loop = self._loop
        if loop is None or loop.is_closed():
            log.debug("bus not running; dropped %s event on %s", event.get("type"), topic)
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._publish_local(topic, event)
        else:
            loop.call_soon_threadsafe(self._publish_local, topic, event)

    def _publish_local(self, topic: str, event: dict[str, Any]) -> None:
        self._deliver(topic, event)


class RedisBus(InProcessBus):
    """Publishes to Redis; a listener feeds this process's subscribers from Redis, so a replica
    sees its own events exactly once, like everyone else's."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url
        self._outbox: asyncio.Queue[tuple[str, dict[str, Any]]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._redis: Any = None
        self._pubsub: Any = None

    async def start(self) -> None:
        await super().start()
        self._redis = aioredis.from_url(self._url)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.psubscribe(REDIS_PREFIX + "*")
        self._outbox = asyncio.Queue()
        self._tasks = [
            asyncio.create_task(self._listen(), name="bus-redis-listen"),
            asyncio.create_task(self._send(), name="bus-redis-send"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()
        await super().stop()

    async def publish(self, topic: str, event: dict[str, Any]) -> None:
        self._publish_local(topic, event)

    def _publish_local(self, topic: str, event: dict[str, Any]) -> None:
        if self._outbox is not None:
            self._outbox.put_nowait((topic, event))

    async def _send(self) -> None:
        """Publish in order, everything waiting in one pipelined round trip.

        One `await publish` per event made the outbox drain at one event per event-loop turn: on a
        saturated replica (the load benchmark on PostgreSQL + Redis) events then trailed the HTTP
        answers by seconds. A pipeline keeps the order and sends a whole backlog at once.
        """
        assert self._outbox is not None
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty() and len(batch) < PUBLISH_BATCH:
                batch.append(self._outbox.get_nowait())
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for topic, event in batch:
                        pipe.publish(REDIS_PREFIX + topic, json.dumps(event, default=str))
                    await pipe.execute()
            except (RedisError, OSError) as exc:  # Redis hiccup: deliver here at least
                log.warning("redis publish failed (%s); delivering locally", type(exc).__name__)
                for topic, event in batch:
                    self._deliver(topic, event)

    async def _listen(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (RedisError, OSError) as exc:
                log.warning("redis subscription failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1.0)
                continue
            if not message or message.get("type") != "pmessage":
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else channel
            try:
                event = json.loads(message["data"])
            except (TypeError, ValueError):
                continue
            self._deliver(channel.removeprefix(REDIS_PREFIX), event)


Bus = InProcessBus


def make_bus(redis_url: str | None) -> InProcessBus:
    return RedisBus(redis_url) if redis_url else InProcessBus()
