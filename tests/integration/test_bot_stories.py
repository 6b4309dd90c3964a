"""Rasa test stories (tests/rasa/test_stories.yml) for every dialogue path, against the trained model."""

from __future__ import annotations

import os
import subprocess

import pytest
from rasa_stack import REPO_ROOT, ensure_model

pytestmark = pytest.mark.integration


def test_every_dialogue_path(tmp_path_factory: pytest.TempPathFactory) -> None:
    model = ensure_model()
    out = tmp_path_factory.mktemp("core_results")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "RASA_TELEMETRY_ENABLED": "false",
           "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [str(REPO_ROOT / ".venv-bot/bin/rasa"), "test", "core", "--model", str(model),
         "--stories", "tests/rasa/test_stories.yml", "--out", str(out), "--no-plot"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    failed = (out / "failed_test_stories.yml").read_text()
    assert "- story:" not in failed, failed
    stories = (REPO_ROOT / "tests" / "rasa" / "test_stories.yml").read_text().count("- story:")
    assert stories >= 18
