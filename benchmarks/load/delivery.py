"""Agent -> borrower delivery, measured from the client side: borrowers wait in the queue with a WebSocket
open, agents claim them and reply at a steady rate through the agent API (like the console, which POSTs
replies), and every reply is matched on the borrower's socket by its `client_message_id`.

Used by benchmarks/load/agent_delivery.py, which starts the service; this module only talks HTTP and
WebSocket to a `borrower_url` and an `agent_url` (two replicas, or the same one twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from stats import latency_summary
from websockets.asyncio.client import ClientConnection, connect

TARGET_P95_MS = 50.0
WARM_UP_PREFIX = "warm-"  # replies sent before the clock starts; matched but not counted
CONNECT_CONCURRENCY = 10
LAG_TICK_S = 0.01


@dataclass
class Reply:
    conversation_id: str
    agent: str
    sent_at: float  # perf_counter just before the POST
    http_s: float | None = None
    status: str = "pending"  # ok | http_<code> | <exception name>
    delivered_at: list[float] = field(default_factory=list)


@dataclass
class Borrower:
    id: str
    token: str
    ws: ClientConnection | None = None
    reader: asyncio.Task[None] | None = None
    last_seq: int = 0


@dataclass
class Tracker:
    """Every reply sent and every message each borrower socket received."""

    replies: dict[str, Reply] = field(default_factory=dict)
    misrouted: int = 0
    unknown: int = 0
    seq_duplicates: int = 0
    seq_gaps: int = 0

    def on_frame(self, borrower: Borrower, frame: dict[str, Any], at: float) -> None:
        if frame.get("type") != "message":
            return
        message = frame["message"]
        seq = int(message["seq"])
        if seq <= borrower.last_seq:
            self.seq_duplicates += 1  # the same stored message again
            return
        if seq != borrower.last_seq + 1:
            self.seq_gaps += 1
        borrower.last_seq = seq
        if message.get("sender") != "agent":
            return
        cmid = message.get("client_message_id") or ""
        reply = self.replies.get(cmid)
        if reply is None:
            self.unknown += not cmid.startswith(WARM_UP_PREFIX)
        elif reply.conversation_id != borrower.id:
            self.misrouted += 1
        else:
            reply.delivered_at.append(at)

    def outstanding(self) -> int:
        return sum(1 for r in self.replies.values() if r.status == "ok" and not r.delivered_at)

    def summary(self, *, elapsed_s: float, lost_after_s: float) -> dict[str, Any]:
        sent = [r for r in self.replies.values() if r.status == "ok"]
        delivered = [r for r in sent if r.delivered_at and r.delivered_at[0] - r.sent_at <= lost_after_s]
        delivery = [r.delivered_at[0] - r.sent_at for r in delivered]
        summary = latency_summary(delivery)
        return {
            "attempted": len(self.replies),
            "sent": len(sent),
            "send_errors": dict(Counter(r.status for r in self.replies.values() if r.status != "ok").most_common()),
            "delivered": len(delivered),
            "lost": len(sent) - len(delivered),
            # a message pushed twice, or one reply stored twice (under two sequence numbers)
            "duplicates": self.seq_duplicates
            + sum(len(r.delivered_at) - 1 for r in self.replies.values() if r.delivered_at),
            "misrouted": self.misrouted,
            "unknown": self.unknown,
            "seq_gaps": self.seq_gaps,
            "delivery_ms": summary,
            "http_ms": latency_summary([r.http_s for r in sent if r.http_s is not None]),
            # Deliveries that beat the HTTP answer: the push happens after the commit, before the response.
            "delivered_before_http_answer": sum(
                1 for r in delivered if r.http_s is not None and r.delivered_at[0] - r.sent_at < r.http_s
            ),
            "elapsed_s": round(elapsed_s, 2),
            "messages_per_s": round(len(delivered) / elapsed_s, 2) if elapsed_s > 0 else None,
            "target_p95_ms": TARGET_P95_MS,
            "meets_target": summary["p95"] is not None and summary["p95"] <= TARGET_P95_MS,
        }


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://", 1).rstrip("/")


async def open_borrower(http: httpx.AsyncClient, url: str, tracker: Tracker) -> Borrower:
    """A conversation that asked for a person, with its WebSocket open and caught up."""
    created = await http.post(f"{url}/api/conversations", json={"lang": "en", "channel": "web"})
    created.raise_for_status()
    borrower = Borrower(id=created.json()["id"], token=created.json()["token"])
    ws = await connect(f"{ws_url(url)}/ws/conversations/{borrower.id}", open_timeout=10)
    await ws.send(json.dumps({"type": "auth", "token": borrower.token, "after": 0}))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        tracker.on_frame(borrower, frame, time.perf_counter())
        if frame.get("type") == "ready":
            break
        if frame.get("type") == "error":
            raise RuntimeError(f"borrower socket refused: {frame}")
    borrower.ws = ws
    borrower.reader = asyncio.create_task(read_borrower(borrower, tracker))
    asked = await http.post(f"{url}/api/conversations/{borrower.id}/handoff", json={"reason": "explicit_request"},
                            headers={"Authorization": f"Bearer {borrower.token}"})
    asked.raise_for_status()
    if asked.json()["state"] != "queued":
        raise RuntimeError(f"conversation {borrower.id} did not queue: {asked.json()}")
    return borrower


async def read_borrower(borrower: Borrower, tracker: Tracker) -> None:
    assert borrower.ws is not None
    with contextlib.suppress(Exception):
        async for raw in borrower.ws:
            tracker.on_frame(borrower, json.loads(raw), time.perf_counter())


async def close_borrower(borrower: Borrower) -> None:
    if borrower.ws is not None:
        await borrower.ws.close()
    if borrower.reader is not None:
        borrower.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await borrower.reader


@dataclass
class Agent:
    username: str
    http: httpx.AsyncClient
    chats: list[str] = field(default_factory=list)
    ws: ClientConnection | None = None
    ws_task: asyncio.Task[None] | None = None


async def log_in(url: str, username: str, password: str) -> Agent:
    http = httpx.AsyncClient(base_url=url, timeout=30, trust_env=False)
    login = await http.post("/api/agent/login", json={"username": username, "password": password})
    login.raise_for_status()
    token = login.json()["token"]
    http.headers["Authorization"] = f"Bearer {token}"
    agent = Agent(username=username, http=http)
    # The console keeps this socket open (queue changes, heartbeats); so do we.
    agent.ws = await connect(f"{ws_url(url)}/ws/agent", open_timeout=10)
    await agent.ws.send(json.dumps({"type": "auth", "token": token}))
    agent.ws_task = asyncio.create_task(_agent_socket(agent.ws))
    return agent


async def _agent_socket(ws: ClientConnection) -> None:
    async def ping() -> None:
        while True:
            await asyncio.sleep(20)
            await ws.send(json.dumps({"type": "ping"}))

    pinger = asyncio.create_task(ping())
    try:
        with contextlib.suppress(Exception):
            async for _ in ws:
                pass
    finally:
        pinger.cancel()


async def claim_all(agents: list[Agent], expected: int) -> None:
    """Agents take the next waiting chat in turn until the queue is empty (the console's 'take next')."""
    for agent in itertools.cycle(list(agents)):
        if sum(len(a.chats) for a in agents) >= expected:
            return
        taken = await agent.http.post("/api/agent/queue/next")
        taken.raise_for_status()
        entry = taken.json()["entry"]
        if entry is None:
            raise RuntimeError(f"the queue ran dry after {sum(len(a.chats) for a in agents)} of {expected} chats")
        agent.chats.append(entry["conversation_id"])


async def send_reply(agent: Agent, conversation_id: str, cmid: str, tracker: Tracker | None) -> None:
    reply = Reply(conversation_id=conversation_id, agent=agent.username, sent_at=time.perf_counter())
    if tracker is not None:
        tracker.replies[cmid] = reply
    try:
        response = await agent.http.post(
            f"/api/agent/conversations/{conversation_id}/messages",
            json={"text": f"Thanks for waiting - checking that for you now ({cmid}).", "client_message_id": cmid},
        )
        reply.http_s = time.perf_counter() - reply.sent_at
        reply.status = "ok" if response.status_code == 200 else f"http_{response.status_code}"
    except httpx.HTTPError as exc:
        reply.status = type(exc).__name__


async def agent_replies(agent: Agent, tracker: Tracker, *, start: float, end: float, interval_s: float) -> None:
    """One reply every `interval_s`, round-robin over the agent's chats, on a fixed schedule: a slow
    answer does not delay the next send (no coordinated omission)."""
    sends: list[asyncio.Task[None]] = []
    for n in itertools.count():
        at = start + n * interval_s
        if at >= end:
            break
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        chat = agent.chats[n % len(agent.chats)]
        sends.append(asyncio.create_task(send_reply(agent, chat, f"{agent.username}-{n}", tracker)))
    await asyncio.gather(*sends)


async def loop_lag(stop: asyncio.Event, lags: list[float]) -> None:
    """How late this client's own event loop wakes up: large values would inflate every latency."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(LAG_TICK_S)
        lags.append(max(0.0, time.perf_counter() - before - LAG_TICK_S))


async def measure(
    *, borrower_url: str, agent_url: str, agents: list[tuple[str, str]], borrowers: int, duration_s: float,
    interval_s: float, lost_after_s: float, on_steady: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """`on_steady("start")` / `on_steady("end")` mark the timed replies (set-up and grace period excluded)."""
    tracker = Tracker()
    mark = on_steady or (lambda _what: None)
    limits = httpx.Limits(max_connections=borrowers + 10)
    async with httpx.AsyncClient(base_url=borrower_url, timeout=30, limits=limits, trust_env=False) as http:
        gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one() -> Borrower:
            async with gate:
                return await open_borrower(http, borrower_url, tracker)

        people = await asyncio.gather(*(one() for _ in range(borrowers)))
        logged_in = [await log_in(agent_url, username, password) for username, password in agents]
        try:
            await claim_all(logged_in, borrowers)
            # Warm-up: one unrecorded reply per agent, so first-call costs stay out of the numbers.
            await asyncio.gather(*(send_reply(a, a.chats[0], f"{WARM_UP_PREFIX}{a.username}", None) for a in logged_in))
            await asyncio.sleep(0.5)
            stop, lags = asyncio.Event(), []
            lag_task = asyncio.create_task(loop_lag(stop, lags))
            mark("start")
            start = time.perf_counter()
            end = start + duration_s
            await asyncio.gather(*(
                agent_replies(a, tracker, start=start + i * interval_s / len(logged_in), end=end, interval_s=interval_s)
                for i, a in enumerate(logged_in)
            ))
            elapsed = time.perf_counter() - start
            mark("end")
            grace_end = time.perf_counter() + lost_after_s
            while tracker.outstanding() and time.perf_counter() < grace_end:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.2)  # a duplicate would arrive right behind the original
            stop.set()
            await lag_task
        finally:
            for agent in logged_in:
                if agent.ws is not None:
                    await agent.ws.close()
                if agent.ws_task is not None:
                    agent.ws_task.cancel()
                await agent.http.aclose()
            await asyncio.gather(*(close_borrower(b) for b in people))
    result = tracker.summary(elapsed_s=elapsed, lost_after_s=lost_after_s)
    result["client_loop_lag_ms"] = latency_summary(lags)
    result["chats_per_agent"] = {a.username: len(a.chats) for a in logged_in}
    return result
