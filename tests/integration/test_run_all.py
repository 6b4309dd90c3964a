"""`make run`'s supervisor: starts the action server, Rasa and the service, waits until all are
healthy, prints the URLs, and stops all three on Ctrl-C (SIGINT) or SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from rasa_stack import REPO_ROOT, ensure_kb_index, ensure_model, free_port

pytestmark = pytest.mark.integration


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_run_starts_everything_prints_urls_and_stops_cleanly(tmp_path: Path) -> None:
    ensure_model()
    ensure_kb_index()
    ports = {"PORT": free_port(), "RASA_PORT": free_port(), "ACTION_PORT": free_port()}
    env = {k: v for k, v in os.environ.items() if k not in {"RASA_TOKEN", "ACTION_SERVER_TOKEN", "RASA_URL"}}
    env.update({k: str(v) for k, v in ports.items()})
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'service.db'}",
        RASA_TRACKER_DB=str(tmp_path / "tracker.db"),
        ACTION_SERVER_URL=f"http://127.0.0.1:{ports['ACTION_PORT']}",
        APP_ENV="development",
    )
    proc = subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "scripts" / "run_all.py")],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + 300
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            output.append(line)
            if line.startswith("Ready."):
                break
        text = "".join(output)
        assert "Ready." in text, text
        for _ in range(5):
            output.append(proc.stdout.readline())
        text = "".join(output)
        assert f"http://127.0.0.1:{ports['PORT']}/" in text
        assert f"http://127.0.0.1:{ports['PORT']}/console/" in text
        health = httpx.get(f"http://127.0.0.1:{ports['PORT']}/healthz", timeout=10)
        assert health.status_code == 200, health.text
        # "Ready." waits for the service's readiness, which needs Rasa with its model and the action server.
        ready = httpx.get(f"http://127.0.0.1:{ports['PORT']}/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["checks"]["rasa"]["model_file"], ready.text
        assert health.json()["status"] == "ok", health.text
        assert all(_listening(p) for p in ports.values())

        proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
        assert proc.wait(timeout=40) == 0
        time.sleep(1)
        still = [name for name, port in ports.items() if _listening(port)]
        assert not still, f"still listening after Ctrl-C: {still}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
