"""Issue 13, item 2: canned replies. Stored in the database (seeded by migration 0007 in both languages),
read by every agent in the chat's language, created / changed / deleted by supervisors only, each change
audited, and both languages required."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agent_support import PASSWORD, make_agent, make_settings, tx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from handoff.app import create_app
from handoff.infra.clock import FakeClock
from handoff.models import AuditEvent

NEW = {"shortcut": "late-fee", "title_en": "Late fee", "title_zh": "滞纳金",
       "text_en": "A late fee applies after the grace period.", "text_zh": "宽限期过后会收取滞纳金。"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(DATABASE_URL=str(engine.url)), engine, clock=clock)) as client:
        yield client


def _login(api: TestClient, username: str) -> dict[str, str]:
    response = api.post("/api/agent/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    api.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_defaults_are_seeded_in_both_languages_and_served_in_the_chats_language(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    make_agent(engine, clock, "ann")
    ann = _login(api, "ann")
    replies = api.get("/api/agent/canned-replies", headers=ann).json()["replies"]
    assert {"greeting", "checking", "closing"} <= {r["shortcut"] for r in replies}
    for reply in replies:
        assert reply["text_en"].isascii() and not reply["text_zh"].isascii()  # each really in its language
    zh = {r["shortcut"]: r for r in api.get("/api/agent/canned-replies?lang=zh", headers=ann).json()["replies"]}
    assert zh["closing"]["text"] == zh["closing"]["text_zh"] and zh["closing"]["title"] == zh["closing"]["title_zh"]
    en = {r["shortcut"]: r for r in api.get("/api/agent/canned-replies?lang=en", headers=ann).json()["replies"]}
    assert en["greeting"]["text"] == en["greeting"]["text_en"] and "{agent}" in en["greeting"]["text"]
    assert api.get("/api/agent/canned-replies?lang=fr", headers=ann).status_code == 422
    assert api.get("/api/agent/canned-replies").status_code == 401


def test_only_supervisors_manage_them_and_every_change_is_audited(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    make_agent(engine, clock, "ann")
    sue_id = make_agent(engine, clock, "sue", role="supervisor").id
    ann, sue = _login(api, "ann"), _login(api, "sue")
    assert api.post("/api/agent/supervisor/canned-replies", headers=ann, json=NEW).status_code == 403
    created = api.post("/api/agent/supervisor/canned-replies", headers=sue, json=NEW)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    assert api.post("/api/agent/supervisor/canned-replies", headers=sue, json=NEW).status_code == 409  # same key
    assert api.post("/api/agent/supervisor/canned-replies", headers=sue,
                    json={**NEW, "shortcut": "x", "text_zh": "  "}).status_code == 422  # both languages needed
    assert api.post("/api/agent/supervisor/canned-replies", headers=sue,
                    json={**NEW, "shortcut": "Bad Key"}).status_code == 422
    assert api.patch(f"/api/agent/supervisor/canned-replies/{rid}", headers=ann,
                     json={"text_en": "hacked"}).status_code == 403
    changed = api.patch(f"/api/agent/supervisor/canned-replies/{rid}", headers=sue,
                        json={"text_en": "A late fee applies 10 days after the due date."})
    assert changed.status_code == 200 and changed.json()["text_zh"] == NEW["text_zh"]
    listed = {r["id"]: r for r in api.get("/api/agent/canned-replies", headers=ann).json()["replies"]}
    assert listed[rid]["text_en"] == "A late fee applies 10 days after the due date."
    assert api.delete(f"/api/agent/supervisor/canned-replies/{rid}", headers=ann).status_code == 403
    assert api.delete(f"/api/agent/supervisor/canned-replies/{rid}", headers=sue).status_code == 204
    assert api.delete(f"/api/agent/supervisor/canned-replies/{rid}", headers=sue).status_code == 404
    assert rid not in {r["id"] for r in api.get("/api/agent/canned-replies", headers=ann).json()["replies"]}
    trail = tx(engine, lambda s: [(e.action, e.actor_id, (e.detail or {}).get("fields")) for e in s.scalars(
        select(AuditEvent).where(AuditEvent.action.like("canned_reply_%")).order_by(AuditEvent.id))])
    assert trail == [
        ("canned_reply_created", str(sue_id), ["shortcut", "title_en", "title_zh", "text_en", "text_zh"]),
        ("canned_reply_updated", str(sue_id), ["text_en"]),
        ("canned_reply_deleted", str(sue_id), []),
    ]
