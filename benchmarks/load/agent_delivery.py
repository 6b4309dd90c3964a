"""Agent message -> borrower WebSocket delivery (target p95 <= 50 ms). No Rasa needed.

    .venv/bin/python benchmarks/load/agent_delivery.py                      # SQLite, 50 borrowers, 5 agents, 60 s
    .venv/bin/python benchmarks/load/agent_delivery.py --borrowers 5 --agents 2 --duration 5
    .venv/bin/python benchmarks/load/agent_delivery.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/test --redis-url redis://127.0.0.1:6379/0

Starts the conversation service (tests/integration/service_process.py) with a fresh SQLite database in
var/bench-agent/, creates the agents with `python -m handoff create-agent`, and runs
benchmarks/load/delivery.py against it: borrowers ask for a person through the borrower API and keep their
WebSocket open, agents log in, take the chats from the queue and reply through the agent API every
--interval-s seconds each (round-robin over their chats) for --duration seconds. With --database-url and
--redis-url it then measures the production layout as well: a scratch database created on that PostgreSQL
server (dropped afterwards), Redis fan-out, and two replicas - borrowers' sockets on one, agents on the other,
so every reply crosses Redis. Writes benchmarks/results/agent_delivery.json and .md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shlex
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from common import RESULTS, ROOT, SERVICE_ENV
from delivery import TARGET_P95_MS, measure
from report import render_agent_delivery
from scratch_db import postgres_scratch_database
from service_process import ServiceProcess, create_agent, run_service

WORK = ROOT / "var" / "bench-agent"
PASSWORD = "bench-agent-password"
MAX_AGENTS = 10  # the agent login limit is 10 per minute per address


@contextlib.contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A new empty database on the PostgreSQL server of `url`, dropped afterwards (SQLite: `url` itself)."""
    if url.startswith("sqlite"):
        yield url
        return
    with postgres_scratch_database(url, prefix="bench_agent") as scratch:
        yield scratch


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def run_setup(label: str, args: argparse.Namespace, *, database_url: str | None, redis_url: str | None,
              replicas: int) -> dict[str, Any]:
    work = WORK / label
    shutil.rmtree(work, ignore_errors=True)
    per_agent = -(-args.borrowers // args.agents)
    env = {**SERVICE_ENV, "AGENT_MAX_CONCURRENT": str(per_agent)}
    if redis_url:
        env["REDIS_URL"] = redis_url
    with contextlib.ExitStack() as stack:
        if database_url:
            env["DATABASE_URL"] = stack.enter_context(scratch_database(database_url))
        services: list[ServiceProcess] = [
            stack.enter_context(run_service(work / f"replica-{i}", **env)) for i in range(replicas)
        ]
        for i in range(args.agents):
            create_agent(services[-1], username=f"agent{i}", password=PASSWORD)
        borrower_side, agent_side = services[0], services[-1]
        print(f"[{label}] {args.borrowers} borrowers on {borrower_side.url}, {args.agents} agents on "
              f"{agent_side.url}, one reply per agent every {args.interval_s:g} s for {args.duration:g} s", flush=True)
        procs = [psutil.Process(s.process.pid) for s in services]
        cpu: dict[str, list[float]] = {}
        result = asyncio.run(measure(
            borrower_url=borrower_side.url, agent_url=agent_side.url,
            agents=[(f"agent{i}", PASSWORD) for i in range(args.agents)], borrowers=args.borrowers,
            duration_s=args.duration, interval_s=args.interval_s, lost_after_s=args.lost_after_s,
            on_steady=lambda what: cpu.__setitem__(what, [cpu_seconds(p) for p in procs]),
        ))
        # CPU while the timed replies were sent (set-up excluded): the service's own cost per reply, which
        # other work on the machine does not change (it only makes the service wait for a core).
        used = [end - start for start, end in zip(cpu["start"], cpu["end"], strict=True)]
        result["service_cpu_s"] = [round(u, 2) for u in used]
        result["service_cpu_ms_per_reply"] = round(sum(used) / max(1, result["attempted"]) * 1000, 1)
        result["service_rss_mb"] = [round(p.memory_info().rss / 2**20, 1) for p in procs]
    database = "sqlite" if not database_url or database_url.startswith("sqlite") else "postgresql"
    result.update(label=label, database=database, redis=bool(redis_url), replicas=replicas)
    lat = result["delivery_ms"]
    print(f"[{label}] {result['sent']} replies, {result['messages_per_s']} msg/s, delivery p50 {lat['p50']} ms "
          f"p95 {lat['p95']} ms p99 {lat['p99']} ms max {lat['max']} ms; lost {result['lost']}, "
          f"duplicates {result['duplicates']}", flush=True)
    return result


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=50, help="borrowers waiting with a WebSocket open")
    parser.add_argument("--agents", type=int, default=5, help=f"agents replying (at most {MAX_AGENTS})")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of replies per setup")
    parser.add_argument("--interval-s", type=float, default=0.5, help="seconds between one agent's replies")
    parser.add_argument("--lost-after-s", type=float, default=5.0, help="a reply not delivered by then is lost")
    parser.add_argument("--database-url", help="PostgreSQL server for the production-layout setup "
                        "(a scratch database is created on it and dropped)")
    parser.add_argument("--redis-url", help="Redis for the production-layout setup (WebSocket fan-out)")
    parser.add_argument("--replicas", type=int, choices=(1, 2), default=2,
                        help="service replicas in the production-layout setup (needs --redis-url for 2)")
    parser.add_argument("--skip-sqlite", action="store_true", help="measure only the production layout")
    parser.add_argument("--out", type=Path, default=RESULTS / "agent_delivery.json")
    parser.add_argument("--markdown", type=Path, default=RESULTS / "agent_delivery.md")
    args = parser.parse_args(argv)
    if not 1 <= args.agents <= MAX_AGENTS or not args.agents <= args.borrowers <= 500:
        parser.error(f"--agents must be 1..{MAX_AGENTS} and --borrowers agents..500")
    if not 1 <= args.duration <= 300 or not 0.05 <= args.interval_s <= 10:
        parser.error("--duration must be 1..300 s and --interval-s 0.05..10 s")
    if args.replicas == 2 and args.database_url and not args.redis_url:
        args.replicas = 1  # without Redis replicas cannot see each other's events
    if args.skip_sqlite and not args.database_url:
        parser.error("--skip-sqlite needs --database-url")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    load_at_start = round(os.getloadavg()[0], 2)
    setups = []
    if not args.skip_sqlite:
        setups.append(run_setup("sqlite", args, database_url=None, redis_url=None, replicas=1))
    if args.database_url:
        label = "postgresql+redis" if args.redis_url else "postgresql"
        setups.append(run_setup(label, args, database_url=args.database_url, redis_url=args.redis_url,
                                replicas=args.replicas))
    result = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["benchmarks/load/agent_delivery.py", *argv]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_1m": {"start": load_at_start, "end": round(os.getloadavg()[0], 2)}},
        "config": {"borrowers": args.borrowers, "agents": args.agents, "duration_s": args.duration,
                   "interval_s": args.interval_s, "lost_after_s": args.lost_after_s, "target_p95_ms": TARGET_P95_MS},
        "setups": setups,
        "notes": [
            ("Delivery: from just before the agent's POST /api/agent/conversations/{id}/messages (what the console "
             "sends) to the borrower's WebSocket receiving that message, matched by its client_message_id; the "
             "client, the service and its database share the machine."),
            (f"Lost: sent (HTTP 200) but not on the borrower's socket within {args.lost_after_s:g} s. Duplicates: the same "
             "reply or sequence number received twice. The borrower socket also must see every seq without gaps."),
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    args.markdown.write_text(render_agent_delivery(result, heading="# Agent -> borrower delivery"), encoding="utf-8")
    print(f"wrote {args.out} and {args.markdown.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
