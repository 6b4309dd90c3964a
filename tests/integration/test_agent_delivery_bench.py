"""The agent -> borrower delivery benchmark (benchmarks/load/agent_delivery.py): a few seconds with a few
borrowers and agents against a real service (no Rasa) must deliver every reply exactly once, and its report
must carry the figures the README quotes. Its accounting is checked on synthetic frames first, so a lost,
duplicated or misrouted reply is known to be caught."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from service_process import ROOT

pytestmark = pytest.mark.integration

LOAD_DIR = ROOT / "benchmarks" / "load"
SCRIPT = LOAD_DIR / "agent_delivery.py"
SETUP_FIELDS = {
    "sent", "delivered", "lost", "duplicates", "misrouted", "seq_gaps", "send_errors", "delivery_ms", "http_ms",
    "messages_per_s", "target_p95_ms", "meets_target", "database", "redis", "replicas",
}


@pytest.fixture
def delivery() -> Iterator[ModuleType]:
    sys.path.insert(0, str(LOAD_DIR))
    try:
        import delivery as module

        yield module
    finally:  # generic module names: leave no trace for other tests
        sys.path.remove(str(LOAD_DIR))
        for name in ("delivery", "stats"):
            sys.modules.pop(name, None)


def frame(seq: int, sender: str = "agent", cmid: str | None = None) -> dict[str, Any]:
    return {"type": "message", "message": {"seq": seq, "sender": sender, "text": "x", "client_message_id": cmid}}


def test_accounting_catches_lost_duplicated_and_misrouted_replies(delivery: ModuleType) -> None:
    tracker = delivery.Tracker()
    for cmid, conv in (("a-0", "c1"), ("a-1", "c1"), ("a-2", "c1"), ("a-3", "c2")):
        tracker.replies[cmid] = delivery.Reply(conversation_id=conv, agent="a", sent_at=10.0, http_s=0.02, status="ok")
    tracker.replies["a-4"] = delivery.Reply(conversation_id="c1", agent="a", sent_at=10.0, status="http_409")
    c1, c2 = delivery.Borrower(id="c1", token="t"), delivery.Borrower(id="c2", token="t")
    tracker.on_frame(c1, frame(1, "system"), 10.001)
    tracker.on_frame(c1, frame(2, cmid="a-0"), 10.010)
    tracker.on_frame(c1, frame(2, cmid="a-0"), 10.011)  # the same message twice
    tracker.on_frame(c1, frame(4, cmid="a-1"), 10.030)  # seq 3 skipped
    tracker.on_frame(c1, frame(5, cmid="a-2"), 16.0)  # later than lost_after_s
    tracker.on_frame(c1, frame(6, cmid="a-1"), 10.040)  # the same reply stored twice
    tracker.on_frame(c2, frame(1, cmid="a-0"), 10.012)  # another borrower's reply
    # a-3 never arrives
    summary = tracker.summary(elapsed_s=1.0, lost_after_s=5.0)
    assert summary["sent"] == 4 and summary["send_errors"] == {"http_409": 1}
    assert summary["delivered"] == 2 and summary["lost"] == 2
    assert summary["duplicates"] == 2  # seq 2 pushed twice; a-1 under seq 4 and 6
    assert summary["misrouted"] == 1 and summary["seq_gaps"] == 1
    assert summary["delivery_ms"]["p50"] == 10.0 and summary["delivery_ms"]["max"] == 30.0
    assert summary["meets_target"] is True
    assert delivery.Tracker().summary(elapsed_s=1.0, lost_after_s=5.0)["meets_target"] is False  # nothing measured


def run_bench(tmp_path: Path, *extra: str) -> dict[str, Any]:
    out = tmp_path / "agent_delivery.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--borrowers", "4", "--agents", "2", "--duration", "3", "--interval-s", "0.2",
         "--out", str(out), "--markdown", str(tmp_path / "agent_delivery.md"), *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=240, check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def check_setup(setup: dict[str, Any]) -> None:
    assert SETUP_FIELDS <= set(setup), SETUP_FIELDS - set(setup)
    # 2 agents x 3 s / 0.2 s = 30 replies on a fixed schedule
    assert setup["sent"] >= 25 and not setup["send_errors"], setup
    assert setup["lost"] == 0, f"{setup['lost']} agent replies never reached the borrower's WebSocket"
    assert setup["duplicates"] == 0 and setup["misrouted"] == 0 and setup["seq_gaps"] == 0, setup
    assert setup["delivered"] == setup["sent"]
    assert all(setup["delivery_ms"][q] is not None for q in ("p50", "p95", "p99", "max"))
    assert setup["messages_per_s"] > 0


def test_agent_delivery_bench_on_sqlite(tmp_path: Path) -> None:
    result = run_bench(tmp_path)
    assert [s["database"] for s in result["setups"]] == ["sqlite"]
    check_setup(result["setups"][0])
    markdown = (tmp_path / "agent_delivery.md").read_text(encoding="utf-8")
    assert "| sqlite, 1 replica | " in markdown and "target delivery p95 <= 50 ms" in markdown


@pytest.mark.db
def test_agent_delivery_bench_across_two_replicas(tmp_path: Path) -> None:
    """PostgreSQL + Redis: borrowers on one replica, agents on the other, so every reply crosses Redis."""
    database_url, redis_url = os.environ.get("TEST_DATABASE_URL"), os.environ.get("TEST_REDIS_URL")
    if not database_url or not redis_url:
        pytest.skip("TEST_DATABASE_URL and TEST_REDIS_URL not both set")
    result = run_bench(tmp_path, "--skip-sqlite", "--database-url", database_url, "--redis-url", redis_url)
    setup = result["setups"][0]
    assert (setup["database"], setup["redis"], setup["replicas"]) == ("postgresql", True, 2)
    check_setup(setup)
