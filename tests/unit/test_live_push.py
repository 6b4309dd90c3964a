"""Live-chat pushes queued by the agent operations and decided at send time (handoff.conversations.pushes),
against a real HTTP gateway that checks signatures (tests/gateway_support.py); and the open-socket registry
across replicas (handoff.infra.sockets, with TEST_REDIS_URL)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from agent_support import bearer, make_agent, make_settings, token_for, tx, waiting_borrower
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from gateway_support import Gateway, notifier_settings
from sqlalchemy import Engine, select

from handoff.app import create_app
from handoff.conversations.pushes import AGENT_JOINED, AGENT_REPLY, prepare_send, preview
from handoff.infra import notifier
from handoff.infra.clock import FakeClock
from handoff.infra.secretbox import SecretBox
from handoff.infra.sockets import SocketPresence
from handoff.models import Conversation, Notification, PushDevice, ReminderConsent

IOS = "e5" * 32
WEB = "https://push.example.com/sub/abcdef0123456789"


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    found = Gateway()
    yield found
    found.close()


def _app(engine: Engine, clock: FakeClock, gateway: Gateway | None, **settings: Any) -> TestClient:
    notify = notifier_settings(gateway.url if gateway else None, NOTIFY_INTERVAL_S=3600)  # the test sends
    return TestClient(create_app(make_settings(DATABASE_URL=str(engine.url), **settings), engine, clock=clock,
                                 notifier_settings=notify))


def _device(api: TestClient, cid: str, token: str, **body: Any) -> dict[str, Any]:
    created = api.post(f"/api/conversations/{cid}/devices", headers=bearer(token),
                       json={"platform": "ios", "push_token": IOS, "app_version": "1.0", **body})
    assert created.status_code == 201, created.text
    return dict(created.json())


def _claim_and_reply(api: TestClient, agent_token: str, cid: str, text: str, message_id: str = "r1") -> None:
    entry = next(e for e in api.get("/api/agent/queue", headers=bearer(agent_token)).json()["entries"]
                 if e["conversation_id"] == cid)
    assert api.post(f"/api/agent/queue/{entry['id']}/claim", headers=bearer(agent_token)).status_code == 200
    sent = api.post(f"/api/agent/conversations/{cid}/messages", headers=bearer(agent_token),
                    json={"text": text, "client_message_id": message_id})
    assert sent.status_code == 200, sent.text


def _notifications(engine: Engine, cid: str) -> list[Notification]:
    def work(s: Any) -> list[Notification]:
        rows = list(s.scalars(select(Notification).where(Notification.conversation_id == cid)
                              .order_by(Notification.id)).all())
        s.expunge_all()
        return rows
    return tx(engine, work)


def _deliver(api: TestClient) -> int:
    svc = api.app.state.services  # type: ignore[attr-defined]
    return int(api.portal.call(lambda: notifier.deliver_due(svc, prepare=prepare_send)))  # type: ignore[union-attr]


def test_join_and_reply_are_pushed_with_tokens_filled_in_at_send_time(
    engine: Engine, clock: FakeClock, gateway: Gateway
) -> None:
    make_agent(engine, clock, "lin")
    with _app(engine, clock, gateway) as api:
        cid, token = waiting_borrower(api, "zh")
        _device(api, cid, token)
        _device(api, cid, token, platform="web", push_token=WEB, lang="en")
        agent = token_for(api, "lin")
        _claim_and_reply(api, agent, cid, "请确认尾号 4111 1111 1111 1111 的卡")
        again = api.post(f"/api/agent/conversations/{cid}/messages", headers=bearer(agent),
                                json={"text": "retried", "client_message_id": "r1"})  # the same id: no new push
        assert again.status_code == 200
        stored = _notifications(engine, cid)
        # One per event and device language; tokens are not stored in the notification.
        assert [(n.event, n.payload["message"]["lang"]) for n in stored] == [
            (AGENT_JOINED, "en"), (AGENT_JOINED, "zh"), (AGENT_REPLY, "en"), (AGENT_REPLY, "zh")]
        assert all(IOS not in str(n.payload) and WEB not in str(n.payload) for n in stored)
        assert _deliver(api) == 4
    assert gateway.bad_signatures == 0
    bodies = [a["body"] for a in gateway.accepted]
    tokens = {b["message"]["lang"]: [d["push_token"] for d in b["data"]["devices"]] for b in bodies}
    assert tokens == {"zh": [IOS], "en": [WEB]}
    reply_zh = next(b for b in bodies if b["event"] == AGENT_REPLY and b["message"]["lang"] == "zh")
    assert reply_zh["message"] == {"lang": "zh", "title": "Lin回复了您", "body": "请确认尾号 [CARD ****••••] 的卡"}
    assert all(n.status == "sent" for n in _notifications(engine, cid))


def test_an_open_socket_skips_the_push_and_a_removed_device_is_left_out(
    engine: Engine, clock: FakeClock, gateway: Gateway
) -> None:
    make_agent(engine, clock, "ann")
    with _app(engine, clock, gateway) as api:
        cid, token = waiting_borrower(api)
        device = _device(api, cid, token)
        agent = token_for(api, "ann")
        with api.websocket_connect(f"/ws/conversations/{cid}") as ws:
            ws.send_json({"type": "auth", "token": token, "after": 0})
            while ws.receive_json()["type"] != "ready":
                pass
            _claim_and_reply(api, agent, cid, "hello")
            assert _deliver(api) == 0
        assert [(n.status, n.last_error) for n in _notifications(engine, cid)] == [("skipped", "socket_open")] * 2
        # Socket closed now: the next reply is pushed - unless the device was unregistered before the send.
        api.post(f"/api/agent/conversations/{cid}/messages", headers=bearer(agent),
                 json={"text": "are you there?", "client_message_id": "r2"})
        assert api.delete(f"/api/conversations/{cid}/devices/{device['id']}", headers=bearer(token)).status_code == 204
        assert _deliver(api) == 0
        assert _notifications(engine, cid)[-1].last_error == "no_devices"
    assert gateway.accepted == []


def test_nothing_is_queued_without_gateway_devices_consent_or_the_setting(
    engine: Engine, clock: FakeClock, gateway: Gateway
) -> None:
    make_agent(engine, clock, "bo", max_concurrent=10)
    with _app(engine, clock, None) as api:  # no NOTIFY_GATEWAY_URL
        cid, token = waiting_borrower(api)
        _device(api, cid, token)
        _claim_and_reply(api, token_for(api, "bo"), cid, "hi")
        assert _notifications(engine, cid) == []
    with _app(engine, clock, gateway, PUSH_LIVE_CHAT=False) as api:
        cid, token = waiting_borrower(api)
        _device(api, cid, token, push_token="f6" * 32)
        _claim_and_reply(api, token_for(api, "bo"), cid, "hi")
        assert _notifications(engine, cid) == []
    with _app(engine, clock, gateway) as api:
        cid, _token = waiting_borrower(api)  # no device
        _claim_and_reply(api, token_for(api, "bo"), cid, "hi")
        assert _notifications(engine, cid) == []
        # A signed-in borrower who opted out of the push channel is not pushed.
        cid, token = waiting_borrower(api)
        _device(api, cid, token, push_token="a7" * 32)
        tx(engine, lambda s: _sign_in_and_opt_out(s, cid))
        _claim_and_reply(api, token_for(api, "bo"), cid, "hi")
        assert _notifications(engine, cid) == []


def _sign_in_and_opt_out(session: Any, cid: str) -> None:
    conversation = session.get(Conversation, cid)
    conversation.borrower_id = "B-77"
    session.add(ReminderConsent(borrower_id="B-77", channel="push", granted=False, source="app_settings"))


@pytest.mark.parametrize(
    ("text", "chars", "shown"),
    [
        ("Your balance is $12,000.50 as of 3/4", 80, "Your balance is $••,•••.•• as of •/•"),
        ("Call us", 0, ""),
        ("a " * 50, 10, "a a a a a…"),
        ("Reference NW-20240117 and card 4111111111111111", 80, "Reference [LOAN ****••••] and card [CARD ****••••]"),
        ("您的还款日是 12 月 15 日", 80, "您的还款日是 •• 月 •• 日"),
    ],
)
def test_the_preview_hides_every_digit_and_is_short(text: str, chars: int, shown: str) -> None:
    assert preview(text, chars) == shown


async def test_a_socket_on_one_replica_counts_as_open_on_the_other(redis_url: str) -> None:
    one, two = aioredis.from_url(redis_url), aioredis.from_url(redis_url)
    a, b = SocketPresence(one, ttl_s=1.0, refresh_s=0.2), SocketPresence(two, ttl_s=1.0, refresh_s=0.2)
    try:
        socket = await a.opened("conv-x")
        assert await b.is_open("conv-x") and not await b.is_open("conv-y")
        await a.closed("conv-x", socket)
        assert not await b.is_open("conv-x")
        # A replica that dies without closing its socket stops counting once the entry expires.
        await a.opened("conv-z")
        assert await b.is_open("conv-z")
        await asyncio.sleep(1.2)
        assert not await b.is_open("conv-z")
    finally:
        await one.aclose()
        await two.aclose()


async def test_without_redis_a_replica_counts_its_own_sockets_and_a_broken_redis_counts_as_away() -> None:
    local = SocketPresence()
    socket = await local.opened("c1")
    assert await local.is_open("c1")
    await local.closed("c1", socket)
    assert not await local.is_open("c1")

    broken = aioredis.from_url("redis://127.0.0.1:9/0", socket_connect_timeout=0.5)
    try:
        down = SocketPresence(broken)
        socket = await down.opened("c2")  # does not raise: the socket itself keeps working
        assert not await down.is_open("c2")
        await down.closed("c2", socket)
    finally:
        await broken.aclose()


def test_a_token_that_cannot_be_decrypted_leaves_out_its_device_only(
    engine: Engine, clock: FakeClock, gateway: Gateway
) -> None:
    make_agent(engine, clock, "kai")
    with _app(engine, clock, gateway) as api:
        cid, token = waiting_borrower(api)
        lost = _device(api, cid, token)
        kept = _device(api, cid, token, platform="web", push_token=WEB)
        foreign = SecretBox([Fernet.generate_key().decode()]).encrypt(IOS)  # a key CONTACT_KEYS no longer has
        tx(engine, lambda s: setattr(s.get(PushDevice, lost["id"]), "token_sealed", foreign))
        _claim_and_reply(api, token_for(api, "kai"), cid, "hello")  # the reply itself never needs the keys
        assert _deliver(api) == 2
    assert [[d["device_id"] for d in a["body"]["data"]["devices"]] for a in gateway.accepted] == [[kept["id"]]] * 2


def test_a_reply_from_the_console_socket_and_a_supervisors_assignment_are_pushed_too(
    engine: Engine, clock: FakeClock, gateway: Gateway
) -> None:
    make_agent(engine, clock, "sue", role="supervisor")
    dan = make_agent(engine, clock, "dan")
    with _app(engine, clock, gateway) as api:
        cid, token = waiting_borrower(api, "zh")
        _device(api, cid, token)
        sue = token_for(api, "sue")
        entry = next(e for e in api.get("/api/agent/queue", headers=bearer(sue)).json()["entries"]
                     if e["conversation_id"] == cid)
        assigned = api.post(f"/api/agent/queue/{entry['id']}/assign", headers=bearer(sue), json={"agent_id": dan.id})
        assert assigned.status_code == 200, assigned.text
        with api.websocket_connect("/ws/agent") as ws:
            ws.send_json({"type": "auth", "token": token_for(api, "dan")})
            assert ws.receive_json()["type"] == "hello"
            ws.send_json({"type": "message", "conversation_id": cid, "text": "您好", "client_message_id": "w1"})
            ws.send_json({"type": "ping"})  # frames are handled in order: the pong comes after the reply
            while ws.receive_json()["type"] != "pong":
                pass
        assert _deliver(api) == 2
    assert [(a["body"]["event"], a["body"]["message"]["body"]) for a in gateway.accepted] == [
        (AGENT_JOINED, "Dan将为您服务，请打开应用继续对话。"), (AGENT_REPLY, "您好")]
