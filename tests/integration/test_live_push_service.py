"""Live-chat pushes end to end: the real service (`python -m handoff serve`) and a real HTTP push receiver
(aiohttp, on its own free port) that checks every request's HMAC signature the way docs/borrower-api.md tells
a gateway to. A borrower whose app has no socket open is pushed "an agent has joined" and the agent's reply,
in the conversation's language; a borrower with an open socket is pushed nothing. No Rasa is needed: the
borrower asks for a person with the button's route."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from service_process import ServiceProcess, create_agent, free_port, run_service
from sqlalchemy import create_engine
from sqlalchemy import text as sql
from websockets.asyncio.client import connect

from handoff.texts import text

pytestmark = pytest.mark.integration

SECRET = "push-gateway-secret-for-the-live-push-test"
PASSWORD = "live-push-agent-password"
IOS_TOKEN = "c3" * 32
ANDROID_TOKEN = "fcm_live-push:token.0123456789abcdef"


class Receiver:
    """The lender's push gateway: 204 for a well-signed, fresh request, 401 otherwise."""

    def __init__(self) -> None:
        self.accepted: list[dict[str, Any]] = []
        self.refused = 0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/push"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers.get("X-Handoff-Timestamp", "")
        expected = "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) < 300
        if not (fresh and hmac.compare_digest(expected, request.headers.get("X-Handoff-Signature", ""))):
            self.refused += 1
            return web.Response(status=401)
        self.accepted.append({"event": request.headers["X-Handoff-Event"],
                              "delivery": request.headers["X-Handoff-Delivery"], "body": json.loads(body)})
        return web.Response(status=204)

    def of(self, conversation_id: str) -> list[dict[str, Any]]:
        return [r for r in self.accepted if r["body"]["conversation_id"] == conversation_id]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/push", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", found.port).start()
    yield found
    await runner.cleanup()


@pytest.fixture
def service(tmp_path: Path, receiver: Receiver) -> Iterator[ServiceProcess]:
    with run_service(tmp_path, NOTIFY_GATEWAY_URL=receiver.url, NOTIFY_GATEWAY_SECRET=SECRET,
                     NOTIFY_INTERVAL_S="0.2", PUSH_PREVIEW_CHARS="40") as running:
        create_agent(running, username="mei", password=PASSWORD, display_name="Mei")
        yield running


async def _borrower(http: httpx.AsyncClient, lang: str, token: str, platform: str) -> tuple[str, dict[str, str], str]:
    created = (await http.post("/api/conversations", json={"lang": lang, "channel": "app"})).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    device = await http.post(f"/api/conversations/{created['id']}/devices", headers=auth,
                             json={"platform": platform, "push_token": token, "app_version": "4.2.0"})
    assert device.status_code == 201, device.text
    queued = await http.post(f"/api/conversations/{created['id']}/handoff", headers=auth)
    assert queued.status_code == 200 and queued.json()["state"] == "queued", queued.text
    return created["id"], auth, created["token"]


async def _claim_and_reply(agent: httpx.AsyncClient, conversation_id: str, reply: str) -> None:
    entries = (await agent.get("/api/agent/queue")).json()["entries"]
    entry = next(e for e in entries if e["conversation_id"] == conversation_id)
    claimed = await agent.post(f"/api/agent/queue/{entry['id']}/claim")
    assert claimed.status_code == 200, claimed.text
    sent = await agent.post(f"/api/agent/conversations/{conversation_id}/messages",
                            json={"text": reply, "client_message_id": uuid.uuid4().hex})
    assert sent.status_code == 200, sent.text


async def _settled(http: httpx.AsyncClient, receiver: Receiver, conversation_id: str, count: int) -> None:
    deadline = time.monotonic() + 20
    while len(receiver.of(conversation_id)) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def test_a_borrower_without_a_socket_is_pushed_the_join_and_the_reply_and_one_with_a_socket_nothing(
    service: ServiceProcess, receiver: Receiver,
) -> None:
    async with httpx.AsyncClient(base_url=service.url, timeout=30, trust_env=False) as http, \
            httpx.AsyncClient(base_url=service.url, timeout=30, trust_env=False) as agent:
        login = await agent.post("/api/agent/login", json={"username": "mei", "password": PASSWORD})
        assert login.status_code == 200, login.text

        # Away, in both languages: the app is in the background, no socket.
        away: dict[str, str] = {}
        for lang, token, platform in (("en", IOS_TOKEN, "ios"), ("zh", ANDROID_TOKEN, "android")):
            conversation_id, _auth, _token = await _borrower(http, lang, token, platform)
            away[lang] = conversation_id
            await _claim_and_reply(agent, conversation_id, "Your payment of $1,234.56 is due on 12/15, OK?")
        for lang, conversation_id in away.items():
            await _settled(http, receiver, conversation_id, 2)
            pushes = receiver.of(conversation_id)
            assert [p["event"] for p in pushes] == ["chat.agent_joined", "chat.agent_reply"], pushes
            joined, reply = (p["body"] for p in pushes)
            assert joined["message"] == {"lang": lang, "title": text("push_joined_title", lang),
                                         "body": text("push_joined_body", lang, agent="Mei")}
            assert reply["message"]["title"] == text("push_reply_title", lang, agent="Mei")
            # The preview hides every digit: no amount or date on a lock screen.
            assert reply["message"]["body"] == "Your payment of $•,•••.•• is due on…"
            (device,) = reply["data"]["devices"]
            assert device["push_token"] == (IOS_TOKEN if lang == "en" else ANDROID_TOKEN)
            assert reply["channels"] == ["push"] and reply["data"]["kind"] == "agent_reply"
            assert reply["data"]["seq"] > 0 and "device_ids" not in reply["data"]

        # Present: the chat is open on screen, so the socket carries everything and nothing is pushed.
        present, _auth, token = await _borrower(http, "zh", "d4" * 32, "ios")
        async with connect(service.url.replace("http://", "ws://") + f"/ws/conversations/{present}") as ws:
            await ws.send(json.dumps({"type": "auth", "token": token, "after": 0}))
            while json.loads(await ws.recv())["type"] != "ready":
                pass
            await _claim_and_reply(agent, present, "我看一下您的账户")
            seen = []
            while "agent" not in seen:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 15))
                if frame["type"] == "message":
                    seen.append(frame["message"]["sender"])
            # Both notifications are decided (skipped) before the socket closes.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and _statuses(service, present) != ["skipped", "skipped"]:
                await asyncio.sleep(0.2)
        assert _statuses(service, present) == ["skipped", "skipped"]
        assert receiver.of(present) == []
        assert receiver.refused == 0


def _statuses(service: ServiceProcess, conversation_id: str) -> list[str]:
    """The notifications' statuses, read from the service's own database."""
    engine = create_engine(service.env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(sql("SELECT status FROM notifications WHERE conversation_id = :c ORDER BY id"),
                                {"c": conversation_id}).all()
    finally:
        engine.dispose()
    return [str(r[0]) for r in rows]
