"""The unanswered-questions report: what counts as unanswered (real rows in a temporary service database),
the clusters with hand-made vectors, the trend, the stub files (valid FAQ front matter), and the command
line's errors."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import Engine

from handoff.infra.db import session_scope
from handoff.models import Conversation, TurnOutcome
from knowledge_base.cli import main
from knowledge_base.clusters import cluster, features
from knowledge_base.errors import KBError
from knowledge_base.faq import parse_faq
from knowledge_base.stubs import stub_id, write_stubs
from knowledge_base.unanswered import Asked, collect, parse_since

NOW = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)


def rows(engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add(Conversation(id="c1", token_hash="0" * 64, lang="en", last_seq=9))
        s.add(Conversation(id="c2", token_hash="0" * 64, lang="zh", last_seq=9))
        s.flush()
        day = timedelta(days=1)
        s.add_all([
            TurnOutcome(conversation_id="c1", at=NOW - 2 * day, kind="none", question="can I pay with bitcoin",
                        faq_id="payment-methods", score=0.41),
            TurnOutcome(conversation_id="c1", at=NOW - 2 * day, kind="answer", question="payoff quote", faq_id="p"),
            TurnOutcome(conversation_id="c1", at=NOW - day, kind="feedback", helped=False, question="late fee?",
                        faq_id="late-fee", score=0.7),
            TurnOutcome(conversation_id="c1", at=NOW - day, kind="feedback", helped=True, question="due date",
                        faq_id="due-date"),
            TurnOutcome(conversation_id="c1", at=NOW - day, kind="clarify", question="/ask_question{}"),
            TurnOutcome(conversation_id="c1", at=NOW - day, kind="handoff", reason="anger", question="useless bot"),
            TurnOutcome(conversation_id="c1", at=NOW - day, kind="handoff", reason="repeated_fallback",
                        question="my car was towed", faq_id="repossession", score=0.38),
            TurnOutcome(conversation_id="c2", at=NOW - day, kind="fallback", question="车被拖走了怎么办"),
            TurnOutcome(conversation_id="c2", at=NOW - 9 * day, kind="none", question="太久以前的问题"),
        ])


def test_collect_reads_what_the_bot_did_not_answer(engine: Engine) -> None:
    rows(engine)
    found = collect(str(engine.url.render_as_string(hide_password=False)), since=NOW - timedelta(days=7), until=NOW)
    # Not the answer, not the helpful feedback, not the button payload, not the handoff without a KB attempt,
    # not the question older than the window.
    assert [(a.question, a.kind) for a in found] == [
        ("can I pay with bitcoin", "none"), ("late fee?", "feedback"), ("my car was towed", "handoff"),
        ("车被拖走了怎么办", "fallback")]
    assert found[0].faq_id == "payment-methods" and found[0].score == 0.41 and found[0].at.tzinfo is not None


def test_identical_questions_come_added_up_per_half_of_the_window(engine: Engine) -> None:
    rows(engine)
    with session_scope(engine) as s:  # the bitcoin question twice more: 6 days ago (first half) and today
        s.add_all([TurnOutcome(conversation_id="c1", at=NOW - timedelta(days=6), kind="none", score=0.47,
                               question="can I pay with bitcoin", faq_id="payment-methods"),
                   TurnOutcome(conversation_id="c1", at=NOW - timedelta(hours=1), kind="none",
                               question="can I pay with bitcoin", faq_id="payment-methods", score=0.2)])
    url = str(engine.url.render_as_string(hide_password=False))
    found = [a for a in collect(url, since=NOW - timedelta(days=7), until=NOW) if "bitcoin" in a.question]
    # Midpoint 3.5 days ago: 2 days ago and 1 hour ago are the second half, 6 days ago the first.
    assert [(a.count, a.score, a.at) for a in found] == [
        (1, 0.47, NOW - timedelta(days=6)), (2, 0.41, NOW - timedelta(days=2))]
    (c,) = cluster(found, lambda texts: np.ones((len(texts), 3), dtype=np.float32) / np.sqrt(3),
                   start=NOW - timedelta(days=7), end=NOW)
    assert (c.count, c.earlier, c.later, c.kinds, c.nearest_score) == (3, 1, 2, {"none": 3}, 0.47)


def test_since_and_a_database_without_the_table() -> None:
    assert parse_since("7d", now=NOW) == NOW - timedelta(days=7)
    assert parse_since("12h", now=NOW) == NOW - timedelta(hours=12)
    with pytest.raises(KBError, match="like 7d or 12h"):
        parse_since("a week", now=NOW)
    with pytest.raises(KBError, match="turn_outcomes"):
        collect("sqlite://", since=NOW, until=NOW)


VECTORS = {  # two clear groups in English, one in Chinese
    "can i pay with bitcoin": [1.0, 0.0, 0.0], "do you take crypto": [0.95, 0.1, 0.0],
    "my car was towed": [0.0, 1.0, 0.0], "the car got repossessed": [0.1, 0.97, 0.0],
    "车被拖走了怎么办": [0.0, 0.0, 1.0],
}


def encode(texts: list[str]) -> np.ndarray:
    vectors = np.array([VECTORS[t] for t in texts], dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def asked(question: str, days_ago: float, lang: str = "en", faq: str | None = None, score: float | None = None,
          kind: str = "none") -> Asked:
    return Asked(question=question, lang=lang, kind=kind, faq_id=faq, score=score, at=NOW - timedelta(days=days_ago))


def test_clusters_count_examples_nearest_faq_and_trend() -> None:
    start = NOW - timedelta(days=7)  # midpoint: 3.5 days ago
    questions = [
        asked("Can I pay with bitcoin", 6, faq="payment-methods", score=0.41),
        asked("can I  pay with bitcoin", 1, faq="payment-methods", score=0.44),
        asked("do you take crypto", 1, faq="payment-methods", score=0.39),
        asked("do you take crypto", 0.5),
        asked("my car was towed", 5, faq="repossession", score=0.3, kind="handoff"),
        asked("the car got repossessed", 6, kind="feedback"),
        asked("the car got repossessed", 4),
        asked("车被拖走了怎么办", 2, lang="zh", kind="fallback"),
    ]
    found = cluster(questions, encode, start=start, end=NOW)
    assert [(c.lang, c.count) for c in found] == [("en", 4), ("en", 3), ("zh", 1)]
    crypto, towed, zh = found
    # Identical wordings after cleaning are one; the most asked first.
    assert set(crypto.wordings) == {"Can I pay with bitcoin", "can I  pay with bitcoin", "do you take crypto"}
    assert crypto.wordings[0] == "do you take crypto"
    assert (crypto.nearest_faq, crypto.nearest_score) == ("payment-methods", 0.44)
    assert (crypto.earlier, crypto.later, crypto.trend) == (1, 3, "rising")
    assert (towed.earlier, towed.later, towed.trend) == (3, 0, "falling")
    assert towed.kinds == {"handoff": 1, "feedback": 1, "none": 1}
    assert (zh.nearest_faq, zh.trend) == (None, "steady")


def test_stubs_are_valid_faq_files_and_are_not_overwritten(tmp_path: Path) -> None:
    found = cluster([asked("can i pay with bitcoin", 1, faq="payment-methods", score=0.41),
                     asked("do you take crypto", 1), asked("车被拖走了怎么办", 1, lang="zh")],
                    encode, start=NOW - timedelta(days=7), end=NOW)
    written = write_stubs(found, tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "en/draft-can-i-pay-with-bitcoin.md", "zh/draft-zh-2.md"]
    en, issues = parse_faq(written[0].read_text("utf-8"), "en/draft-can-i-pay-with-bitcoin.md", "en")
    assert issues == [] and en is not None
    assert en.id == "draft-can-i-pay-with-bitcoin" and en.title == "can i pay with bitcoin"
    assert en.questions == ("do you take crypto",) and en.tags == ("unanswered",)
    assert "payment-methods (0.41)" in en.answer and "2 times" in en.answer
    zh_text = (tmp_path / "zh" / "draft-zh-2.md").read_text("utf-8")
    assert "title: 车被拖走了怎么办" in zh_text and "待办" in zh_text
    (tmp_path / "zh" / "draft-zh-2.md").write_text("editor's work", encoding="utf-8")
    assert write_stubs(found, tmp_path) == []
    assert (tmp_path / "zh" / "draft-zh-2.md").read_text("utf-8") == "editor's work"
    assert stub_id(found[0], 7) == "draft-can-i-pay-with-bitcoin"


def test_cli_needs_a_database_and_explains_a_bad_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    out, err = io.StringIO(), io.StringIO()
    assert main(["unanswered", "--since", "7d"], stdout=out, stderr=err) == 2
    assert "--database-url" in err.getvalue()
    err = io.StringIO()
    assert main(["unanswered", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}"], stdout=out, stderr=err) == 3
    assert "turn_outcomes" in err.getvalue()
    err = io.StringIO()
    assert main(["unanswered", "--since", "soon", "--database-url", "sqlite://"], stdout=out, stderr=err) == 3
    assert "like 7d or 12h" in err.getvalue()


def test_hybrid_features_weigh_dense_and_lexical_like_search() -> None:
    texts = ["can i pay with bitcoin", "my car was towed"]
    # Orthogonal dense vectors, the same words: w * 0 + (1 - w) * 1.
    same_words = features(["pay bitcoin", "bitcoin pay"], lambda t: encode(texts), str.split, 0.1)
    assert float(same_words[0] @ same_words[1]) == pytest.approx(0.9, abs=1e-6)
    # No word in common, the same dense vector: w * 1 + (1 - w) * 0.
    same_meaning = features(["pay bitcoin", "crypto accepted"], lambda t: encode(texts[:1] * 2), str.split, 0.7)
    assert float(same_meaning[0] @ same_meaning[1]) == pytest.approx(0.7, abs=1e-6)
    dense_only = features(texts, encode, None, 0.1)
    assert np.allclose(dense_only, encode(texts))
