"""bot/speedups.py, run inside the Rasa environment: same validation results as jsonschema, schema checked once,
SQLite tracker store in WAL mode, action server calls on one kept-open session."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from rasa_stack import REPO_ROOT

pytestmark = pytest.mark.integration


def test_cached_validation_matches_jsonschema_on_rasas_action_schema() -> None:
    result = subprocess.run(
        [str(REPO_ROOT / ".venv-bot/bin/python"), "tests/rasa/check_speedups.py"],
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["installed"]
    assert all(report["same"]), report["outcomes"]
    assert report["outcomes"][:2] == ["valid", "valid"]
    assert all(o.startswith("invalid: ") for o in report["outcomes"][2:])
    assert report["checks"] == 1  # 20 validations, one schema check
    assert report["bad_schema"] == "SchemaError"
    assert report["sqlite"] == ["wal", 1, "QueuePool"]
    events = report["events"]
    assert events["names"] > 20 and events["same"] and events["unknown"] == "ValueError"
    assert events["first_round_walks"] > 0 and events["later_walks"] == 0  # once per name, not once per event
    calls = report["action_calls"]
    assert calls["answers"] == [0, 1, 2, 3, 4, 5]
    assert calls["shared"] and calls["other_config_other_session"]
    assert calls["connections_busy"] == 1  # five calls in a row, one connection (Rasa alone: five)
    assert calls["new_after_idle"]  # an idle connection is dropped before the server would drop it
    assert calls["headers"] == [["yes", "Basic dTpw", "t0k"]]  # Rasa's headers, basic auth and token param
