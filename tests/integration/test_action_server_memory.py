"""The action server holds one embedding runtime: ONNX Runtime, never PyTorch, and stays under 400 MB (issue 17).

The real `python -m actions` entry point runs in a process of its own on the FAQ index built by the knowledge
base's own command (which also writes the ONNX export), with a free port. Once it reports its knowledge base
ready, a real FAQ search goes through Rasa's webhook protocol; then the process's peak RSS (VmHWM) is read and
the process stopped (Ctrl-C). At exit it writes whether `torch` is in `sys.modules` (an `atexit` hook installed by the
small launcher below, which then calls `actions.__main__.main` exactly as `python -m actions` does).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from rasa_stack import APP_PYTHON, KB_ONNX, REPO_ROOT, ensure_kb_index, free_port

pytestmark = pytest.mark.integration

MAX_RSS_MB = 400
LAUNCHER = """
import atexit, json, sys
def report():
    with open(sys.argv[1], "w") as out:
        json.dump({"torch": "torch" in sys.modules, "onnxruntime": "onnxruntime" in sys.modules}, out)
atexit.register(report)
from actions.__main__ import main
sys.exit(main(sys.argv[2:]))
"""


def peak_rss_mb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) // 1024


def faq_action(text: str, lang: str) -> dict[str, object]:
    """What Rasa posts to the action server for `action_answer_faq` after a borrower's question."""
    return {
        "next_action": "action_answer_faq", "sender_id": "memory-test", "version": "3.6.21", "domain": {},
        "tracker": {
            "sender_id": "memory-test", "slots": {"lang": lang}, "latest_message": {"text": text, "intent": {}},
            "latest_event_time": time.time(), "followup_action": None, "paused": False, "events": [
                {"event": "user", "text": text, "timestamp": time.time(), "parse_data": {"intent": {}}},
            ],
            "latest_input_channel": "rest", "active_loop": {}, "latest_action_name": "action_listen",
        },
    }


def test_the_action_server_runs_on_onnx_alone_under_400_mb(tmp_path: Path) -> None:
    index = ensure_kb_index()
    port, token, report = free_port(), secrets.token_urlsafe(16), tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KB_", "ACTION_"))}
    env.update({
        "ACTION_SERVER_TOKEN": token, "APP_ENV": "development", "KB_INDEX_DIR": str(index),
        "KB_ONNX_DIR": str(KB_ONNX), "PYTHONPATH": str(REPO_ROOT),
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    })
    log = (tmp_path / "actions.log").open("wb")
    proc = subprocess.Popen(
        [str(APP_PYTHON), "-c", LAUNCHER, str(report), "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        health: dict[str, object] = {}
        while time.monotonic() < deadline and health.get("knowledge_base") not in ("ready", "error"):
            assert proc.poll() is None, (tmp_path / "actions.log").read_text()[-3000:]
            try:
                health = httpx.get(f"{url}/health", timeout=2).json()
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        assert health.get("knowledge_base") == "ready", (health, (tmp_path / "actions.log").read_text()[-3000:])
        searched = []
        for text, lang in (("how do I get a payoff quote", "en"), ("怎么申请提前结清？", "zh")):
            answered = httpx.post(f"{url}/webhook", json=faq_action(text, lang), timeout=30,
                                  headers={"Authorization": f"Bearer {token}"})
            assert answered.status_code == 200, answered.text
            searched += [(r["custom"]["outcome"], r["custom"]["faq_id"]) for r in answered.json()["responses"]
                         if (r.get("custom") or {}).get("type") == "turn_outcome"]
        peak = peak_rss_mb(proc.pid)
    finally:
        # SIGINT: uvicorn re-raises SIGTERM after its shutdown (no atexit then); SIGINT ends in KeyboardInterrupt.
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
    assert searched == [("answer", "payoff-quote"), ("answer", "payoff-apply-zh")], searched
    modules = json.loads(report.read_text())
    assert modules == {"torch": False, "onnxruntime": True}, modules
    assert peak <= MAX_RSS_MB, f"action server peak RSS {peak} MB > {MAX_RSS_MB} MB"
    print(f"action server peak RSS: {peak} MB, torch imported: {modules['torch']}", file=sys.stderr)
