"""`rasa test nlu` on held-out data the model never saw (tests/rasa/nlu_holdout.yml), against the targets."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from rasa_stack import REPO_ROOT, ensure_model

pytestmark = pytest.mark.integration

OVERALL_F1 = 0.90
RECALL_TARGETS = {"request_human": 0.95, "express_anger": 0.90}


def bot_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}


@pytest.fixture(scope="module")
def intent_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    model = ensure_model()
    out: Path = tmp_path_factory.mktemp("nlu_results")
    result = subprocess.run(
        [str(REPO_ROOT / ".venv-bot/bin/rasa"), "test", "nlu", "--model", str(model),
         "--nlu", "tests/rasa/nlu_holdout.yml", "--out", str(out)],
        cwd=REPO_ROOT, env=bot_env(), capture_output=True, text=True, timeout=900, check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((out / "intent_report.json").read_text())


def test_holdout_is_not_in_the_training_data() -> None:
    def examples(path: Path) -> set[str]:
        return {line.strip()[2:].strip().lower() for line in path.read_text().splitlines()
                if line.startswith("      - ")}

    training = set().union(*(examples(p) for p in (REPO_ROOT / "data" / "nlu").glob("*.yml")))
    holdout = examples(REPO_ROOT / "tests" / "rasa" / "nlu_holdout.yml")
    assert len(holdout) > 250
    assert not training & holdout


def test_overall_intent_f1(intent_report: dict) -> None:
    assert intent_report["weighted avg"]["f1-score"] >= OVERALL_F1, intent_report["weighted avg"]


@pytest.mark.parametrize(("intent", "target"), sorted(RECALL_TARGETS.items()))
def test_recall_of_the_intents_that_must_reach_a_person(intent_report: dict, intent: str, target: float) -> None:
    assert intent_report[intent]["recall"] >= target, intent_report[intent]


def test_every_intent_is_evaluated_in_both_languages() -> None:
    text = (REPO_ROOT / "tests" / "rasa" / "nlu_holdout.yml").read_text()
    for block in text.split("  - intent: ")[1:]:
        name = block.split("\n", 1)[0]
        assert any("\u4e00" <= ch <= "\u9fff" for ch in block), f"{name}: no Chinese examples"
        assert any(ch.isascii() and ch.isalpha() for ch in block.split("examples:", 1)[1]), f"{name}: no English"
