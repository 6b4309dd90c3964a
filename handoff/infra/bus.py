"""Event fan-out between the parts of the service (and, with Redis, between replicas).

Topics: `conversation:{id}` (messages, state changes, typing for one chat), `agents` (queue
changes, SLA alerts) and `agent:{id}` (one agent's sessions ending, and borrower messages in the
chats it holds). Events are JSON-serialisable dicts. Delivery is at most once and a slow
subscriber may miss events: consumers that must not miss anything (the WebSockets) treat events as
hints and read the stored messages by sequence number. An overflowing subscriber receives
`{"type": "resync"}` once so it knows to re-read.

`InProcessBus` serves one process; `RedisBus` publishes through Redis pub/sub so every replica's
subscribers see the events of their topics, in the order this process published them. A replica
listens only to the Redis channels of the topics it has subscribers for (the sockets it holds), not
to the whole site: `await subscription.ready()` returns once Redis confirmed the channel, so a
socket that reads the stored messages after that misses nothing in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Self

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from handoff.infra.metrics import Metrics

log = logging.getLogger(__name__)

SUBSCRIBER_QUEUE_SIZE = 1000
REDIS_PREFIX = "handoff:"
PUBLISH_BATCH = 500  # events per pipelined round trip to Redis
RESYNC = {"type": "resync"}
SUBSCRIBE_WAIT_S = 2.0  # `ready()` gives up waiting for Redis's confirmation after this (and logs it)


def conversation_topic(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


AGENTS_TOPIC = "agents"


def agent_topic(agent_id: int) -> str:
    """One agent's own events: `session_ended` when it logs out or its sessions are revoked,
    `held_message` for a borrower message in a chat it holds."""
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
            if not self._overflowed and self._bus.metrics is not None:
                self._bus.metrics.bus_resyncs.inc()
            self._overflowed = True

    async def ready(self) -> None:
        """Returns once events of this topic published from now on reach this subscription."""
        await self._bus.wait_subscribed(self.topic)

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self._overflowed and self._queue.empty():
            self._overflowed = False
            return dict(RESYNC)
        return await self._queue.get()

    async def get(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next event, or None after `timeout` seconds.

        Called for every event and, by an idle borrower socket, every second: an event already waiting is
        returned at once, and the wait runs under `asyncio.timeout` (`wait_for` wraps it in a task of its own
        each time). A wait that times out leaves any event it raced with in the queue for the next call."""
        if self._overflowed or not self._queue.empty():
            return await self.__anext__()
        try:
            async with asyncio.timeout(timeout):
                return await self.__anext__()
        except TimeoutError:
            return None

    def close(self) -> None:
        self._bus._unsubscribe(self)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.close()


class InProcessBus:
    def __init__(self, *, metrics: Metrics | None = None) -> None:
        self._subs: dict[str, set[Subscription]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.metrics = metrics

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        self._loop = None

    def subscribe(self, topic: str) -> Subscription:
        sub = Subscription(self, topic)
        first = topic not in self._subs
        self._subs.setdefault(topic, set()).add(sub)
        if first:
            self._topic_wanted(topic)
        return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.topic)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.topic]
                self._topic_dropped(sub.topic)

    def _topic_wanted(self, topic: str) -> None:
        """The first subscriber of `topic` in this process arrived (RedisBus listens to it)."""

    def _topic_dropped(self, topic: str) -> None:
        """The last subscriber of `topic` in this process left."""

    async def wait_subscribed(self, topic: str) -> None:
        """In one process a subscription is live at once."""

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

    def __init__(self, url: str, *, metrics: Metrics | None = None) -> None:
        super().__init__(metrics=metrics)
        self._url = url
        self._outbox: asyncio.Queue[tuple[str, dict[str, Any], float]] | None = None
        self._control: asyncio.Queue[str] = asyncio.Queue()
        self._confirmed: dict[str, asyncio.Event] = {}  # topic -> set once Redis confirmed SUBSCRIBE
        self._listening: set[str] = set()  # topics subscribed on the Redis connection
        self._acked: set[str] = set()  # of those, the ones Redis confirmed
        self._tasks: list[asyncio.Task[None]] = []
        self._redis: Any = None
        self._pubsub: Any = None

    async def start(self) -> None:
        await super().start()
        self._redis = aioredis.from_url(self._url)
        self._pubsub = self._redis.pubsub()
        # A channel of this process alone keeps the subscriber connection open between sockets.
        await self._pubsub.subscribe(f"{REDIS_PREFIX}_replica:{uuid.uuid4().hex}")
        self._outbox = asyncio.Queue()
        self._tasks = [
            asyncio.create_task(self._listen(), name="bus-redis-listen"),
            asyncio.create_task(self._send(), name="bus-redis-send"),
            asyncio.create_task(self._manage(), name="bus-redis-subscribe"),
        ]
        for topic in self._subs:  # subscribers that arrived before start
            self._topic_wanted(topic)

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
            self._outbox.put_nowait((topic, event, time.perf_counter()))

    def _topic_wanted(self, topic: str) -> None:
        self._confirmed.setdefault(topic, asyncio.Event())
        self._control.put_nowait(topic)

    def _topic_dropped(self, topic: str) -> None:
        self._confirmed.pop(topic, None)
        self._control.put_nowait(topic)

    async def wait_subscribed(self, topic: str) -> None:
        confirmed = self._confirmed.get(topic)
        if confirmed is None or self._redis is None:
            return
        try:
            await asyncio.wait_for(confirmed.wait(), SUBSCRIBE_WAIT_S)
        except TimeoutError:
            log.warning("redis did not confirm the subscription to %s within %ss", topic, SUBSCRIBE_WAIT_S)

    async def _manage(self) -> None:
        """Bring the Redis subscriptions in line with the local subscribers, one change at a time
        (a socket that closes and reopens at once must end up subscribed)."""
        while True:
            topic = await self._control.get()
            wanted = topic in self._subs
            if wanted == (topic in self._listening):
                if wanted and topic in self._acked and topic in self._confirmed:
                    self._confirmed[topic].set()
                continue
            try:
                if wanted:
                    self._listening.add(topic)
                    await self._pubsub.subscribe(REDIS_PREFIX + topic)
                else:
                    self._listening.discard(topic)
                    self._acked.discard(topic)
                    await self._pubsub.unsubscribe(REDIS_PREFIX + topic)
            except (RedisError, OSError) as exc:
                log.warning("redis (un)subscribe of %s failed (%s); retrying", topic, type(exc).__name__)
                (self._listening.discard if wanted else self._listening.add)(topic)
                await asyncio.sleep(0.5)
                self._control.put_nowait(topic)
            if self.metrics is not None:
                self.metrics.bus_channels.set(len(self._listening))

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
                    for topic, event, _queued in batch:
                        pipe.publish(REDIS_PREFIX + topic, json.dumps(event, default=str))
                    await pipe.execute()
            except (RedisError, OSError) as exc:  # Redis hiccup: deliver here at least
                log.warning("redis publish failed (%s); delivering locally", type(exc).__name__)
                for topic, event, _queued in batch:
                    self._deliver(topic, event)
            if self.metrics is not None:
                sent = time.perf_counter()
                for _topic, _event, queued in batch:
                    self.metrics.bus_lag.observe(sent - queued)
                self.metrics.bus_backlog.set(self._outbox.qsize())

    async def _listen(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=1.0)
            except (RedisError, OSError) as exc:
                log.warning("redis subscription failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1.0)
                continue
            if not message:
                continue
            channel = message["channel"]
            channel = channel.decode() if isinstance(channel, bytes) else channel
            topic = channel.removeprefix(REDIS_PREFIX)
            if message.get("type") == "subscribe":
                if topic in self._listening:
                    self._acked.add(topic)
                    if topic in self._confirmed:
                        self._confirmed[topic].set()
                continue
            if message.get("type") != "message":
                continue
            try:
                event = json.loads(message["data"])
            except (TypeError, ValueError):
                continue
            self._deliver(topic, event)


Bus = InProcessBus


def make_bus(redis_url: str | None, *, metrics: Metrics | None = None) -> InProcessBus:
    return RedisBus(redis_url, metrics=metrics) if redis_url else InProcessBus(metrics=metrics)
