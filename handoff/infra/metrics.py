"""Prometheus metrics of one service process (`prometheus-client`), in a registry of its own.

Built in the app's lifespan and handed down with the other shared clients (`Services.metrics`),
so nothing is registered at import and every test gets fresh counters. Gauges that describe the
shared database (queue depth, oldest wait) are read when scraped, through `queue_probe`, so every
replica reports the same numbers whether or not it runs the periodic work.

Served on a port of its own (METRICS_PORT), never on the public port: `serve_metrics`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# Bot turns take 50 ms to RASA_TIMEOUT_S (at most 8 s); the buckets cover both ends.
TURN_BUCKETS = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 12.0)
FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass(frozen=True)
class WaitingLine:
    """What `queue_probe` reports for one language: chats waiting and the longest wait so far."""

    lang: str
    depth: int
    oldest_wait_s: float


class _QueueCollector(Collector):
    def __init__(self, probe: Callable[[], Iterable[WaitingLine]] | None) -> None:
        self.probe = probe

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("handoff_queue_depth", "chats waiting for an agent", labels=["lang"])
        oldest = GaugeMetricFamily(
            "handoff_queue_oldest_wait_seconds", "longest current wait in the queue", labels=["lang"]
        )
        up = GaugeMetricFamily("handoff_queue_probe_up", "1 when the queue could be read for this scrape")
        lines: list[WaitingLine] = []
        ok = 1.0
        if self.probe is not None:
            try:
                lines = list(self.probe())
            except Exception as exc:  # noqa: BLE001 - a scrape must answer even while the database is down
                log.warning("metrics: queue probe failed (%s)", type(exc).__name__)
                ok = 0.0
        for line in lines:
            depth.add_metric([line.lang], line.depth)
            oldest.add_metric([line.lang], line.oldest_wait_s)
        up.add_metric([], ok)
        yield depth
        yield oldest
        yield up


class Metrics:
    """Every metric of the service. Label values are small fixed sets (never ids or text)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.turn_seconds = Histogram(
            "handoff_turn_seconds", "borrower turn, message in to reply stored, by outcome",
            ["outcome"], buckets=TURN_BUCKETS, registry=r,
        )
        self.rasa_seconds = Histogram(
            "handoff_rasa_request_seconds", "one call to Rasa, failover included, by call and result",
            ["call", "result"], buckets=TURN_BUCKETS, registry=r,
        )
        self.fallbacks = Counter(
            "handoff_bot_fallbacks_total", "turns answered with the honest fallback, by cause", ["cause"],
            registry=r,
        )
        self.rasa_waiting = Gauge(
            "handoff_rasa_waiting_turns", "bot turns waiting for a free Rasa slot (RASA_MAX_IN_FLIGHT)",
            registry=r,
        )
        self.sla_events = Counter(
            "handoff_sla_events_total", "SLA clock events written by the leader: warning, breach, requeued, "
            "callback_offer, agent_gone", ["event"], registry=r,
        )
        self.websockets = Gauge(
            "handoff_websocket_connections", "open WebSocket connections on this replica", ["kind"], registry=r
        )
        self.http_seconds = Histogram(
            "handoff_http_request_seconds", "HTTP requests by route template, method and status class",
            ["route", "method", "status"], buckets=FAST_BUCKETS + (5.0, 8.0, 12.0), registry=r,
        )
        self.bus_lag = Histogram(
            "handoff_bus_publish_lag_seconds", "event queued after commit until Redis accepted it",
            buckets=FAST_BUCKETS, registry=r,
        )
        self.bus_backlog = Gauge("handoff_bus_backlog_events", "events waiting to be published", registry=r)
        self.bus_channels = Gauge(
            "handoff_bus_subscribed_channels", "Redis channels this replica listens to", registry=r
        )
        self.bus_resyncs = Counter(
            "handoff_bus_resyncs_total", "subscribers that overflowed and were told to re-read", registry=r
        )
        self.leader = Gauge("handoff_leader", "1 while this replica runs the periodic work", registry=r)
        self.leader_changes = Counter(
            "handoff_leader_acquired_total", "times this replica became the leader", registry=r
        )
        self.periodic_passes = Counter(
            "handoff_periodic_passes_total", "passes of the periodic work by result", ["job", "result"],
            registry=r,
        )
        self._queue = _QueueCollector(None)
        r.register(self._queue)

    def set_queue_probe(self, probe: Callable[[], Iterable[WaitingLine]]) -> None:
        self._queue.probe = probe

    def render(self) -> bytes:
        return generate_latest(self.registry)


def serve_metrics(metrics: Metrics, *, host: str, port: int) -> Callable[[], None]:
    """Serve `/metrics` on its own port in a daemon thread; returns the function that stops it."""
    server: Any
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        if isinstance(thread, threading.Thread):
            thread.join(timeout=2.0)

    log.info("metrics on http://%s:%s/metrics", host, port)
    return stop
