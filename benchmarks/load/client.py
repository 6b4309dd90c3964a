"""Load client (runs in its own process): N simulated borrowers chatting at once for D seconds.

    python benchmarks/load/client.py --target service --url http://127.0.0.1:8000 --out result.json
    python benchmarks/load/client.py --target rasa --url http://127.0.0.1:5005 --out result.json

`service` goes through the borrower API (create a conversation, post messages, and - like the chat page -
keep a WebSocket open that must deliver every stored message); `rasa` posts the same messages straight to
Rasa's REST webhook, the floor the service adds its work to. Each borrower: pick a language, send up to
`--turns` messages with `--think-s` (mean) between them, start a new conversation after a handoff.
Loopback only; the loop stops by itself at the deadline.

`--url` may list several service replicas separated by commas: conversations are then spread over them as a
load balancer would (benchmarks/load/balancer.py; `--ws-elsewhere`, `--hop-share`), each turn is recorded with
the replica that took it, and the conversations that hopped between replicas are listed in the result so that
their Rasa trackers can be checked afterwards (benchmarks/load/scale.py).

It runs on the same machine as the servers it measures, so it is built to spend little CPU: aiohttp (C HTTP
parser and WebSocket reader) on one shared keep-alive connection pool, no WebSocket compression, and
uvloop's event loop when it is installed (it comes with uvicorn[standard]).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from balancer import ONE_REPLICA, Balancer, Route
from mix import Mix
from stats import TurnRecord, as_rows, summarise

TURN_TIMEOUT_S = 30.0
WS_OPEN_TIMEOUT_S = 10.0
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class Session:
    id: str
    lang: str
    token: str = ""
    last_seq: int = 0
    ws: aiohttp.ClientWebSocketResponse | None = None
    ws_reader: asyncio.Task[None] | None = None
    ws_seqs: set[int] = field(default_factory=set)
    route: Route = ONE_REPLICA
    turns: int = 0  # messages sent
    state: str = "bot"  # the conversation's state after the last answer
    bot_turns: int = 0  # messages sent while the bot was in charge: these went to Rasa or waited for it
    answered: int = 0  # of which Rasa answered (`rasa_answered`): Rasa took them whole, tracker saved
    replica: int = 0  # the replica of the current turn


@dataclass
class WsStats:
    sessions: int = 0
    failed: int = 0
    messages_expected: int = 0
    messages_missing: int = 0
    elsewhere: int = 0  # sockets on another replica than the conversation's requests
    elsewhere_missing: int = 0  # stored messages those sockets did not get


class HTTPStatusError(Exception):
    """A request that had to succeed answered with a status outside 2xx."""


def classify_service(status: int, body: dict[str, Any]) -> str:
    if status != 200:
        return f"error:http_{status}"
    messages = body.get("messages", [])
    if any((m.get("payload") or {}).get("custom", {}).get("type") == "bot_unavailable" for m in messages):
        return "fallback"
    if body.get("state") == "queued":
        return "handoff"
    if any(m.get("sender") == "bot" for m in messages):
        return "answer"
    return "empty"


def classify_rasa(status: int, body: Any) -> str:
    if status != 200:
        return f"error:http_{status}"
    if not isinstance(body, list) or not body:
        return "empty"  # the REST channel answers 200 [] when anything inside Rasa failed
    if any(isinstance(e.get("custom"), dict) and e["custom"].get("type") == "handoff" for e in body):
        return "handoff"
    return "answer"


def rasa_answered(status: int, body: dict[str, Any]) -> bool:
    """Whether Rasa answered this turn: the service stores only Rasa's reply as messages from the bot. A turn
    it ends itself has none: the fallback, and a message that asks for a person (the local detector) queued at
    once when Rasa had no free slot (RASA_MAX_IN_FLIGHT) or did not answer within RASA_HANDOFF_BUDGET_S - a
    handoff to the borrower, but one that Rasa never took whole (handoff/borrower/turns.py)."""
    return status == 200 and any(m.get("sender") == "bot" for m in body.get("messages", []))


def count_turn(session: Session, status: int, body: dict[str, Any]) -> None:
    """Count one turn of `session` that got an HTTP answer: whether it was sent while the bot was in charge (so
    it went to Rasa, or waited for a slot), whether Rasa answered it, and the conversation's state after it."""
    if session.state == "bot":
        session.bot_turns += 1
        session.answered += rasa_answered(status, body)
    session.state = str(body.get("state", session.state))


async def post_json(
    http: aiohttp.ClientSession, url: str, payload: dict[str, Any], headers: dict[str, str] | None = None,
) -> tuple[int, str, bytes]:
    """(status, content type, body) of a JSON POST; the body is read whole so the connection goes back
    to the pool. Redirects are not followed (the API has none to follow)."""
    async with http.post(url, json=payload, headers=headers, allow_redirects=False) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.read()


class ServiceTarget:
    def __init__(self, urls: list[str], http: aiohttp.ClientSession, *, websocket: bool, ws_stats: WsStats,
                 balancer: Balancer) -> None:
        self.urls = [url.rstrip("/") for url in urls]
        self.http = http
        self.websocket = websocket
        self.ws_stats = ws_stats
        self.balancer = balancer
        self.hopped: list[dict[str, Any]] = []  # conversations whose turns alternated between replicas

    async def open(self, lang: str) -> Session:
        route = self.balancer.place()
        url = f"{self.urls[route.home]}/api/conversations"
        status, _, raw = await post_json(self.http, url, {"lang": lang, "channel": "web"})
        if not 200 <= status < 300:
            raise HTTPStatusError(f"creating a conversation answered {status}")
        created = json.loads(raw)
        session = Session(id=created["id"], lang=lang, token=created["token"], route=route)
        if self.websocket:
            await self._open_ws(session)
        return session

    async def _open_ws(self, session: Session) -> None:
        base = self.urls[session.route.ws]
        ws_url = base.replace("http://", "ws://", 1) + f"/ws/conversations/{session.id}"
        try:
            async with asyncio.timeout(WS_OPEN_TIMEOUT_S):
                session.ws = await self.http.ws_connect(ws_url, compress=0, autoping=True)
            await session.ws.send_str(json.dumps({"type": "auth", "token": session.token, "after": 0}))
        except (OSError, TimeoutError, Exception):  # noqa: BLE001 - any failure to connect counts the same
            self.ws_stats.failed += 1
            session.ws = None
            return
        self.ws_stats.sessions += 1
        self.ws_stats.elsewhere += session.route.ws != session.route.home
        session.ws_reader = asyncio.create_task(self._read_ws(session))

    @staticmethod
    async def _read_ws(session: Session) -> None:
        assert session.ws is not None
        with contextlib.suppress(Exception):
            async for frame in session.ws:  # ends when the socket closes
                if frame.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    return  # ERROR: the connection broke
                event = json.loads(frame.data)
                if event.get("type") == "message":
                    session.ws_seqs.add(int(event["message"]["seq"]))

    async def say(self, session: Session, text: str) -> str:
        session.replica = session.route.replica_for(session.turns, len(self.urls))
        session.turns += 1
        status, content_type, raw = await post_json(
            self.http, f"{self.urls[session.replica]}/api/conversations/{session.id}/messages",
            {"text": text, "client_message_id": uuid.uuid4().hex},
            headers={"Authorization": f"Bearer {session.token}"},
        )
        body = json.loads(raw) if content_type.startswith("application/json") else {}
        for message in body.get("messages", []):
            session.last_seq = max(session.last_seq, int(message.get("seq", 0)))
        outcome = classify_service(status, body)
        count_turn(session, status, body)
        return outcome

    async def close(self, session: Session) -> None:
        if session.route.hops:
            self.hopped.append({"id": session.id, "turns": session.turns, "bot_turns": session.bot_turns,
                                "answered": session.answered})
        if session.ws is None:
            return
        expected = set(range(1, session.last_seq + 1))
        deadline = time.monotonic() + 5
        while not expected <= session.ws_seqs and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # the push may trail the HTTP answer a little
        self.ws_stats.messages_expected += len(expected)
        self.ws_stats.messages_missing += len(expected - session.ws_seqs)
        if session.route.ws != session.route.home:
            self.ws_stats.elsewhere_missing += len(expected - session.ws_seqs)
        await session.ws.close()
        if session.ws_reader is not None:
            session.ws_reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await session.ws_reader


class RasaTarget:
    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url = url.rstrip("/")
        self.http = http

    async def open(self, lang: str) -> Session:
        return Session(id=f"load-{uuid.uuid4().hex[:16]}", lang=lang)

    async def say(self, session: Session, text: str) -> str:
        status, _, raw = await post_json(
            self.http, f"{self.url}/webhooks/rest/webhook",
            {"sender": session.id, "message": text, "metadata": {"lang": session.lang}},
        )
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        return classify_rasa(status, body)

    async def close(self, session: Session) -> None:
        return None


Target = ServiceTarget | RasaTarget
# aiohttp's overall request timeout is a bare TimeoutError, not a ClientError.
OPEN_ERRORS = (aiohttp.ClientError, TimeoutError, HTTPStatusError)


async def timed_turn(target: Target, session: Session, text: str) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(TURN_TIMEOUT_S):
            outcome = await target.say(session, text)
    except TimeoutError:
        outcome = "error:client_timeout"
    except aiohttp.ClientError as exc:
        outcome = f"error:{type(exc).__name__}"
    return time.perf_counter() - started, outcome


async def borrower(
    target: Target, mix: Mix, rng: random.Random, *, t0: float, deadline: float, turns: int, think_s: float,
    records: list[TurnRecord],
) -> None:
    await asyncio.sleep(rng.uniform(0, think_s * 2))  # borrowers arrive spread out, not all at t=0
    while time.monotonic() < deadline:
        lang = mix.language(rng)
        try:
            session = await target.open(lang)
        except OPEN_ERRORS as exc:
            records.append(TurnRecord(time.monotonic() - t0, 0.0, "open", lang, f"error:{type(exc).__name__}"))
            await asyncio.sleep(think_s)
            continue
        try:
            for _ in range(turns):
                if time.monotonic() >= deadline:
                    break
                kind, text = mix.turn(lang, rng)
                started = time.monotonic() - t0
                latency, outcome = await timed_turn(target, session, text)
                records.append(TurnRecord(started, latency, kind, lang, outcome, session.replica))
                if outcome == "handoff":
                    break  # the conversation now waits for a person; this borrower starts another
                await asyncio.sleep(rng.uniform(0, 2 * think_s))
        finally:
            await target.close(session)


async def warm_up(target: Target, mix: Mix) -> int:
    """A few unrecorded turns so model loading and first-call costs stay out of the numbers; how many."""
    turns = 0
    for lang in ("en", "zh"):
        session = await target.open(lang)
        for text in mix.faq[lang][:2]:
            await timed_turn(target, session, text)
            turns += 1
        await target.close(session)
    return turns


async def run(args: argparse.Namespace) -> dict[str, Any]:
    urls = args.url.split(",")
    for host in (urlsplit(url).hostname or "" for url in urls):
        if host not in LOOPBACK_HOSTS:
            raise SystemExit(f"refusing to load-test {host!r}: loopback targets only")
    mix = Mix.load()
    ws_stats = WsStats()
    async with http_session(args) as http:
        balancer = Balancer(len(urls), ws_elsewhere=args.ws_elsewhere, hop_share=args.hop_share, seed=args.seed)
        target: Target = (
            ServiceTarget(urls, http, websocket=args.websocket, ws_stats=ws_stats, balancer=balancer)
            if args.target == "service" else RasaTarget(args.url, http)
        )
        warm_up_turns = await warm_up(target, mix)
        records: list[TurnRecord] = []
        t0 = time.monotonic()
        deadline = t0 + args.duration
        rngs = [random.Random(args.seed * 1000 + i) for i in range(args.borrowers)]
        await asyncio.gather(*(
            borrower(target, mix, rng, t0=t0, deadline=deadline, turns=args.turns, think_s=args.think_s,
                     records=records)
            for rng in rngs
        ))
        elapsed = time.monotonic() - t0
    result: dict[str, Any] = {"target": args.target, "url": args.url, **summarise(records, elapsed_s=elapsed),
                              "warm_up_turns": warm_up_turns,
                              "records": as_rows(records)}  # run.py merges rounds from these
    if isinstance(target, ServiceTarget):
        if args.websocket:
            result["websocket"] = vars(ws_stats)
        if len(urls) > 1:
            result["hopped"] = target.hopped
    return result


def http_session(args: argparse.Namespace) -> aiohttp.ClientSession:
    """One keep-alive pool for all borrowers. A WebSocket holds its pool connection while open, so the
    service target needs two per borrower: one for requests and one for the socket."""
    per_borrower = 2 if args.target == "service" and args.websocket else 1
    connector = aiohttp.TCPConnector(limit=per_borrower * args.borrowers + 10, limit_per_host=0)
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=TURN_TIMEOUT_S), trust_env=False,
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("service", "rasa"), required=True)
    parser.add_argument("--url", required=True,
                        help="base URL (loopback); service target: several replicas separated by commas")
    parser.add_argument("--borrowers", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load after the warm-up")
    parser.add_argument("--turns", type=int, default=6, help="messages per conversation at most")
    parser.add_argument("--think-s", type=float, default=2.0, help="mean pause between a borrower's messages")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-websocket", dest="websocket", action="store_false",
                        help="service target: do not keep a WebSocket open per conversation")
    parser.add_argument("--ws-elsewhere", type=float, default=0.0,
                        help="several replicas: share of conversations whose WebSocket is on another replica")
    parser.add_argument("--hop-share", type=float, default=0.0,
                        help="several replicas: share of conversations whose turns alternate between replicas")
    parser.add_argument("--out", type=Path, required=True, help="JSON result file")
    args = parser.parse_args(argv)
    if args.target == "rasa" and "," in args.url:
        parser.error("--url lists several servers for the service target only")
    if not 0 <= args.ws_elsewhere <= 1 or not 0 <= args.hop_share <= 1:
        parser.error("--ws-elsewhere and --hop-share are shares within 0..1")
    if not 1 <= args.borrowers <= 1000 or not 1 <= args.duration <= 600:
        parser.error("--borrowers must be 1..1000 and --duration 1..600 s")
    return args


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        result = runner.run(run(args))
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
