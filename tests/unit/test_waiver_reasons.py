"""Issue 11.12: the reasons in audit/waivers.toml agree with the documented layout and the pipeline.

A waiver's reason is only as good as the facts it states; these are the ones that were wrong once."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WAIVERS = ROOT / "audit" / "waivers.toml"


def waivers() -> list[dict[str, str]]:
    return list(tomllib.loads(WAIVERS.read_text(encoding="utf-8"))["waiver"])


def test_no_reason_claims_rasa_listens_on_loopback_only() -> None:
    production = (ROOT / "docs" / "production.md").read_text(encoding="utf-8")
    assert "Rasa listens on the pod's private address" in production  # the documented layout
    text = WAIVERS.read_text(encoding="utf-8")
    for claim in (r"listens on\s+127\.0\.0\.1 only", r"listens on\s+loopback\b(?! on one)"):
        assert not re.search(claim, text), f"audit/waivers.toml still says Rasa {claim!r}"


def test_scikit_learn_reason_matches_the_pipeline() -> None:
    pipeline = [step["name"] for step in yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]]
    reason = next(w["reason"] for w in waivers() if w["package"] == "scikit-learn")
    assert "CountVectorsFeaturizer" in pipeline
    assert "does not use" not in reason and "CountVectorizer" in reason and "stop_words_" in reason
    assert "vocabular" in reason  # why it is still harmless: only the vocabulary is persisted


def test_tensorflow_advisories_were_reviewed_for_the_installed_version() -> None:
    pinned = {w["package"]: w["version"] for w in waivers()}
    assert pinned.get("tensorflow") == "2.12.0"
    reason = next(w["reason"] for w in waivers() if w["package"] == "tensorflow")
    assert "CVE-2023-33976" in reason and len(reason.split()) > 30
