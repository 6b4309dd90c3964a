"""JSON log lines with the request and conversation ids, and the action server's /metrics."""

from __future__ import annotations

import io
import json
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient
from test_actions_server import SECRET_TEXT, TOKEN, ExplodingAction, action_call, settings

from actions.kb import KnowledgeBaseProvider
from actions.metrics import ActionMetrics
from actions.registry import build_actions
from actions.server import create_app
from telemetry import bind, new_request_id
from telemetry.logs import ContextFilter, JsonFormatter

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_json_line_carries_the_bound_ids_and_extra_fields(json_log: io.StringIO) -> None:
    log = logging.getLogger("handoff.test")
    with bind(request_id="r-1", conversation_id="c-1"):
        log.info("turn done: %s", "answered", extra={"duration_ms": 12.5})
    log.info("outside a request")
    first, second = lines(json_log)
    assert first["message"] == "turn done: answered" and first["level"] == "INFO"
    assert (first["request_id"], first["conversation_id"], first["duration_ms"]) == ("r-1", "c-1", 12.5)
    assert first["time"].endswith("Z") and first["logger"] == "handoff.test"
    assert second["request_id"] is None and second["conversation_id"] is None


def test_only_plausible_ids_from_outside_are_kept() -> None:
    assert new_request_id("abc-123_x.y:z") == "abc-123_x.y:z"
    for bad in ("", "a b", "x" * 65, "id\n{json}", "中文"):
        fresh = new_request_id(bad)
        assert fresh != bad and len(fresh) == 32


def samples(text: str) -> dict:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_action_server_logs_and_counts_each_call_with_the_services_ids(json_log: io.StringIO) -> None:
    metrics = ActionMetrics()
    kb = KnowledgeBaseProvider(lambda: (_ for _ in ()).throw(RuntimeError("no index")), search_timeout_s=0.2,
                               metrics=metrics)
    app = create_app(settings(), [*build_actions(kb), ExplodingAction()], kb, metrics)
    call = action_call("action_handoff")
    call["tracker"]["latest_message"]["metadata"] = {"lang": "en", "request_id": "req-from-service"}
    with TestClient(app) as client:
        assert client.post(f"/webhook?token={TOKEN}", json=call).headers["X-Request-ID"] == "req-from-service"
        assert client.post(f"/webhook?token={TOKEN}", json=action_call("action_explode")).status_code == 500
        assert client.post("/webhook?token=wrong", json=call).status_code == 401
        faq = action_call("action_answer_faq", text="how do I get a payoff quote")
        assert client.post(f"/webhook?token={TOKEN}", json=faq).status_code == 200
        page = client.get("/metrics")
    assert page.status_code == 200
    got = samples(page.text)
    assert got[("actions_run_seconds_count", (("action", "action_handoff"), ("result", "ok")))] == 1
    assert got[("actions_run_seconds_count", (("action", "action_explode"), ("result", "500")))] == 1
    assert got[("actions_rejected_total", (("reason", "unauthorized"),))] == 1
    # The knowledge base cannot load here: the search is timed and counted as an error.
    assert got[("actions_kb_search_seconds_count", (("call", "search"), ("result", "error")))] >= 1
    done = [line for line in lines(json_log) if line["logger"] == "actions.server" and "HTTP" in line["message"]]
    assert done[0]["request_id"] == "req-from-service" and done[0]["conversation_id"] == "conv-9"
    assert len(done[1]["request_id"]) == 32  # none came with the call: a fresh one
    assert not [line for line in done if SECRET_TEXT in json.dumps(line, ensure_ascii=False)]


def test_adapter_calls_are_timed_with_their_result() -> None:
    metrics = ActionMetrics()
    with metrics.adapter_call("loan_records"):
        pass
    with pytest.raises(TimeoutError), metrics.adapter_call("loan_records"):
        raise TimeoutError
    got = samples(metrics.render().decode())
    assert got[("actions_adapter_seconds_count", (("adapter", "loan_records"), ("result", "ok")))] == 1
    assert got[("actions_adapter_seconds_count", (("adapter", "loan_records"), ("result", "error")))] == 1


def test_rasas_environment_writes_the_same_json_lines() -> None:
    """bot/logging.yml, loaded the way Rasa's `--logging-config-file` does, in Rasa's own Python."""
    bot_python = ROOT / ".venv-bot" / "bin" / "python"
    if not bot_python.exists():
        pytest.skip("the Rasa environment (.venv-bot) is not installed")
    code = (
        "import logging, logging.config, yaml; "
        "logging.config.dictConfig(yaml.safe_load(open('bot/logging.yml'))); "
        "logging.getLogger('rasa.core.processor').info('turn %s', 'done')"
    )
    done = subprocess.run([str(bot_python), "-c", code], cwd=ROOT, env={"PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=60, check=True)
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert line["message"] == "turn done" and line["logger"] == "rasa.core.processor"
    assert line["request_id"] is None and line["level"] == "INFO"
