"""Issue 13, item 7: the supervisors' complaints page and its API. Agents and editors can neither list nor
change complaints; supervisors assign an owner, move the status on and record the outcome, each change audited
with what it was before; bad input gets an error that says what to send; `which=all` puts open ones first."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agent_support import PASSWORD, make_agent, make_settings, tx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from handoff.app import create_app
from handoff.infra.clock import FakeClock
from handoff.models import AuditEvent

LIST = "/api/agent/supervisor/complaints"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    settings = make_settings(DATABASE_URL=str(engine.url), BUSINESS_TZ="Asia/Shanghai")
    with TestClient(create_app(settings, engine, clock=clock)) as client:
        yield client


def _login(api: TestClient, username: str) -> dict[str, str]:
    response = api.post("/api/agent/login", json={"username": username, "password": PASSWORD})
    api.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _complain(api: TestClient, text: str, lang: str) -> str:
    created = api.post("/api/conversations", json={"lang": lang}).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    api.post(f"/api/conversations/{created['id']}/handoff", headers=auth)
    api.post(f"/api/conversations/{created['id']}/messages", headers=auth, json={"text": text})
    return str(created["id"])


def _audits(engine: Engine) -> list[AuditEvent]:
    return tx(engine, lambda s: list(s.scalars(select(AuditEvent).where(AuditEvent.action == "complaint_updated")
                                               .order_by(AuditEvent.id))))


@pytest.fixture
def people(api: TestClient, engine: Engine, clock: FakeClock) -> dict[str, dict[str, str]]:
    make_agent(engine, clock, "sue", role="supervisor")
    make_agent(engine, clock, "ann")
    make_agent(engine, clock, "ed", role="editor")
    return {name: _login(api, name) for name in ("sue", "ann", "ed")}


def test_agents_and_editors_cannot_list_or_change_complaints(
    api: TestClient, engine: Engine, people: dict[str, dict[str, str]]
) -> None:
    _complain(api, "I dispute this late fee and want to file a complaint", "en")
    complaint = api.get(LIST, headers=people["sue"]).json()["complaints"][0]
    for who in ("ann", "ed"):
        assert api.get(LIST, headers=people[who]).status_code == 403
        refused = api.patch(f"{LIST}/{complaint['id']}", headers=people[who], json={"status": "in_progress"})
        assert refused.status_code == 403, refused.text
    assert api.get(LIST, headers=people["sue"]).json()["complaints"][0]["status"] == "open"
    assert _audits(engine) == []
    assert api.get(LIST).status_code == 401


def test_a_supervisor_assigns_moves_on_and_resolves_and_each_change_is_audited(
    api: TestClient, engine: Engine, clock: FakeClock, people: dict[str, dict[str, str]]
) -> None:
    cid = _complain(api, "我要投诉，这笔滞纳金不合理", "zh")
    listed = api.get(LIST, headers=people["sue"]).json()
    assert listed["tz"] == "Asia/Shanghai"
    [complaint] = listed["complaints"]
    assert complaint["lang"] == "zh" and complaint["owner_name"] is None and complaint["overdue"] is False
    ann = next(a for a in api.get("/api/agent/supervisor/agents", headers=people["sue"]).json()["agents"]
               if a["username"] == "ann")
    ann_id = ann["id"]
    changed = api.patch(f"{LIST}/{complaint['id']}", headers=people["sue"],
                        json={"owner_agent_id": ann_id, "status": "in_progress"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["owner_name"] == ann["display_name"] and changed.json()["status"] == "in_progress"
    assert api.get(LIST, headers=people["sue"]).json()["complaints"][0]["owner_name"] == ann["display_name"]
    resolved = api.patch(f"{LIST}/{complaint['id']}", headers=people["sue"],
                         json={"outcome": "  Late fee waived; apology sent.  ", "status": "resolved"}).json()
    assert resolved["outcome"] == "Late fee waived; apology sent." and resolved["resolved_at"]
    first, second = _audits(engine)
    assert (first.actor_type, first.conversation_id, first.from_state, first.to_state) == ("agent", cid, "open", "in_progress")
    assert first.detail == {"complaint_id": complaint["id"], "reference": complaint["reference"],
                            "before": {"owner_agent_id": None, "status": "open"},
                            "owner_agent_id": ann_id, "status": "in_progress"}
    assert (second.from_state, second.to_state) == ("in_progress", "resolved")
    assert second.detail is not None and second.detail["outcome"] == "Late fee waived; apology sent."
    sue = tx(engine, lambda s: s.scalars(select(AuditEvent.actor_id).where(AuditEvent.id == first.id)).one())
    assert sue != str(ann_id)  # the supervisor who acted, not the owner


@pytest.mark.parametrize(("body", "status", "says"), [
    ({}, 422, "nothing to change"),
    ({"status": "closed"}, 422, "status"),
    ({"outcome": "   "}, 422, "outcome"),
    ({"status": "resolved"}, 422, "outcome"),
    ({"owner_agent_id": 9999}, 404, "agent not found"),
    ({"owner": 1}, 422, "owner"),
])
def test_bad_input_gets_an_error_that_says_what_to_send(
    api: TestClient, engine: Engine, people: dict[str, dict[str, str]], body: dict[str, object], status: int, says: str
) -> None:
    _complain(api, "I want to file a complaint about this charge", "en")
    complaint = api.get(LIST, headers=people["sue"]).json()["complaints"][0]
    response = api.patch(f"{LIST}/{complaint['id']}", headers=people["sue"], json=body)
    assert response.status_code == status, response.text
    assert says in response.json()["error"]["message"].lower()
    assert _audits(engine) == []
    assert api.get(LIST, headers=people["sue"]).json()["complaints"][0] == complaint


def test_an_editor_cannot_own_a_complaint_and_an_unknown_complaint_is_404(
    api: TestClient, people: dict[str, dict[str, str]]
) -> None:
    _complain(api, "I want to file a complaint about this charge", "en")
    complaint = api.get(LIST, headers=people["sue"]).json()["complaints"][0]
    editor = next(a for a in api.get("/api/agent/supervisor/agents", headers=people["sue"]).json()["agents"]
                  if a["role"] == "editor")
    refused = api.patch(f"{LIST}/{complaint['id']}", headers=people["sue"], json={"owner_agent_id": editor["id"]})
    assert refused.status_code == 422 and "cannot own" in refused.json()["error"]["message"]
    assert api.patch(f"{LIST}/9999", headers=people["sue"], json={"status": "open"}).status_code == 404


def test_all_lists_open_ones_first_overdue_leading_then_the_resolved(
    api: TestClient, clock: FakeClock, people: dict[str, dict[str, str]]
) -> None:
    _complain(api, "I want to file a complaint about this charge", "en")
    clock.advance(86400)
    _complain(api, "我要投诉", "zh")
    clock.advance(86400)
    _complain(api, "I dispute this late fee and want to file a complaint", "en")
    sue = _login(api, "sue")  # sessions end after a day idle: log in again after the clock moved
    first, second, third = api.get(LIST, headers=sue).json()["complaints"]
    api.patch(f"{LIST}/{first['id']}", headers=sue, json={"outcome": "Refunded.", "status": "resolved"})
    api.patch(f"{LIST}/{third['id']}", headers=sue, json={"status": "in_progress"})
    clock.advance(14 * 86400)  # the second is 15 days old now: overdue; the third is not yet
    listed = api.get(f"{LIST}?which=all", headers=_login(api, "sue")).json()["complaints"]
    assert [c["id"] for c in listed] == [second["id"], third["id"], first["id"]]
    assert [c["overdue"] for c in listed] == [True, False, False]


def test_the_page_is_served_and_names_its_module(api: TestClient) -> None:
    page = api.get("/console/complaints")
    assert page.status_code == 200 and "/static/complaints/complaints.js" in page.text


def _all_pages(api: TestClient, headers: dict[str, str], which: str, limit: int) -> list[list[int]]:
    pages: list[list[int]] = []
    cursor = ""
    while True:
        page = api.get(LIST, headers=headers, params={"which": which, "limit": limit, "cursor": cursor}).json()
        pages.append([c["id"] for c in page["complaints"]])
        if page["next_cursor"] is None:
            return pages
        cursor = page["next_cursor"]


def test_pages_follow_the_lists_order_across_ties_and_from_open_to_resolved(
    api: TestClient, clock: FakeClock, people: dict[str, dict[str, str]]
) -> None:
    for day in range(3):  # two complaints a day opened at the same instant: equal deadlines, ordered by id
        _complain(api, "I want to file a complaint about this charge", "en")
        _complain(api, "我要投诉，这笔费用不合理", "zh")
        clock.advance(86400)
    sue = _login(api, "sue")
    everything = api.get(LIST, headers=sue, params={"which": "all", "limit": 200}).json()["complaints"]
    for complaint in everything[1:4]:  # three resolved, two of them at the same instant
        api.patch(f"{LIST}/{complaint['id']}", headers=sue, json={"outcome": "Refunded.", "status": "resolved"})
        if complaint is everything[2]:
            clock.advance(60)
    clock.advance(13 * 86400)  # the first day's two are overdue now
    sue = _login(api, "sue")
    whole = api.get(LIST, headers=sue, params={"which": "all", "limit": 200}).json()
    assert whole["counts"] == {"open": 3, "overdue": 1, "resolved": 3} and whole["next_cursor"] is None
    order = [c["id"] for c in whole["complaints"]]
    assert [c["status"] for c in whole["complaints"]] == ["open"] * 3 + ["resolved"] * 3
    for limit in (1, 2, 4):
        pages = _all_pages(api, sue, "all", limit)
        assert [i for page in pages for i in page] == order, limit
        assert all(len(page) == limit for page in pages[:-1]) and 0 < len(pages[-1]) <= limit
    assert _all_pages(api, sue, "open", 2) == [order[:2], order[2:3]]
    first = api.get(LIST, headers=sue, params={"which": "overdue", "limit": 1}).json()
    assert [c["id"] for c in first["complaints"]] == order[:1] and first["next_cursor"] is None
    assert first["counts"] == whole["counts"]  # totals, whatever the filter and the page


@pytest.mark.parametrize("params", [{"cursor": "nonsense"}, {"cursor": "o.12.x"}, {"limit": 0}, {"limit": 201}])
def test_a_bad_cursor_or_limit_is_refused_with_what_to_send(
    api: TestClient, people: dict[str, dict[str, str]], params: dict[str, object]
) -> None:
    response = api.get(LIST, headers=people["sue"], params=params)
    assert response.status_code == 422, response.text
    assert ("cursor" if "cursor" in params else "limit") in response.json()["error"]["message"]
