"""The editors' unanswered-questions report over HTTP (in-process, the real embedder): who may read and file
it, the clusters of a date range with their counts, trend and nearest FAQ, and "answered by FAQ X" appending
the masked wordings to the test-questions file next to the FAQs (a copy of two real FAQs per test)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from agent_support import PASSWORD, make_agent, make_settings
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from handoff.app import create_app
from handoff.infra.clock import FakeClock
from handoff.infra.db import session_scope
from handoff.models import AuditEvent, Conversation, TurnOutcome
from knowledge_base import KBSettings

NOW = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)
FAQ = Path(__file__).resolve().parents[2] / "knowledge_base" / "faq"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "faq"
    for lang, name in (("en", "payment-methods.md"), ("en", "late-fee.md"), ("zh", "autopay-setup-zh.md")):
        (folder / lang).mkdir(parents=True, exist_ok=True)
        shutil.copy(FAQ / lang / name, folder / lang / name)
    return folder


@pytest.fixture
def api(engine: Engine, source: Path, tmp_path: Path) -> Iterator[TestClient]:
    kb = KBSettings(index_dir=tmp_path / "no-index", source=source)
    app = create_app(make_settings(DATABASE_URL=str(engine.url)), engine, kb_settings=kb, clock=FakeClock(NOW))
    with TestClient(app) as client:
        yield client


def login(api: TestClient, engine: Engine, username: str, role: str) -> dict[str, str]:
    make_agent(engine, FakeClock(NOW), username, role=role)
    response = api.post("/api/agent/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    api.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def asked(engine: Engine) -> None:
    """Last week (Mon 5 - Sun 11 January; the range's midpoint is Thursday 12:00): bitcoin asked 3 times,
    once early and twice late; the towed car twice, both early; a Chinese question once; and rows that are
    not unanswered (an answer, a helpful feedback) or outside the range (the week before)."""
    day = lambda d, h=10: datetime(2026, 1, d, h, tzinfo=UTC)
    with session_scope(engine) as s:
        s.add_all([Conversation(id=c, token_hash="0" * 64, lang=lang, last_seq=5)
                   for c, lang in (("e1", "en"), ("e2", "en"), ("z1", "zh"))])
        s.flush()
        s.add_all([
            TurnOutcome(conversation_id="e1", at=day(6), kind="none", question="can I pay with bitcoin",
                        faq_id="payment-methods", score=0.41),
            TurnOutcome(conversation_id="e1", at=day(9), kind="none", question="can I pay with bitcoin",
                        faq_id="payment-methods", score=0.44),
            TurnOutcome(conversation_id="e2", at=day(10), kind="clarify", question="do you take bitcoin payments",
                        faq_id="payment-methods", score=0.52),
            TurnOutcome(conversation_id="e2", at=day(5), kind="fallback", question="my car was towed"),
            TurnOutcome(conversation_id="e2", at=day(7), kind="none", question="my car got towed last night"),
            TurnOutcome(conversation_id="z1", at=day(8), kind="none", lang="zh", question="可以用比特币还款吗"),
            TurnOutcome(conversation_id="e1", at=day(8), kind="answer", question="late fee", faq_id="late-fee"),
            TurnOutcome(conversation_id="e1", at=day(8), kind="feedback", helped=True, question="late fee",
                        faq_id="late-fee"),
            TurnOutcome(conversation_id="e1", at=day(2), kind="none", question="a question from the week before"),
            # An older row stored before masking was as strict: filing masks it again.
            TurnOutcome(conversation_id="e2", at=day(10, 11), kind="none", question="call me on 415-555-0134"),
        ])


def test_roles(api: TestClient, engine: Engine) -> None:
    editor, agent = login(api, engine, "eve", "editor"), login(api, engine, "ann", "agent")
    supervisor, admin = login(api, engine, "sam", "supervisor"), login(api, engine, "ada", "admin")
    filing = {"lang": "en", "faq_id": "payment-methods", "wordings": ["anything"]}
    assert api.get("/api/agent/unanswered").status_code == 401
    # Agents see neither the report nor the FAQ list, and may not file.
    assert api.get("/api/agent/unanswered", headers=agent).status_code == 403
    assert api.get("/api/agent/unanswered/faqs", headers=agent).status_code == 403
    assert api.post("/api/agent/unanswered/answered", json=filing, headers=agent).status_code == 403
    # Editors see themselves and the report, none of the agents' pages or tables.
    assert api.get("/api/agent/me", headers=editor).json()["role"] == "editor"
    assert api.get("/api/agent/unanswered", headers=editor).status_code == 200
    for path in ("/api/agent/dashboard", "/api/agent/dashboard/agents.csv", "/api/agent/dashboard/waiting",
                 "/api/agent/queue", "/api/agent/supervisor/agents", "/api/agent/colleagues"):
        assert api.get(path, headers=editor).status_code == 403, path
    # Supervisors read the report but leave filing to editors; admins may do both.
    assert api.get("/api/agent/unanswered", headers=supervisor).status_code == 200
    assert api.post("/api/agent/unanswered/answered", json=filing, headers=supervisor).status_code == 403
    assert api.post("/api/agent/unanswered/answered", json=filing, headers=admin).status_code == 422  # never asked
    assert api.post("/api/agent/logout", headers=editor).status_code == 200


def test_report_clusters_a_week(api: TestClient, engine: Engine) -> None:
    asked(engine)
    editor = login(api, engine, "eve", "editor")
    body = api.get("/api/agent/unanswered", params={"from": "2026-01-05", "to": "2026-01-11"}, headers=editor).json()
    assert body["questions"] == 7  # the 7 unanswered rows of the week
    by_first = {c["examples"][0]: c for c in body["clusters"]}
    bitcoin = by_first["can I pay with bitcoin"]
    assert (bitcoin["lang"], bitcoin["count"], bitcoin["earlier"], bitcoin["later"]) == ("en", 3, 1, 2)
    assert bitcoin["examples"] == ["can I pay with bitcoin", "do you take bitcoin payments"]
    assert (bitcoin["nearest_faq"], bitcoin["nearest_score"]) == ("payment-methods", 0.52)
    assert bitcoin["kinds"] == {"none": 2, "clarify": 1} and bitcoin["answered_by"] is None
    towed = by_first["my car got towed last night"]  # a tie of one each: the KB's cleaned text, A to Z
    assert towed["examples"] == ["my car got towed last night", "my car was towed"]
    assert (towed["count"], towed["earlier"], towed["later"], towed["nearest_faq"]) == (2, 2, 0, None)
    assert body["clusters"][0]["examples"][0] == "can I pay with bitcoin"  # largest first
    zh = api.get("/api/agent/unanswered", params={"from": "2026-01-05", "to": "2026-01-11", "lang": "zh"},
                 headers=editor).json()
    assert [c["examples"] for c in zh["clusters"]] == [["可以用比特币还款吗"]]
    faqs = api.get("/api/agent/unanswered/faqs", params={"lang": "en"}, headers=editor).json()["faqs"]
    assert [f["id"] for f in faqs] == ["late-fee", "payment-methods"] and faqs[1]["title"]


def test_answered_by_an_faq_files_the_wordings(api: TestClient, engine: Engine, source: Path) -> None:
    asked(engine)
    editor = login(api, engine, "eve", "editor")
    wordings = ["can I pay with bitcoin", "do you take bitcoin payments", "call me on 415-555-0134"]
    filed = api.post("/api/agent/unanswered/answered", headers=editor,
                     json={"lang": "en", "faq_id": "payment-methods", "wordings": wordings})
    assert filed.status_code == 200, filed.text
    assert filed.json()["already_filed"] == 0 and len(filed.json()["added"]) == 3
    lines = (source / "test-questions.tsv").read_text("utf-8").splitlines()
    assert lines[:2] == ["can I pay with bitcoin\tpayment-methods\ten", "do you take bitcoin payments\tpayment-methods\ten"]
    assert lines[2].endswith("\tpayment-methods\ten") and "415-555-0134" not in lines[2] and len(lines) == 3
    again = api.post("/api/agent/unanswered/answered", headers=editor,
                     json={"lang": "en", "faq_id": "payment-methods", "wordings": wordings[:2]}).json()
    assert (again["added"], again["already_filed"]) == ([], 2)
    assert len((source / "test-questions.tsv").read_text("utf-8").splitlines()) == 3
    report = api.get("/api/agent/unanswered", params={"from": "2026-01-05", "to": "2026-01-11"}, headers=editor)
    bitcoin = next(c for c in report.json()["clusters"] if c["examples"][0] == "can I pay with bitcoin")
    assert (bitcoin["answered_by"], bitcoin["filed"]) == ("payment-methods", 2)
    with session_scope(engine) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "test_questions_added")).all()
        assert [e.detail["added"] for e in event] == [3, 0]


@pytest.mark.parametrize(("body", "status"), [
    ({"lang": "en", "faq_id": "no-such-faq", "wordings": ["can I pay with bitcoin"]}, 404),
    ({"lang": "zh", "faq_id": "payment-methods", "wordings": ["can I pay with bitcoin"]}, 422),  # not asked in zh
    ({"lang": "en", "faq_id": "payment-methods", "wordings": ["free text an editor made up"]}, 422),
    ({"lang": "en", "faq_id": "payment-methods", "wordings": []}, 422),
])
def test_answered_refuses(api: TestClient, engine: Engine, source: Path, body: dict[str, Any], status: int) -> None:
    asked(engine)
    editor = login(api, engine, "eve", "editor")
    assert api.post("/api/agent/unanswered/answered", json=body, headers=editor).status_code == status
    assert not (source / "test-questions.tsv").exists()


def test_range_ends_now(api: TestClient, engine: Engine) -> None:
    asked(engine)
    editor = login(api, engine, "eve", "editor")
    body = api.get("/api/agent/unanswered", headers=editor).json()  # default: the 7 days up to today (12 Jan)
    # 6 to 12 January: the towed car of 5 January is out, the rest of the week's 7 is in.
    assert body["range"]["to"] == NOW.isoformat() and body["questions"] == 6
    assert datetime.fromisoformat(body["range"]["from"]) == NOW.replace(hour=0) - timedelta(days=6)
