"""/metrics of the service after real requests: the counters and gauges move with what happened.

The service runs in-process (TestClient) with its metrics listener on a real port of its own, and a
scripted Rasa over real HTTP; every number is read by scraping that port, as Prometheus would."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from borrower_helpers import ScriptedRasa, handoff_reply, start
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from handoff.app import create_app
from handoff.config import Settings

pytestmark = pytest.mark.db


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def metrics_port() -> int:
    return _free_port()


@pytest.fixture
def observed(settings: Settings, engine: Engine, scripted_rasa: ScriptedRasa, metrics_port: int) -> Iterator[TestClient]:
    app = create_app(
        settings.model_copy(update={"RASA_URL": scripted_rasa.url, "METRICS_PORT": metrics_port}), engine
    )
    with TestClient(app) as client:
        yield client


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0)
    assert resp.status_code == 200
    samples = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_turns_rasa_calls_fallbacks_and_the_queue_are_counted(
    observed: TestClient, scripted_rasa: ScriptedRasa, metrics_port: int
) -> None:
    before = scrape(metrics_port)
    assert value(before, "handoff_turn_seconds_count", outcome="answered") == 0
    cid, auth = start(observed)
    assert observed.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": "hi"}).status_code == 200
    scripted_rasa.script = lambda body: (200, [], 0.0)  # Rasa's "200 []": the fallback
    assert observed.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": "hm"}).status_code == 200
    after = scrape(metrics_port)
    assert value(after, "handoff_turn_seconds_count", outcome="answered") == 1
    assert value(after, "handoff_turn_seconds_count", outcome="fallback") == 1
    assert value(after, "handoff_rasa_request_seconds_count", call="turn", result="ok") == 1
    assert value(after, "handoff_rasa_request_seconds_count", call="turn", result="empty") == 1
    assert value(after, "handoff_bot_fallbacks_total", cause="empty") == 1
    assert value(after, "handoff_queue_depth", lang="en") == 0

    scripted_rasa.script = lambda body: (200, handoff_reply(), 0.0)
    other, other_auth = start(observed)
    resp = observed.post(f"/api/conversations/{other}/messages", headers=other_auth, json={"text": "person"})
    assert resp.json()["state"] == "queued"
    queued = scrape(metrics_port)
    assert value(queued, "handoff_turn_seconds_count", outcome="handoff") == 1
    assert value(queued, "handoff_queue_depth", lang="en") == 1
    assert 0 <= value(queued, "handoff_queue_oldest_wait_seconds", lang="en") < 60
    assert value(queued, "handoff_queue_probe_up") == 1
    # A person is in charge now: the next message goes to the queue, not to Rasa.
    observed.post(f"/api/conversations/{other}/messages", headers=other_auth, json={"text": "hello?"})
    assert value(scrape(metrics_port), "handoff_turn_seconds_count", outcome="to_agent") == 1
    assert value(queued, "handoff_http_request_seconds_count", route="/api/conversations/{conversation_id}/messages",
                 method="POST", status="2xx") == 3


def test_open_websockets_are_counted_and_released(observed: TestClient, metrics_port: int) -> None:
    cid, auth = start(observed)
    token = auth["Authorization"].removeprefix("Bearer ")
    with observed.websocket_connect(f"/ws/conversations/{cid}") as ws:
        ws.send_json({"type": "auth", "token": token})
        while ws.receive_json()["type"] != "ready":
            pass
        assert value(scrape(metrics_port), "handoff_websocket_connections", kind="borrower") == 1
    assert value(scrape(metrics_port), "handoff_websocket_connections", kind="borrower") == 0


def test_request_ids_are_returned_and_passed_on_to_rasa(observed: TestClient, scripted_rasa: ScriptedRasa) -> None:
    cid, auth = start(observed)
    mine = observed.post(f"/api/conversations/{cid}/messages", headers={**auth, "X-Request-ID": "lb-1234.abc"},
                         json={"text": "hi"})
    assert mine.headers["X-Request-ID"] == "lb-1234.abc"
    assert scripted_rasa.requests[-1]["body"]["metadata"]["request_id"] == "lb-1234.abc"
    forged = observed.post(f"/api/conversations/{cid}/messages", headers={**auth, "X-Request-ID": "a b\nc"},
                           json={"text": "hi again"})
    fresh = forged.headers["X-Request-ID"]
    assert fresh != "a b\nc" and len(fresh) == 32
    assert scripted_rasa.requests[-1]["body"]["metadata"]["request_id"] == fresh


def test_metrics_are_not_on_the_public_port(observed: TestClient) -> None:
    assert observed.get("/metrics").status_code == 404
