"""Optional OpenTelemetry tracing, off unless TRACING_OTLP_ENDPOINT is set (docs/production.md, "Metrics and logs").

A bot turn is one trace: `handoff.turn`, with a span for each database unit of work (`handoff.db`) and for the
Rasa call (`rasa.turn`), whose W3C `traceparent` header goes to Rasa so that a tracing proxy or collector in
front of it can join the same trace. Off, the tracer is OpenTelemetry's no-op one: no spans, no headers, no
exporter thread. The provider belongs to the app (built in its lifespan, shut down with it), never global, so
nothing is set at import and tests can give each app its own.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter

SERVICE_NAME = "carloan-conversation-service"


def make_tracer(
    endpoint: str | None, *, exporter: SpanExporter | None = None
) -> tuple[trace.Tracer, Callable[[], None]]:
    """(tracer, shutdown). `endpoint`: an OTLP/HTTP traces URL (spans batched in the background); `exporter`
    instead (tests: spans exported as each ends); neither: the no-op tracer."""
    if endpoint is None and exporter is None:
        return trace.NoOpTracer(), lambda: None
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider.get_tracer("handoff"), provider.shutdown


def inject(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Add the current span's `traceparent` (nothing when no span is recording: tracing off)."""
    propagate.inject(headers)
    return headers
