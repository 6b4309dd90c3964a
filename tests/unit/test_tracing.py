"""Optional OpenTelemetry tracing (handoff/infra/tracing.py): off by default, no spans and no trace header to
Rasa; on, a bot turn is one trace (the turn, its database work, the Rasa call) and Rasa receives the Rasa
span's W3C `traceparent`. Spans go to an in-memory exporter here instead of an OTLP collector."""

from __future__ import annotations

from borrower_helpers import ScriptedRasa, start
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import Engine

from handoff.app import create_app
from handoff.config import Settings


def turn(client: TestClient, lang: str, text: str) -> None:
    cid, headers = start(client, lang=lang)
    sent = client.post(f"/api/conversations/{cid}/messages", headers=headers, json={"text": text})
    assert sent.status_code == 200 and sent.json()["messages"][-1]["sender"] == "bot", sent.text


def test_tracing_is_off_by_default(bot_client: TestClient, scripted_rasa: ScriptedRasa) -> None:
    turn(bot_client, "en", "what is the late fee")
    turn(bot_client, "zh", "逾期费是多少")
    sent = [r for r in scripted_rasa.requests if r["path"].startswith("/webhooks")]
    assert len(sent) == 2
    assert all("traceparent" not in {k.lower() for k in r["headers"]} for r in sent)


def test_a_bot_turn_is_one_trace_that_reaches_rasa(
    settings: Settings, engine: Engine, scripted_rasa: ScriptedRasa
) -> None:
    exporter = InMemorySpanExporter()
    app = create_app(settings.model_copy(update={"RASA_URL": scripted_rasa.url}), engine, span_exporter=exporter)
    with TestClient(app) as client:
        for lang, text in (("en", "what is the late fee"), ("zh", "逾期费是多少")):
            exporter.clear()
            before = len(scripted_rasa.requests)
            turn(client, lang, text)
            spans = exporter.get_finished_spans()
            (root,) = [s for s in spans if s.name == "handoff.turn"]
            (rasa,) = [s for s in spans if s.name == "rasa.turn"]
            db = [s for s in spans if s.name == "handoff.db" and s.context.trace_id == root.context.trace_id]
            assert rasa.parent is not None and rasa.parent.span_id == root.context.span_id
            assert len(db) >= 2 and all(s.parent is not None and s.parent.span_id == root.context.span_id for s in db)
            assert root.attributes is not None and root.attributes["conversation.id"]
            (sent,) = [r for r in scripted_rasa.requests[before:] if r["path"].startswith("/webhooks")]
            header = {k.lower(): v for k, v in sent["headers"].items()}["traceparent"]
            _, trace_id, span_id, _ = header.split("-")
            assert (int(trace_id, 16), int(span_id, 16)) == (root.context.trace_id, rasa.context.span_id), lang
