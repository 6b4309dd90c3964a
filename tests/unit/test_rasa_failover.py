"""RASA_URL with several Rasa servers: a turn moves to the next server only when the connection failed
(refused, or reset before any answer), never after a timeout, an error status or `200 []`; a server that
failed is avoided for a cool-down; hand-back, tracker reads and the health check use the list too.

The "Rasa servers" are real TCP servers on loopback speaking just enough HTTP/1.1 (`LocalRasa`): they
answer, reset the connection after reading the request (a process killed mid-turn), or never answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from borrower_helpers import ScriptedRasa, start
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine

from handoff.app import create_app
from handoff.config import Settings
from handoff.errors import BotUnavailableError
from handoff.rasa.client import RasaClient
from handoff.rasa.pool import RasaPool

TIMEOUT_S = 1.5


def closed_port_url() -> str:
    """A loopback port nothing listens on: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class LocalRasa:
    """A loopback HTTP server standing in for one Rasa server.

    mode "answer": 200 with `reply` on the webhook (`/version` and the tracker routes answer too);
    "reset": read the request, then close with RST and no response (Rasa killed mid-turn);
    "hang": read the request and never answer (a Rasa that is alive but stuck).
    """

    def __init__(self, mode: str = "answer", reply: Any = None, status: int = 200, delay_s: float = 0.0) -> None:
        self.mode = mode
        self.delay_s = delay_s  # "answer" after this long (a busy Rasa)
        self.in_flight = self.max_in_flight = 0
        self.reply = [{"text": "hello from rasa"}] if reply is None else reply
        self.status = status
        self.requests: list[dict[str, Any]] = []
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def start(self) -> LocalRasa:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.connections += 1
        try:
            method, path, body = await _read_request(reader)
            self.requests.append({"method": method, "path": path, "body": body})
            if self.mode == "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            if self.mode == "hang":
                await asyncio.sleep(3600)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                await asyncio.sleep(self.delay_s)
            finally:
                self.in_flight -= 1
            writer.write(_response(*self._answer(method, path)))
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()

    def _answer(self, method: str, path: str) -> tuple[int, Any]:
        if path.startswith("/version"):
            return 200, {"version": "3.6.21"}
        if method == "GET" and "/tracker" in path:
            return 200, {"events": [{"event": "user", "text": "earlier", "parse_data": {"intent": {"name": "x"}}}]}
        if "/tracker/events" in path:
            return 200, {}
        return self.status, self.reply


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, Any]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    request_line, *header_lines = head.split("\r\n")
    method, path, _version = request_line.split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
    raw = await reader.readexactly(int(headers.get("content-length", "0")))
    return method, path, json.loads(raw) if raw else None


def _response(status: int, body: Any) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {len(data)}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode() + data


@contextlib.asynccontextmanager
async def servers(*modes: str, **kwargs: Any) -> AsyncIterator[list[LocalRasa]]:
    running = [await LocalRasa(mode, **kwargs).start() for mode in modes]
    try:
        yield running
    finally:
        for server in running:
            await server.stop()


@contextlib.asynccontextmanager
async def client(*urls: str, cool_down_s: float = 30.0, max_in_flight: int = 0) -> AsyncIterator[RasaClient]:
    rasa = RasaClient(base_urls=list(urls), token="t", timeout_s=TIMEOUT_S, cool_down_s=cool_down_s,
                      max_in_flight=max_in_flight)
    try:
        yield rasa
    finally:
        await rasa.aclose()


async def test_at_most_max_in_flight_turns_reach_rasa_and_the_rest_wait_their_turn() -> None:
    async with servers("answer", delay_s=0.2) as (rasa,), client(rasa.url, max_in_flight=2) as bot:
        replies = await asyncio.gather(*(bot.send(conversation_id=f"c{i}", text="hi", lang="en") for i in range(6)))
        assert replies == [[{"text": "hello from rasa"}]] * 6
        assert rasa.max_in_flight == 2 and len(rasa.requests) == 6 and bot.waiting == 0


async def test_a_turn_that_cannot_get_a_slot_in_time_falls_back_without_reaching_rasa() -> None:
    async with servers("answer", delay_s=1.0) as (rasa,), client(rasa.url, max_in_flight=1) as bot:
        started = time.monotonic()
        results = await asyncio.gather(*(bot.send(conversation_id=f"c{i}", text="hi", lang="en") for i in range(3)),
                                       return_exceptions=True)
        assert time.monotonic() - started < TIMEOUT_S + 0.5
        assert results[0] == [{"text": "hello from rasa"}]
        errors = [str(r) for r in results[1:]]
        assert all(isinstance(r, BotUnavailableError) for r in results[1:]), results
        assert any("busy (no free slot)" in e for e in errors), errors
        assert len(rasa.requests) <= 2  # the third never cost Rasa anything
        assert bot.waiting == 0


async def test_one_url_works_as_before() -> None:
    async with servers("answer") as (rasa,), client(rasa.url) as bot:
        assert await bot.send(conversation_id="c1", text="hi", lang="en") == [{"text": "hello from rasa"}]
        assert rasa.requests[0]["body"] == {"sender": "c1", "message": "hi", "metadata": {"lang": "en"}}
    async with client(closed_port_url()) as bot:
        with pytest.raises(BotUnavailableError, match=r"rasa unreachable \(ClientConnectorError\)"):
            await bot.send(conversation_id="c1", text="hi", lang="en")


async def test_refused_connection_moves_the_turn_to_the_next_rasa_and_remembers() -> None:
    refused = closed_port_url()
    async with servers("answer") as (b,), client(refused, b.url) as bot:
        assert await bot.send(conversation_id="c1", text="hi", lang="en")
        assert bot.pool.order() == [b.url, refused]  # the dead one waits for its cool-down
        assert await bot.send(conversation_id="c1", text="again", lang="en")
        assert [r["body"]["message"] for r in b.requests] == ["hi", "again"]


async def test_reset_mid_request_moves_the_same_turn_to_the_next_rasa() -> None:
    async with servers("reset", "answer") as (a, b), client(a.url, b.url) as bot:
        started = time.monotonic()
        reply = await bot.send(conversation_id="c1", text="payoff?", lang="en")
        assert reply == [{"text": "hello from rasa"}] and time.monotonic() - started < TIMEOUT_S
        assert a.requests[0]["body"] == b.requests[0]["body"]  # the very same turn, once on each
        await bot.send(conversation_id="c1", text="next", lang="en")
        assert a.connections == 1, "a Rasa that failed is avoided during its cool-down"


async def test_a_failed_rasa_is_tried_first_again_after_its_cool_down() -> None:
    async with servers("reset", "answer") as (a, b), client(a.url, b.url, cool_down_s=0.2) as bot:
        await bot.send(conversation_id="c1", text="one", lang="en")
        a.mode = "answer"  # restarted
        await asyncio.sleep(0.3)
        await bot.send(conversation_id="c1", text="two", lang="en")
        assert [r["body"]["message"] for r in a.requests] == ["one", "two"]
        assert [r["body"]["message"] for r in b.requests] == ["one"]


async def test_a_timeout_is_never_retried_on_another_rasa() -> None:
    async with servers("hang", "answer") as (a, b), client(a.url, b.url) as bot:
        started = time.monotonic()
        with pytest.raises(BotUnavailableError, match="did not answer within"):
            await bot.send(conversation_id="c1", text="slow", lang="en")
        assert time.monotonic() - started < TIMEOUT_S + 0.5
        assert b.requests == [], "the first Rasa may still finish this turn: asking another could double it"
        assert bot.pool.order() == [a.url, b.url]


@pytest.mark.parametrize(("status", "reply"), [(500, {"error": "boom"}), (200, [])])
async def test_an_answer_that_is_a_failure_is_not_retried(status: int, reply: Any) -> None:
    async with servers("answer", "answer") as (a, b), client(a.url, b.url) as bot:
        a.status, a.reply = status, reply
        with pytest.raises(BotUnavailableError):
            await bot.send(conversation_id="c1", text="hi", lang="en")
        assert len(a.requests) == 1 and b.requests == []


async def test_every_rasa_down_is_bot_unavailable_within_the_budget() -> None:
    async with servers("reset") as (a,), client(closed_port_url(), a.url, closed_port_url()) as bot:
        started = time.monotonic()
        with pytest.raises(BotUnavailableError, match="rasa unreachable"):
            await bot.send(conversation_id="c1", text="hi", lang="en")
        assert time.monotonic() - started < TIMEOUT_S


async def test_hand_back_and_tracker_reads_fail_over_too() -> None:
    async with servers("reset", "answer") as (a, b), client(a.url, b.url) as bot:
        await bot.hand_back("c1", "fee waived")
        assert b.requests[0]["path"].startswith("/conversations/c1/tracker/events")
        assert b.requests[0]["body"][1] == {"event": "slot", "name": "handoff_note", "value": "fee waived"}
        assert (await bot.recent_turns("c1"))[0]["text"] == "earlier"


async def test_health_reports_each_rasa() -> None:
    refused = closed_port_url()
    async with servers("answer") as (b,):
        async with client(b.url) as bot:
            assert await bot.health() == {"ok": True, "version": "3.6.21"}  # one Rasa: the shape of old
        async with client(refused, b.url) as bot:
            await bot.send(conversation_id="c1", text="hi", lang="en")
            health = await bot.health()
    assert health["ok"] is False and health["available"] is True
    first, second = health["replicas"]
    assert first["ok"] is False and first["cooling_down"] is True
    assert second == {"ok": True, "version": "3.6.21", "cooling_down": False}


def test_pool_prefers_healthy_urls_in_configured_order() -> None:
    now = [0.0]
    pool = RasaPool(["http://a", "http://b/", "http://c"], cool_down_s=10, now=lambda: now[0])
    assert pool.order() == ["http://a", "http://b", "http://c"]
    pool.failed("http://a")
    now[0] = 1.0
    pool.failed("http://b")
    assert pool.order() == ["http://c", "http://a", "http://b"]
    pool.succeeded("http://b")
    assert pool.order() == ["http://b", "http://c", "http://a"]
    now[0] = 10.5
    assert pool.order() == ["http://a", "http://b", "http://c"]


def test_rasa_url_accepts_a_comma_separated_list() -> None:
    settings = Settings(RASA_URL=" http://127.0.0.1:5005/, http://10.0.0.12:5005 ")
    assert settings.rasa_urls == ["http://127.0.0.1:5005", "http://10.0.0.12:5005"]
    assert Settings(RASA_URL="http://127.0.0.1:5005").rasa_urls == ["http://127.0.0.1:5005"]
    with pytest.raises(ValidationError, match="RASA_URL"):
        Settings(RASA_URL="http://127.0.0.1:5005,127.0.0.1:5006")
    with pytest.raises(ValidationError, match="RASA_URL"):
        Settings(RASA_URL=" , ")


def test_the_service_answers_through_the_second_rasa(
    settings: Settings, engine: Engine, scripted_rasa: ScriptedRasa
) -> None:
    app = create_app(settings.model_copy(update={"RASA_URL": f"{closed_port_url()},{scripted_rasa.url}"}), engine)
    with TestClient(app) as api:
        cid, auth = start(api)
        turn = api.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": "hi"})
        assert turn.status_code == 200, turn.text
        assert [m["text"] for m in turn.json()["messages"]] == ["hi", "echo: hi"]
        health = api.get("/healthz").json()
        assert health["status"] == "degraded" and health["checks"]["rasa"]["available"] is True
