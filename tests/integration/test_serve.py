"""`python -m handoff serve` as a real process: prints its URL, migrates, serves health, OpenAPI and the chat page."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from service_process import ROOT, run_service

pytestmark = pytest.mark.integration


def test_serve_starts_and_reports(tmp_path: Path) -> None:
    with run_service(tmp_path) as service:
        assert "conversation service: http://" in service.log_tail()
        health = httpx.get(f"{service.url}/healthz", trust_env=False)
        assert health.status_code == 200
        body = health.json()
        assert body["checks"]["db"] == {"ok": True, "backend": "sqlite"}
        assert body["checks"]["rasa"]["ok"] is False and body["status"] == "degraded"
        paths = httpx.get(f"{service.url}/openapi.json", trust_env=False).json()["paths"]
        for path in (
            "/api/conversations",
            "/api/conversations/{conversation_id}/messages",
            "/api/conversations/{conversation_id}/callback",
            "/api/conversations/{conversation_id}/leave-queue",
        ):
            assert path in paths
        page = httpx.get(f"{service.url}/", trust_env=False)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        i18n = httpx.get(f"{service.url}/static/chat/i18n.js", trust_env=False).text
        assert "Talk to a person" in i18n and "转人工客服" in i18n
    assert (tmp_path / "handoff.db").exists()


def test_bad_settings_stop_start_up_with_a_hint(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME")}
    env.update(APP_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    done = subprocess.run(
        [sys.executable, "-m", "handoff", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "SECRET_KEY" in done.stderr and "Traceback" not in done.stderr
