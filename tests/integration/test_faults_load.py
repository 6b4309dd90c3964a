"""Many borrowers at once while the bot is unreachable: every turn still gets the honest fallback in time and
every stored message reaches the borrowers' WebSockets. Drives the load benchmark's own client
(benchmarks/load/client.py, in its own process), so the benchmark is exercised by the suite as well."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from service_process import ROOT, run_service
from tcp_proxy import Mode, TcpProxy

pytestmark = pytest.mark.integration

CLIENT = ROOT / "benchmarks" / "load" / "client.py"
RASA_TIMEOUT_S = 1.0
BORROWERS, DURATION_S = 8, 4


@pytest.mark.parametrize("mode", [Mode.BLACKHOLE, Mode.RESET])
def test_concurrent_borrowers_get_the_fallback_when_rasa_is_down(tmp_path: Path, mode: Mode) -> None:
    # The "Rasa" behind the proxy is the proxy's own listening port's neighbour: nothing real is needed,
    # every connection is black-holed or reset before it would be forwarded.
    with TcpProxy(target_port=9).in_thread() as rasa_link:
        rasa_link.mode = mode
        with run_service(tmp_path / "service", RASA_URL=rasa_link.url, RASA_TIMEOUT_S=str(RASA_TIMEOUT_S)) as service:
            out = tmp_path / "load.json"
            done = subprocess.run(
                [sys.executable, str(CLIENT), "--target", "service", "--url", service.url,
                 "--borrowers", str(BORROWERS), "--duration", str(DURATION_S), "--think-s", "0.3",
                 "--out", str(out)],
                cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
            )
            assert done.returncode == 0, done.stderr[-3000:]
            service_log = service.log_tail(6000)
    result = json.loads(out.read_text(encoding="utf-8"))
    outcomes = result["outcomes"]
    assert result["turns"] >= BORROWERS, result
    assert set(outcomes) <= {"fallback", "handoff"}, (
        f"every turn must end in the honest fallback, got {outcomes}. Any failure of the Rasa call must become "
        "BotUnavailableError in handoff/rasa/client.py, not only httpx.HTTPError (a reset right after connect "
        f"raises AttributeError inside httpcore). Service log:\n{service_log}"
    )
    assert outcomes.get("fallback", 0) > 0
    # The service waits RASA_TIMEOUT_S for the bot at most; the rest is its own work under load.
    assert result["latency_ms"]["max"] < (RASA_TIMEOUT_S + 5) * 1000, result["latency_ms"]
    ws = result["websocket"]
    assert ws["sessions"] > 0 and ws["failed"] == 0
    assert ws["messages_missing"] == 0, f"{ws['messages_missing']} stored messages never reached a WebSocket"


def test_load_report_and_memory_sampler(tmp_path: Path) -> None:
    """The benchmark's markdown summary and RSS sampler, on a small synthetic run (no processes started)."""
    sys.path.insert(0, str(ROOT / "benchmarks" / "load"))
    try:
        from memory import MemorySampler
        from report import render
        from stats import TurnRecord, summarise
    finally:  # generic module names: leave no trace for other tests
        sys.path.remove(str(ROOT / "benchmarks" / "load"))
        for name in ("memory", "report", "stats"):
            sys.modules.pop(name, None)
    with MemorySampler(interval_s=0.01) as sampler:
        sampler.watch("pytest", os.getpid())
        sampler.watch("pytest again", os.getpid())  # the same process twice: "all together" doubles
        sampler.watch("client", os.getpid(), part_of_system=False)  # not counted in "all together"
        sampler.sample()
        sampler.phase = "service load"
        deadline = time.process_time() + 0.3
        while time.process_time() < deadline:  # burn 0.3 s of CPU in the phase
            pass
        sampler.sample()
    memory = sampler.summary()
    assert memory["pytest"]["idle"]["max_mb"] > 10
    together, alone = memory["all together"]["idle"], memory["pytest"]["idle"]
    assert 1.8 * alone["max_mb"] < together["max_mb"] < 2.2 * alone["max_mb"], memory
    cpu = sampler.cpu_summary()
    assert cpu["pytest"]["service load"] >= 0.25, cpu
    records = [TurnRecord(0.0, 0.2, "faq", "en", "answer"), TurnRecord(1.0, 5.1, "faq", "zh", "fallback")]
    phase = summarise(records, elapsed_s=2.0)
    assert phase["latency_ms"]["p50"] == 200.0 and phase["outcomes"] == {"answer": 1, "fallback": 1}
    result = {
        "generated_at": "2026-01-01T00:00:00+00:00", "command": "benchmarks/load/run.py",
        "machine": {"cpus": 2, "platform": "test", "python": "3.11", "load_average_1m": {"start": 0.1, "end": 0.2}},
        "config": {"borrowers": 2, "duration_s": 2.0, "think_s": 1.0, "turns": 6,
                   "mix": {"faq": 1.0}, "languages": {"en": 0.5, "zh": 0.5}},
        "phases": {"service": {**phase, "websocket": {"sessions": 2, "failed": 0, "messages_expected": 4,
                                                      "messages_missing": 0}},
                   "rasa": phase},
        "service_vs_rasa": {"p50_added_ms": 0.0, "comparable": False, "answers": {"service": 1, "rasa": 1}},
        "memory_mb": memory,
        "cpu_s": {"pytest": {"service load": 0.4, "rasa load": 0.2}},
    }
    markdown = render(result)
    assert "| through the service | 2 |" in markdown and "| bare Rasa webhook (floor) | 2 |" in markdown
    assert "Not comparable" in markdown and "| pytest |" in markdown
    memory_rows = [line for line in markdown.splitlines() if line.startswith(("| pytest", "| all"))]
    assert memory_rows[2].startswith("| all together | ") and " / " in memory_rows[2], memory_rows  # last of its table
    assert "| pytest | 200 | 100 |" in markdown  # CPU ms per turn: 0.4 s / 2 turns, 0.2 s / 2 turns


def test_load_rounds_alternate_and_merge() -> None:
    """`run.py --rounds`: the targets alternate A B, B A ...; a target's rounds become one phase."""
    sys.path.insert(0, str(ROOT / "benchmarks" / "load"))
    try:
        from run import merge_rounds, round_order
    finally:
        sys.path.remove(str(ROOT / "benchmarks" / "load"))
        for name in ("run", "memory", "report", "stats", "mix"):
            sys.modules.pop(name, None)
    assert round_order(["rasa", "service"], 3) == [
        (0, "rasa"), (0, "service"), (1, "service"), (1, "rasa"), (2, "rasa"), (2, "service")]
    assert round_order(["service"], 2) == [(0, "service"), (1, "service")]

    def row(latency_s: float, outcome: str = "answer") -> dict[str, object]:
        return {"started_s": 1.0, "latency_s": latency_s, "kind": "faq", "lang": "en", "outcome": outcome}

    rounds = [
        {"target": "service", "url": "u", "elapsed_s": 10.0, "records": [row(0.1), row(0.3)],
         "websocket": {"sessions": 2, "failed": 0, "messages_expected": 8, "messages_missing": 1}},
        {"target": "service", "url": "u", "elapsed_s": 10.0, "records": [row(0.2), row(9.0, "fallback")],
         "websocket": {"sessions": 3, "failed": 1, "messages_expected": 4, "messages_missing": 0}},
    ]
    merged = merge_rounds(rounds)
    assert merged["turns"] == 4 and merged["throughput_turns_per_s"] == 0.2 and merged["rounds"] == 2
    assert merged["outcomes"] == {"answer": 3, "fallback": 1}
    assert merged["latency_ms"]["p50"] in (200.0, 300.0)  # the median of all four turns, not of two rounds
    assert merged["websocket"] == {"sessions": 5, "failed": 1, "messages_expected": 12, "messages_missing": 1}
    assert "records" not in merged  # load.json keeps the summary only
