"""Many borrowers at once while the bot is unreachable: every turn still gets the honest fallback in time and
every stored message reaches the borrowers' WebSockets. Drives the load benchmark's own client
(benchmarks/load/client.py, in its own process), so the benchmark is exercised by the suite as well."""

from __future__ import annotations

import json
import subprocess
import sys
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
        "BotUnavailableError in handoff/rasa_client.py, not only httpx.HTTPError (a reset right after connect "
        f"raises AttributeError inside httpcore). Service log:\n{service_log}"
    )
    assert outcomes.get("fallback", 0) > 0
    # The service waits RASA_TIMEOUT_S for the bot at most; the rest is its own work under load.
    assert result["latency_ms"]["max"] < (RASA_TIMEOUT_S + 5) * 1000, result["latency_ms"]
    ws = result["websocket"]
    assert ws["sessions"] > 0 and ws["failed"] == 0
    assert ws["messages_missing"] == 0, f"{ws['messages_missing']} stored messages never reached a WebSocket"
