"""Load benchmark: N borrowers through the conversation service vs. the same client on bare Rasa.

    .venv/bin/python benchmarks/load/run.py                    # 50 borrowers, 60 s per target
    .venv/bin/python benchmarks/load/run.py --borrowers 10 --duration 15
    .venv/bin/python benchmarks/load/run.py --only agent-delivery     # agent -> borrower delivery alone, no Rasa

Starts its own stack on free loopback ports (action server + Rasa via tests/integration/rasa_stack.py, the
service via tests/integration/service_process.py, SQLite in var/bench-load/ unless --database-url), runs the
load client (benchmarks/load/client.py) in a separate process against Rasa's REST webhook (the floor) and
through the borrower API, in alternating rounds (`--rounds 2`: Rasa, service, service, Rasa, each for half of
`--duration`), so that a machine getting faster or slower during the run weighs on both targets alike; samples
the RSS of every process, and writes benchmarks/results/load.json and load.md. Last, with Rasa stopped,
benchmarks/load/agent_delivery.py measures agent replies reaching the borrowers' WebSockets (its own service;
results in agent_delivery.json/.md, also embedded in load.json/.md).
Each phase stops by itself after --duration seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import HERE, RESULTS, ROOT, SERVICE_ENV, shown
from memory import MemorySampler
from mix import LANG_WEIGHTS, WEIGHTS
from rasa_stack import start_rasa_stack
from report import render, render_agent_delivery
from rounds import ClientRun, merge_rounds, round_order, saturated
from rounds import run_client as run_client_round
from service_process import run_service

WORK = ROOT / "var" / "bench-load"


@contextlib.contextmanager
def own_stack(args: argparse.Namespace, sampler: MemorySampler) -> Iterator[dict[str, str]]:
    shutil.rmtree(WORK, ignore_errors=True)
    with contextlib.ExitStack() as stack:
        print("starting the action server and Rasa (trains the model only if its inputs changed)...", flush=True)
        rasa = stack.enter_context(start_rasa_stack(workdir=WORK / "rasa"))
        extra = {"DATABASE_URL": args.database_url} if args.database_url else {}
        if args.redis_url:
            extra["REDIS_URL"] = args.redis_url
        print("starting the conversation service...", flush=True)
        service = stack.enter_context(run_service(
            WORK / "service", RASA_URL=rasa.rasa_url, RASA_TOKEN=rasa.rasa_token,
            ACTION_SERVER_URL=rasa.action_url, **SERVICE_ENV, **extra,
        ))
        sampler.watch("conversation service", service.process.pid)
        sampler.watch("rasa server", rasa.processes["rasa"].pid)
        sampler.watch("action server", rasa.processes["actions"].pid)
        yield {"service": service.url, "rasa": rasa.rasa_url}


def run_client(target: str, url: str, args: argparse.Namespace, sampler: MemorySampler, *,
               round_: int = 0) -> dict[str, Any]:
    run = ClientRun(target=target, url=url, borrowers=args.borrowers, duration_s=args.duration / args.rounds,
                    turns=args.turns, think_s=args.think_s, seed=args.seed + round_)
    return run_client_round(run, out=WORK / f"client-{target}-{round_}.json", sampler=sampler,
                            phase=f"{target} load", label=f"{target} round {round_ + 1} of {args.rounds}")


def agent_delivery_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """load.json -> agent_delivery.json, load-10.json -> agent_delivery-10.json (same for the markdown)."""
    def sibling(path: Path) -> Path:
        name = path.name.replace("load", "agent_delivery", 1) if "load" in path.name else f"agent_delivery{path.suffix}"
        return path.with_name(name)

    return sibling(args.out), sibling(args.markdown)


def run_agent_delivery(args: argparse.Namespace) -> dict[str, Any]:
    """The agent -> borrower delivery phase, in its own process with its own service (Rasa not needed)."""
    out, markdown = agent_delivery_paths(args)
    paths = [shown(p) for p in (out, markdown)]
    cmd = [sys.executable, str(HERE / "agent_delivery.py"), "--borrowers", str(args.borrowers),
           "--agents", str(args.agents), "--duration", f"{args.duration:g}", "--out", paths[0],
           "--markdown", paths[1]]
    if args.database_url and not args.database_url.startswith("sqlite"):
        cmd += ["--database-url", args.database_url]  # measured in addition to SQLite
        if args.redis_url:
            cmd += ["--redis-url", args.redis_url]
    print(f"[agent delivery] {args.borrowers} borrowers, {args.agents} agents for {args.duration:g} s", flush=True)
    done = subprocess.run(cmd, cwd=ROOT, timeout=3 * (args.duration + 180), check=False)
    if done.returncode != 0:
        raise SystemExit(f"the agent delivery phase failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def compare(phases: dict[str, Any]) -> dict[str, Any]:
    if "service" not in phases or "rasa" not in phases:
        return {}
    s, r = phases["service"]["latency_ms"], phases["rasa"]["latency_ms"]
    added = {f"{q}_added_ms": round(s[q] - r[q], 1) for q in ("p50", "p95", "p99") if s[q] is not None and r[q] is not None}
    comparable = not saturated(phases["service"]) and not saturated(phases["rasa"])
    return {**added, "comparable": comparable,
            "answers": {k: phases[k]["outcomes"].get("answer", 0) for k in ("service", "rasa")}}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="load benchmark: service vs. bare Rasa")
    parser.add_argument("--borrowers", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per target (max 70)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternating rounds per target (Rasa, service, service, Rasa ...), each --duration/rounds")
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--think-s", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=("service", "rasa", "agent-delivery"),
                        help="run one phase only (agent-delivery writes only agent_delivery.json/.md)")
    parser.add_argument("--agents", type=int, default=5, help="agents replying in the agent-delivery phase")
    parser.add_argument("--service-url", help="use a running service instead of starting one (needs --rasa-url)")
    parser.add_argument("--rasa-url", help="use a running Rasa server instead of starting one")
    parser.add_argument("--database-url", help="service database (default: SQLite in var/bench-load/)")
    parser.add_argument("--redis-url", help="service REDIS_URL (WebSocket fan-out, locks, limits)")
    parser.add_argument("--out", type=Path, default=RESULTS / "load.json")
    parser.add_argument("--markdown", type=Path, default=RESULTS / "load.md")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 70:
        parser.error("--duration must be 1..70 s (a 2-core machine is shared)")
    if not 1 <= args.rounds <= 6 or args.duration / args.rounds < 10:
        parser.error("--rounds must be 1..6, with at least 10 s of load per round")
    if not 1 <= args.agents <= 10:
        parser.error("--agents must be 1..10 (agent logins are limited to 10 a minute per address)")
    if bool(args.service_url) != bool(args.rasa_url):
        parser.error("--service-url and --rasa-url go together")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    load_at_start = round(os.getloadavg()[0], 2)
    phases: dict[str, Any] = {}
    if args.only == "agent-delivery":
        run_agent_delivery(args)
        return 0
    with MemorySampler() as sampler:
        stack_cm = (contextlib.nullcontext({"service": args.service_url, "rasa": args.rasa_url})
                    if args.service_url else own_stack(args, sampler))
        with stack_cm as urls:
            time.sleep(2)  # an idle memory sample after start-up
            targets = [t for t in ("rasa", "service") if args.only in (None, t)]
            rounds: dict[str, list[dict[str, Any]]] = {t: [] for t in targets}
            for round_, target in round_order(targets, args.rounds):
                rounds[target].append(run_client(target, urls[target], args, sampler, round_=round_))
            phases = {t: merge_rounds(results) for t, results in rounds.items()}
            for target, phase in phases.items():
                lat = phase["latency_ms"]
                print(f"[{target}] all rounds: {phase['turns']} turns, {phase['throughput_turns_per_s']} turns/s, "
                      f"p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms", flush=True)
        memory = sampler.summary()
        cpu = sampler.cpu_summary()
    agent_delivery = run_agent_delivery(args) if args.only is None else None
    result = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["benchmarks/load/run.py", *argv]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(),
                    # Other work on the machine skews the figures: the 1-minute load average at the start
                    # and at the end of the run says how much.
                    "load_average_1m": {"start": load_at_start, "end": round(os.getloadavg()[0], 2)}},
        "config": {"borrowers": args.borrowers, "duration_s": args.duration, "rounds": args.rounds,
                   "think_s": args.think_s,
                   "turns": args.turns, "seed": args.seed, "mix": WEIGHTS, "languages": LANG_WEIGHTS,
                   "database": args.database_url or "sqlite (var/bench-load)", "redis": bool(args.redis_url)},
        "phases": phases,
        "service_vs_rasa": compare(phases),
        "memory_mb": memory,
        "cpu_s": cpu,
        "agent_delivery": agent_delivery,
        "notes": [
            ("Latency is one borrower turn: from sending a message to having the bot's reply (service: the "
            "HTTP answer of POST /messages; Rasa: the REST webhook's answer). The service's turn includes "
            "masking, storing, the Rasa call and storing the replies."),
            ("Outcomes: answer = the bot replied; handoff = queued for a person; fallback = the service's honest "
            "'assistant is having trouble' message (Rasa slower than RASA_TIMEOUT_S or failing); empty = Rasa "
            "answered [] (an action failed)."),
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    markdown = render(result)
    if agent_delivery:
        markdown += "\n" + render_agent_delivery(agent_delivery, heading="## Agent -> borrower delivery")
    args.markdown.write_text(markdown, encoding="utf-8")
    print(f"wrote {shown(args.out)} and {args.markdown.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
