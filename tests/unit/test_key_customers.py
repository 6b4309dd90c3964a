"""Key customers reach their own manager first; every verified borrower's packet says who they are and
why the chat went where it went; agents read loan data only for chats they may view."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from agent_support import PASSWORD, entry_of, make_agent, make_settings, tx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import undefer

from handoff.app import create_app
from handoff.infra.clock import FakeClock
from handoff.loans.demo import seed_demo_loans
from handoff.models import Agent, QueueEntry
from handoff.queue import claims

WAIT_S = 60


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(engine: Engine, database_url: str, clock: FakeClock) -> Iterator[TestClient]:
    seed_demo_loans(engine, today=clock.now().date())
    settings = make_settings(DATABASE_URL=database_url, KEY_CUSTOMER_MANAGER_WAIT_S=WAIT_S)
    with TestClient(create_app(settings, engine, clock=clock)) as client:
        yield client


def hand_off(api: TestClient, borrower_id: str | None, lang: str = "en") -> str:
    body: dict[str, Any] = {"lang": lang}
    if borrower_id:
        body["identity_token"] = api.post("/api/identity/demo/token", json={"borrower_id": borrower_id}).json()["token"]
    created = api.post("/api/conversations", json=body).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    assert api.post(f"/api/conversations/{created['id']}/handoff", headers=auth).status_code == 200
    return str(created["id"])


def entry_for(engine: Engine, conversation_id: str) -> QueueEntry:
    return tx(engine, lambda s: s.scalars(
        select(QueueEntry).options(undefer(QueueEntry.packet)).where(QueueEntry.conversation_id == conversation_id)
    ).one())


def take_next(engine: Engine, clock: FakeClock, username: str) -> str | None:
    def work(session: Any) -> str | None:
        agent = session.scalars(select(Agent).where(Agent.username == username)).one()
        taken = claims.take_next(session, agent=agent, clock=clock)
        return taken.conversation_id if taken else None

    return tx(engine, work)


def test_a_key_customer_waits_for_their_online_manager_first_then_goes_to_the_pool(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    manager = make_agent(engine, clock, "manager")
    make_agent(engine, clock, "other")
    ordinary = hand_off(api, None)
    vip = hand_off(api, "demo-jordan")
    entry = entry_for(engine, vip)
    assert (entry.priority, entry.preferred_agent_id) == ("high", manager.id)
    assert entry.packet["borrower"]["routing"] == "manager_first"
    assert entry.packet["borrower"]["tier"] == "vip" and entry.packet["borrower"]["name"] == "Jordan Lee"
    # Another agent skips the reserved chat and gets the ordinary one, even though the VIP ranks higher.
    assert take_next(engine, clock, "other") == ordinary
    assert take_next(engine, clock, "manager") == vip
    assert entry_of(engine, entry.id).assigned_agent_id == manager.id


def test_after_the_wait_anyone_may_take_the_key_customers_chat(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    make_agent(engine, clock, "manager")
    make_agent(engine, clock, "other")
    vip = hand_off(api, "demo-chen", lang="zh")
    assert take_next(engine, clock, "other") is None
    clock.advance(WAIT_S + 1)
    assert take_next(engine, clock, "other") == vip


def test_with_the_manager_away_a_key_customer_goes_to_the_pool_with_high_priority(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    make_agent(engine, clock, "manager", online=False)
    make_agent(engine, clock, "other")
    vip = hand_off(api, "demo-jordan")
    entry = entry_for(engine, vip)
    assert (entry.priority, entry.preferred_agent_id) == ("high", None)
    assert entry.packet["borrower"]["routing"] == "pool_manager_away"
    assert take_next(engine, clock, "other") == vip


def test_a_verified_standard_borrower_keeps_the_priority_and_the_packet_says_who_they_are(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    entry = entry_for(engine, hand_off(api, "demo-alex"))
    assert entry.priority == "normal"
    assert entry.packet["borrower"] == {
        "borrower_id": "demo-alex", "verified": True, "name": "Alex Morgan", "tier": "standard", "manager": None,
        "time_zone": "America/Los_Angeles", "routing": "pool",
    }
    assert "borrower" not in entry_for(engine, hand_off(api, None)).packet


def login(api: TestClient, username: str) -> None:
    assert api.post("/api/agent/login", json={"username": username, "password": PASSWORD}).status_code == 200


def test_agents_see_the_borrower_and_loans_only_for_chats_they_may_view(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    make_agent(engine, clock, "ann", languages="en")
    make_agent(engine, clock, "zhou", languages="zh")
    first = hand_off(api, "demo-wang", lang="zh")
    second = hand_off(api, "demo-wang", lang="zh")
    login(api, "zhou")
    view = api.get(f"/api/agent/conversations/{second}/borrower").json()
    assert view["verified"] and view["profile"]["name"] == "王小明"
    assert view["profile"]["phone"].endswith("0100") and "415" not in view["profile"]["phone"]
    assert [loan["masked_number"] for loan in view["loans"]] == ["****3105"]
    assert [c["id"] for c in view["past_conversations"]] == [first]
    login(api, "ann")  # English only: may not open a Chinese chat, so no loan data either
    assert api.get(f"/api/agent/conversations/{second}/borrower").status_code == 403
