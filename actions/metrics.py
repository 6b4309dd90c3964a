"""Prometheus metrics of the action server, in a registry of its own (built by the entry point).

Rasa 3.6 has no metrics endpoint of its own. What it does for us is seen from both sides instead of
from a sidecar: the service times every call to Rasa (`handoff_rasa_request_seconds`), and this
server times every custom action Rasa asks for (`actions_run_seconds`), the knowledge-base search
inside it and its calls to other systems (`actions_adapter_seconds`: `accounts`, the service's /internal/
API with the verified borrower's loan data).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ActionMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.action_seconds = Histogram(
            "actions_run_seconds", "one custom action call from Rasa, by action and result",
            ["action", "result"], buckets=BUCKETS, registry=r,
        )
        self.kb_seconds = Histogram(
            "actions_kb_search_seconds", "one knowledge-base call (embedding + FAISS + BM25), by result",
            ["call", "result"], buckets=BUCKETS, registry=r,
        )
        self.adapter_seconds = Histogram(
            "actions_adapter_seconds", "one call to an outside system (loan records, payments), by adapter",
            ["adapter", "result"], buckets=BUCKETS, registry=r,
        )
        self.rejected = Counter(
            "actions_rejected_total", "calls refused before any action ran, by reason", ["reason"], registry=r
        )

    @contextmanager
    def adapter_call(self, adapter: str) -> Iterator[None]:
        """Time one call to an outside system: `with metrics.adapter_call("loan_records"): ...`."""
        started = time.perf_counter()
        result = "error"
        try:
            yield
            result = "ok"
        finally:
            self.adapter_seconds.labels(adapter=adapter, result=result).observe(time.perf_counter() - started)

    def render(self) -> bytes:
        return generate_latest(self.registry)
