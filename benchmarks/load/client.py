"""Load client (runs in its own process): N simulated borrowers chatting at once for D seconds.

    python benchmarks/load/client.py --target service --url http://127.0.0.1:8000 --out result.json
    python benchmarks/load/client.py --target rasa --url http://127.0.0.1:5005 --out result.json

`service` goes through the borrower API (create a conversation, post messages, and - like the chat page -
keep a WebSocket open that must deliver every stored message); `rasa` posts the same messages straight to
Rasa's REST webhook, the floor the service adds its work to. Each borrower: pick a language, send up to
`--turns` messages with `--think-s` (mean) between them, start a new conversation after a handoff.
Loopback only; the loop stops by itself at the deadline.
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

import httpx
from mix import Mix
from stats import TurnRecord, summarise
from websockets.asyncio.client import ClientConnection, connect

TURN_TIMEOUT_S = 30.0
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass
class Session:
    id: str
    lang: str
    token: str = ""
    last_seq: int = 0
    ws: ClientConnection | None = None
    ws_reader: asyncio.Task[None] | None = None
    ws_seqs: set[int] = field(default_factory=set)


@dataclass
class WsStats:
    sessions: int = 0
    failed: int = 0
    messages_expected: int = 0
    messages_missing: int = 0


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
        return "empty"  # the REST channel's way of saying something failed (pitfalls.md)
    if any(isinstance(e.get("custom"), dict) and e["custom"].get("type") == "handoff" for e in body):
        return "handoff"
    return "answer"


class ServiceTarget:
    def __init__(self, url: str, http: httpx.AsyncClient, *, websocket: bool, ws_stats: WsStats) -> None:
        self.url = url.rstrip("/")
        self.http = http
        self.websocket = websocket
        self.ws_stats = ws_stats

    async def open(self, lang: str) -> Session:
        created = await self.http.post(f"{self.url}/api/conversations", json={"lang": lang, "channel": "web"})
        created.raise_for_status()
        session = Session(id=created.json()["id"], lang=lang, token=created.json()["token"])
        if self.websocket:
            await self._open_ws(session)
        return session

    async def _open_ws(self, session: Session) -> None:
        ws_url = self.url.replace("http://", "ws://", 1) + f"/ws/conversations/{session.id}"
        try:
            session.ws = await connect(ws_url, open_timeout=10)
            await session.ws.send(json.dumps({"type": "auth", "token": session.token, "after": 0}))
        except (OSError, TimeoutError, Exception):  # noqa: BLE001 - any failure to connect counts the same
            self.ws_stats.failed += 1
            session.ws = None
            return
        self.ws_stats.sessions += 1
        session.ws_reader = asyncio.create_task(self._read_ws(session))

    @staticmethod
    async def _read_ws(session: Session) -> None:
        assert session.ws is not None
        with contextlib.suppress(Exception):
            async for frame in session.ws:
                event = json.loads(frame)
                if event.get("type") == "message":
                    session.ws_seqs.add(int(event["message"]["seq"]))

    async def say(self, session: Session, text: str) -> str:
        response = await self.http.post(
            f"{self.url}/api/conversations/{session.id}/messages",
            json={"text": text, "client_message_id": uuid.uuid4().hex},
            headers={"Authorization": f"Bearer {session.token}"},
        )
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        for message in body.get("messages", []):
            session.last_seq = max(session.last_seq, int(message.get("seq", 0)))
        return classify_service(response.status_code, body)

    async def close(self, session: Session) -> None:
        if session.ws is None:
            return
        expected = set(range(1, session.last_seq + 1))
        deadline = time.monotonic() + 5
        while not expected <= session.ws_seqs and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # the push may trail the HTTP answer a little
        self.ws_stats.messages_expected += len(expected)
        self.ws_stats.messages_missing += len(expected - session.ws_seqs)
        await session.ws.close()
        if session.ws_reader is not None:
            session.ws_reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await session.ws_reader


class RasaTarget:
    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url = url.rstrip("/")
        self.http = http

    async def open(self, lang: str) -> Session:
        return Session(id=f"load-{uuid.uuid4().hex[:16]}", lang=lang)

    async def say(self, session: Session, text: str) -> str:
        response = await self.http.post(
            f"{self.url}/webhooks/rest/webhook",
            json={"sender": session.id, "message": text, "metadata": {"lang": session.lang}},
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        return classify_rasa(response.status_code, body)

    async def close(self, session: Session) -> None:
        return None


Target = ServiceTarget | RasaTarget


async def timed_turn(target: Target, session: Session, text: str) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(TURN_TIMEOUT_S):
            outcome = await target.say(session, text)
    except TimeoutError:
        outcome = "error:client_timeout"
    except httpx.HTTPError as exc:
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
        except httpx.HTTPError as exc:
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
                records.append(TurnRecord(started, latency, kind, lang, outcome))
                if outcome == "handoff":
                    break  # the conversation now waits for a person; this borrower starts another
                await asyncio.sleep(rng.uniform(0, 2 * think_s))
        finally:
            await target.close(session)


async def warm_up(target: Target, mix: Mix) -> None:
    """A few unrecorded turns so model loading and first-call costs stay out of the numbers."""
    for lang in ("en", "zh"):
        session = await target.open(lang)
        for text in mix.faq[lang][:2]:
            await timed_turn(target, session, text)
        await target.close(session)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    host = urlsplit(args.url).hostname or ""
    if host not in LOOPBACK_HOSTS:
        raise SystemExit(f"refusing to load-test {host!r}: loopback targets only")
    mix = Mix.load()
    limits = httpx.Limits(max_connections=args.borrowers + 10, max_keepalive_connections=args.borrowers + 10)
    ws_stats = WsStats()
    async with httpx.AsyncClient(timeout=TURN_TIMEOUT_S, limits=limits, trust_env=False) as http:
        target: Target = (
            ServiceTarget(args.url, http, websocket=args.websocket, ws_stats=ws_stats)
            if args.target == "service" else RasaTarget(args.url, http)
        )
        await warm_up(target, mix)
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
    result: dict[str, Any] = {"target": args.target, "url": args.url, **summarise(records, elapsed_s=elapsed)}
    if args.target == "service" and args.websocket:
        result["websocket"] = vars(ws_stats)
    return result


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("service", "rasa"), required=True)
    parser.add_argument("--url", required=True, help="base URL (loopback)")
    parser.add_argument("--borrowers", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load after the warm-up")
    parser.add_argument("--turns", type=int, default=6, help="messages per conversation at most")
    parser.add_argument("--think-s", type=float, default=2.0, help="mean pause between a borrower's messages")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-websocket", dest="websocket", action="store_false",
                        help="service target: do not keep a WebSocket open per conversation")
    parser.add_argument("--out", type=Path, required=True, help="JSON result file")
    args = parser.parse_args(argv)
    if not 1 <= args.borrowers <= 1000 or not 1 <= args.duration <= 600:
        parser.error("--borrowers must be 1..1000 and --duration 1..600 s")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    result = asyncio.run(run(args))
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
