"""The dashboard and survey APIs over HTTP (in-process): roles, filters as query parameters, CSV, and the
borrower's rating after a real claim-and-close, counted for the agent who closed the chat."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from agent_support import PASSWORD, make_agent, make_settings
from dashboard_fixture import NOW, build
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from handoff.app import create_app
from handoff.infra.clock import FakeClock
from handoff.infra.db import session_scope
from handoff.models import SurveyResponse
from knowledge_base import KBSettings


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def api(engine: Engine, clock: FakeClock, tmp_path: Any) -> Iterator[TestClient]:
    # The app's SLA pass runs on the fixture's rows (on the leader, at start-up and every few seconds). With
    # the default 180 s reply target it would take c7 back from Alice at noon (the borrower wrote at 11:55);
    # 15 minutes keep the hand-made day as it is, so that every figure is the one computed by hand.
    settings = make_settings(DATABASE_URL=str(engine.url), AGENT_RESPONSE_TARGET_S=900)
    app = create_app(settings, engine, kb_settings=KBSettings(index_dir=tmp_path / "no-index"), clock=clock)
    with TestClient(app) as client:
        yield client


def login(api: TestClient, username: str) -> dict[str, str]:
    response = api.post("/api/agent/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    api.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_dashboard_is_for_supervisors_and_admins(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    make_agent(engine, clock, "ann")
    make_agent(engine, clock, "sam", role="supervisor")
    assert api.get("/api/agent/dashboard").status_code == 401
    agent = login(api, "ann")
    for path in ("/api/agent/dashboard", "/api/agent/dashboard/waiting", "/api/agent/dashboard/agents.csv"):
        assert api.get(path, headers=agent).status_code == 403, path
    assert api.get("/api/agent/dashboard", headers=login(api, "sam")).status_code == 200


def test_overview_and_csv_with_filters(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    ids = build(engine)
    make_agent(engine, clock, "sam", role="supervisor")
    sup = login(api, "sam")
    body = api.get("/api/agent/dashboard", params={"from": "2026-01-05", "to": "2026-01-05"}, headers=sup).json()
    assert body["containment"]["rate"] == 0.2857 and body["waiting"]["count"] == 2
    assert body["first_response"]["p90_s"] == 660.0 and body["satisfaction"]["average"] == 3.5
    assert [a["name"] for a in body["agents"]] == ["Alice", "Bob"] and len(body["hours"]) == 168
    zh = api.get("/api/agent/dashboard", params={"from": "2026-01-05", "to": "2026-01-05", "lang": "zh"},
                 headers=sup).json()
    assert zh["waiting"]["oldest_entry_id"] == ids["c6_entry"] and zh["containment"]["conversations"] == 2
    csv = api.get("/api/agent/dashboard/reasons.csv", params={"from": "2026-01-05", "to": "2026-01-05"},
                  headers=sup)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[:2] == ["reason,count", "explicit_request,2"]
    assert api.get("/api/agent/dashboard/nope.csv", headers=sup).status_code == 422
    backwards = api.get("/api/agent/dashboard", params={"from": "2026-01-06", "to": "2026-01-05"}, headers=sup)
    assert backwards.status_code == 422 and backwards.json()["error"]["code"] == "invalid_input"
    assert api.get("/api/agent/dashboard", params={"lang": "fr"}, headers=sup).status_code == 422
    east = api.get("/api/agent/dashboard", params={"from": "2026-01-05", "to": "2026-01-05", "team": "east"},
                   headers=sup).json()
    assert east["range"]["team"] == "east" and east["teams"] == ["east", "west"]
    assert east["first_response"]["p90_s"] == 660.0 and [a["name"] for a in east["agents"]] == ["Alice"]
    assert east["containment"]["conversations"] == 7  # the bot's figures belong to no team
    west_csv = api.get("/api/agent/dashboard/agents.csv", params={"from": "2026-01-05", "to": "2026-01-05",
                                                                 "team": "west"}, headers=sup).text.splitlines()
    assert len(west_csv) == 2 and ",Bob,1," in west_csv[1]
    assert api.get("/api/agent/dashboard", params={"team": "x" * 33}, headers=sup).status_code == 422


def borrower(api: TestClient, lang: str) -> tuple[str, dict[str, str]]:
    created = api.post("/api/conversations", json={"lang": lang}).json()
    return created["id"], {"Authorization": f"Bearer {created['token']}"}


@pytest.mark.parametrize(("lang", "comment", "stored"), [
    ("en", "Quick and kind, call me on 415-555-0134", "Quick and kind, call me on"),
    ("zh", "客服很耐心，谢谢", "客服很耐心，谢谢"),
])
def test_survey_after_an_agent_closed_the_chat(api: TestClient, engine: Engine, clock: FakeClock, lang: str,
                                               comment: str, stored: str) -> None:
    cid, headers = borrower(api, lang)
    assert api.get(f"/api/conversations/{cid}/survey", headers=headers).json() == {
        "offered": False, "answered": False, "rating": None}
    refused = api.post(f"/api/conversations/{cid}/survey", json={"rating": 5}, headers=headers)
    assert refused.status_code == 409  # nobody closed it yet
    assert api.post(f"/api/conversations/{cid}/handoff", headers=headers).status_code == 200
    ann = make_agent(engine, clock, "ann")
    agent = login(api, "ann")
    assert api.post("/api/agent/queue/next", headers=agent).status_code == 200
    assert api.post(f"/api/agent/conversations/{cid}/messages", json={"text": "Hello"}, headers=agent).status_code \
        == 200
    closed = api.post(f"/api/agent/conversations/{cid}/close", json={"resolution_code": "resolved"}, headers=agent)
    assert closed.status_code == 200, closed.text
    assert api.get(f"/api/conversations/{cid}/survey", headers=headers).json()["offered"] is True
    assert api.post(f"/api/conversations/{cid}/survey", json={"rating": 6}, headers=headers).status_code == 422
    rated = api.post(f"/api/conversations/{cid}/survey", json={"rating": 4, "comment": comment}, headers=headers)
    assert rated.status_code == 201 and rated.json() == {"offered": True, "answered": True, "rating": 4}
    again = api.post(f"/api/conversations/{cid}/survey", json={"rating": 1}, headers=headers)
    assert again.status_code == 409
    with session_scope(engine) as s:
        row = s.scalars(select(SurveyResponse)).one()
        assert (row.rating, row.agent_id, row.lang) == (4, ann.id, lang)
        assert row.comment.startswith(stored) and "415-555-0134" not in row.comment


def test_no_survey_when_the_borrower_left_the_queue(api: TestClient) -> None:
    cid, headers = borrower(api, "en")
    api.post(f"/api/conversations/{cid}/handoff", headers=headers)
    api.post(f"/api/conversations/{cid}/leave-queue", headers=headers)
    assert api.get(f"/api/conversations/{cid}/survey", headers=headers).json()["offered"] is False
