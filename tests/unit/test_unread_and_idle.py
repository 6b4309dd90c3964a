"""Issue 13, item 2 (the server part): a borrower message in a held chat raises `chat_activity` for its
holder only, held chats carry unread counts and a preview, the read mark moves, and the holder is warned
before an idle requeue and told when it happens."""

from __future__ import annotations

from typing import Any

import pytest
from agent_support import PASSWORD, make_agent, make_settings, tx, waiting_chat
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from handoff.agents import operations
from handoff.app import create_app
from handoff.infra.clock import FakeClock
from handoff.models import Agent
from handoff.queue import sla
from handoff.queue.errors import WrongLanguageError

SETTINGS = make_settings(AGENT_RESPONSE_TARGET_S=180, AGENT_IDLE_WARNING_FRACTION=0.67, AGENT_PRESENCE_TIMEOUT_S=900)


class RecordingBus:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def publish_threadsafe(self, topic: str, event: dict[str, Any]) -> None:
        self.events.append((topic, event))


def _of_type(bus: RecordingBus, kind: str) -> list[dict[str, Any]]:
    return [e for _t, e in bus.events if e.get("type") == kind]


def test_holder_is_warned_before_the_idle_requeue_and_told_when_it_happens(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)
    ann = make_agent(engine, clock, "ann")
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=s.get(Agent, ann.id), clock=clock))
    clock.advance(100)  # < 0.67 * 180
    bus = RecordingBus()
    tx(engine, lambda s: sla.check(s, clock=clock, settings=SETTINGS), bus=bus)
    assert _of_type(bus, "idle_warning") == []
    clock.advance(21)  # 121 s >= 120.6 s
    bus = RecordingBus()
    tx(engine, lambda s: sla.check(s, clock=clock, settings=SETTINGS), bus=bus)
    [warning] = _of_type(bus, "idle_warning")
    assert warning["for_agent_id"] == ann.id and warning["conversation_id"] == conv_id
    assert warning["requeue_at"] == "2026-01-05T10:03:00+00:00"
    bus = RecordingBus()
    clock.advance(10)
    tx(engine, lambda s: sla.check(s, clock=clock, settings=SETTINGS), bus=bus)
    assert _of_type(bus, "idle_warning") == []  # once
    clock.advance(50)
    bus = RecordingBus()
    report = tx(engine, lambda s: sla.check(s, clock=clock, settings=SETTINGS), bus=bus)
    assert report.requeued == [conv_id]
    [told] = _of_type(bus, "chat_requeued")
    assert told == {"type": "chat_requeued", "for_agent_id": ann.id, "conversation_id": conv_id,
                    "entry_id": entry_id, "reason": "agent_idle"}


def test_unread_counts_previews_read_mark_and_the_holders_activity_event(engine: Engine) -> None:
    clock = FakeClock()
    settings = make_settings(DATABASE_URL=str(engine.url))
    ann = make_agent(engine, clock, "ann")
    make_agent(engine, clock, "bob")
    with TestClient(create_app(settings, engine, clock=clock)) as api:
        created = api.post("/api/conversations", json={"lang": "en"}).json()
        cid, auth = created["id"], {"Authorization": f"Bearer {created['token']}"}
        api.post(f"/api/conversations/{cid}/handoff", headers=auth)
        headers = {}
        for name in ("ann", "bob"):
            token = api.post("/api/agent/login", json={"username": name, "password": PASSWORD}).json()["token"]
            headers[name] = {"Authorization": f"Bearer {token}"}
        api.cookies.clear()
        api.post("/api/agent/queue/next", headers=headers["ann"])
        with api.websocket_connect("/ws/agent") as ann_ws, api.websocket_connect("/ws/agent") as bob_ws:
            for ws, name in ((ann_ws, "ann"), (bob_ws, "bob")):
                ws.send_json({"type": "auth", "token": headers[name]["Authorization"].split()[1]})
                assert ws.receive_json()["type"] == "hello"
            api.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": "Hello?? Is anyone there?"})
            event = ann_ws.receive_json()
            while event["type"] != "chat_activity":
                event = ann_ws.receive_json()
            assert event["for_agent_id"] == ann.id and event["preview"] == "Hello?? Is anyone there?"
            assert event["unread"] == 1
            bob_ws.send_json({"type": "ping"})
            seen = bob_ws.receive_json()
            while seen["type"] != "pong":
                assert seen["type"] != "chat_activity", "another agent's unread signal leaked"
                seen = bob_ws.receive_json()
        held = api.get("/api/agent/chats", headers=headers["ann"]).json()["entries"]
        assert [(e["conversation_id"], e["unread"], e["last_message"]) for e in held] == [
            (cid, 1, "Hello?? Is anyone there?")]
        last = api.get(f"/api/agent/conversations/{cid}", headers=headers["ann"]).json()["conversation"]["last_seq"]
        read = api.post(f"/api/agent/conversations/{cid}/read", headers=headers["ann"], json={"seq": last}).json()
        assert read["unread"] == 0
        assert api.post(f"/api/agent/conversations/{cid}/read", headers=headers["bob"],
                        json={"seq": last}).status_code == 403
        api.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": "still there?"})
        assert api.get("/api/agent/chats", headers=headers["ann"]).json()["entries"][0]["unread"] == 1
        api.post(f"/api/agent/conversations/{cid}/messages", headers=headers["ann"], json={"text": "Yes, here."})
        assert api.get("/api/agent/chats", headers=headers["ann"]).json()["entries"][0]["unread"] == 0


def test_a_transfer_respects_the_target_agents_languages(engine: Engine) -> None:
    clock = FakeClock()
    _conv_id, entry_id = waiting_chat(engine, clock, lang="zh")
    ann = make_agent(engine, clock, "ann")
    only_en = make_agent(engine, clock, "eve", languages="en")
    both = make_agent(engine, clock, "bob")
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=s.get(Agent, ann.id), clock=clock))
    with pytest.raises(WrongLanguageError, match="takes 'en'"):
        tx(engine, lambda s: operations.assign_chat(s, entry_id=entry_id, to_agent_id=only_en.id,
                                                    actor=s.get(Agent, ann.id), clock=clock))
    moved = tx(engine, lambda s: operations.assign_chat(s, entry_id=entry_id, to_agent_id=both.id,
                                                        actor=s.get(Agent, ann.id), clock=clock))
    assert moved["assigned_agent"]["id"] == both.id
