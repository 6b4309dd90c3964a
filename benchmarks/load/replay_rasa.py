"""A stand-in for Rasa's REST channel that records real Rasa's answers, or replays them, for
benchmarks/load/profile_service.py.

    python benchmarks/load/replay_rasa.py --port 5099 --upstream http://127.0.0.1:5005 --record turns.jsonl
    python benchmarks/load/replay_rasa.py --port 5099 --replay turns.jsonl

Recording, it passes every request on to `--upstream` and writes one line per bot turn: the conversation's
messages so far (the key), Rasa's reply and how long Rasa took. Replaying, a turn whose conversation said the
same things before gets the recorded reply after the recorded time (capped at --max-delay-ms), so a seeded load
client (the same borrowers saying the same things) sees the same answers, handoffs included, without Rasa and
the action server competing for the machine's CPU: what is left is the service's own work. A history never
recorded gets the reply recorded for the same text, else a plain answer. Loopback only; stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

FALLBACK_REPLY = [{"text": "I can help with questions about your car loan."}]


class Recorder:
    def __init__(self, upstream: str, out: Path) -> None:
        self.upstream = upstream.rstrip("/")
        self.out = out.open("a", encoding="utf-8")
        self.history: dict[str, list[str]] = {}
        self.http: aiohttp.ClientSession | None = None

    async def forward(self, request: web.Request) -> web.Response:
        if self.http is None:
            self.http = aiohttp.ClientSession(trust_env=False)
        body = await request.read()
        started = time.perf_counter()
        async with self.http.request(
            request.method,
            f"{self.upstream}{request.path_qs}",
            data=body,
            headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
        ) as resp:
            answer, status = await resp.read(), resp.status
        took_ms = (time.perf_counter() - started) * 1000
        if request.path == "/webhooks/rest/webhook" and request.method == "POST" and status == 200:
            turn = json.loads(body)
            said = self.history.setdefault(str(turn["sender"]), [])
            said.append(str(turn["message"]))
            self.out.write(
                json.dumps(
                    {"history": said, "reply": json.loads(answer), "ms": round(took_ms, 1)},
                    ensure_ascii=False,
                )
                + "\n"
            )
            self.out.flush()
        return web.Response(body=answer, status=status, content_type="application/json")


class Replayer:
    def __init__(self, recording: Path, max_delay_ms: float, delay_ms: float | None = None) -> None:
        self.by_history: dict[tuple[str, ...], tuple[Any, float]] = {}
        self.by_text: dict[str, tuple[Any, float]] = {}
        for line in recording.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            history = tuple(row["history"])
            self.by_history.setdefault(history, (row["reply"], min(float(row["ms"]), max_delay_ms)))
            self.by_text.setdefault(history[-1], (row["reply"], min(float(row["ms"]), max_delay_ms)))
        self.history: dict[str, list[str]] = {}
        self.misses = 0
        self.delay_ms = delay_ms

    async def answer(self, request: web.Request) -> web.Response:
        if request.path != "/webhooks/rest/webhook":
            if request.path == "/status":
                return web.json_response({"model_file": "replayed.tar.gz"})
            return web.json_response(
                {"version": "replayed"} if request.path == "/version" else {"events": []}
            )
        turn = await request.json()
        said = self.history.setdefault(str(turn["sender"]), [])
        said.append(str(turn["message"]))
        found = self.by_history.get(tuple(said)) or self.by_text.get(said[-1])
        if found is None:
            self.misses += 1
            found = (FALLBACK_REPLY, 30.0)
        reply, delay_ms = found
        await asyncio.sleep((delay_ms if self.delay_ms is None else self.delay_ms) / 1000)
        return web.json_response(reply)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", help="record: the real Rasa server")
    parser.add_argument("--record", type=Path, help="record: JSON lines written here")
    parser.add_argument("--replay", type=Path, help="replay: a recording")
    parser.add_argument("--max-delay-ms", type=float, default=400.0, help="replay: cap on a recorded time")
    parser.add_argument("--delay-ms", type=float, help="replay: answer every turn after this long instead")
    args = parser.parse_args()
    app = web.Application()
    if args.replay:
        handler = Replayer(args.replay, args.max_delay_ms, args.delay_ms).answer
    elif args.upstream and args.record:
        handler = Recorder(args.upstream, args.record).forward
    else:
        parser.error("give --replay, or --upstream with --record")
    app.router.add_route("*", "/{tail:.*}", handler)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
