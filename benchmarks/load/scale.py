"""Scale benchmark: one pod (1 service + 1 Rasa) against two pods (2 services + 2 Rasa), same run, same machine.

    .venv/bin/python benchmarks/load/scale.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test --redis-url redis://127.0.0.1:6379/0
    .venv/bin/python benchmarks/load/scale.py --borrowers 5 --duration 20 --database-url ... --redis-url ...

Starts the two pods of docs/production.md on PostgreSQL + Redis (benchmarks/load/pods.py: two Rasa servers,
each with its own action server as in a pod, on one tracker store and one lock store, and two service
replicas, RASA_URL = own Rasa first, then the other), then for each --borrowers level runs the load client
(benchmarks/load/client.py) in alternating rounds like run.py: "1+1" sends every conversation to replica A
(so to Rasa A; pod B stands idle), "2+2" spreads them over both replicas as a load balancer would
(benchmarks/load/balancer.py: sticky conversations, --ws-elsewhere of the WebSockets on the other replica,
--hop-share of the conversations alternating replicas turn by turn). Both layouts run on the same processes, so
they are compared on the same machine state.

Per layout and level: throughput, latency, outcomes, CPU per turn of every process (sampled like
benchmarks/load/memory.py, PostgreSQL's and Redis's too when they run here), how the turns split over the
replicas and the Rasa servers (the replicas' and action servers' Prometheus counters), and what was lost: turns
without a reply, stored messages that did not reach a WebSocket, and, for conversations that hopped between
replicas (so between Rasa servers), user turns missing from the shared Rasa tracker. Writes
benchmarks/results/scale.json and scale.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import RESULTS, ROOT, SERVICE_ENV
from memory import MemorySampler
from mix import LANG_WEIGHTS, WEIGHTS
from pods import Counts, Pod, Pods, listener_pid, postgres_processes, start_pods
from rounds import ClientRun, merge_rounds, round_order, run_client
from scale_report import render

WORK = ROOT / "var" / "bench-scale"
LAYOUTS = {"1+1": ("a",), "2+2": ("a", "b")}  # the pods whose replicas take borrowers
TRACKERS_CHECKED_PER_ROUND = 40


def phase_name(layout: str, borrowers: int) -> str:
    return f"{layout} x{borrowers}"


def snapshot(pods: Pods) -> dict[str, dict[str, Counts]]:
    return {pod.name: pod.counters() for pod in pods.pods}


def difference(after: Any, before: Any) -> Any:
    """after - before, leaf by leaf, for nested dicts of counts (a key missing before counts from 0)."""
    if isinstance(after, dict):
        before = before if isinstance(before, dict) else {}
        return {k: difference(v, before.get(k, 0.0)) for k, v in after.items()}
    return round(after - before, 3)


def added(a: Any, b: Any) -> Any:
    """a + b, leaf by leaf, for nested dicts of counts."""
    if isinstance(a, dict) or isinstance(b, dict):
        a, b = (x if isinstance(x, dict) else {} for x in (a, b))
        return {k: added(a.get(k, 0.0), b.get(k, 0.0)) for k in sorted({*a, *b})}
    return round(a + b, 3)


def rasa_turns(split: dict[str, dict[str, Counts]]) -> dict[str, float]:
    """Bot turns each Rasa server took: a replica asks its own pod's Rasa first, and a turn goes to the other
    one only after a connection error, which the replica logs (its failovers)."""
    asked = {pod: sum(c["rasa_calls"].values()) for pod, c in split.items()}
    moved = {pod: c["failovers"].get("turns", 0.0) for pod, c in split.items()}
    (a, b) = sorted(split)
    return {a: asked[a] - moved[a] + moved[b], b: asked[b] - moved[b] + moved[a]}


def check_trackers(pod: Pod, hopped: list[dict[str, Any]]) -> dict[str, Any]:
    """Conversations that alternated replicas (so Rasa servers) and had every bot turn answered by Rasa: the
    shared tracker must hold each of their user turns once, since Rasa saves a turn's tracker before it
    answers. Left out (counted in `unanswered`): conversations with a turn the service ended without Rasa's
    answer (the fallback, or a request for a person queued at once because Rasa had no free slot or missed
    RASA_HANDOFF_BUDGET_S; client.py `rasa_answered`). Such a message either never reached Rasa (no slot) or
    had its turn cancelled there when the service gave up and closed the connection (Rasa's REST channel
    catches the cancellation; the tracker is saved only at the end of a turn) - unless the cancellation came
    after the save, so whether the tracker holds it cannot be told from outside. (Messages sent once a person
    was in charge never went to Rasa, so they are not counted either.)"""
    candidates = [h for h in hopped if h["turns"] >= 2]
    eligible = [h for h in candidates if h["answered"] == h["bot_turns"]]
    checked, missing, extra = 0, 0, 0
    for conv in eligible[:TRACKERS_CHECKED_PER_ROUND]:
        events = pod.rasa.tracker(conv["id"]).get("events", [])
        users = sum(1 for e in events if e.get("event") == "user")
        checked += 1
        missing += max(0, conv["bot_turns"] - users)
        extra += max(0, users - conv["bot_turns"])
    return {"hopped": len(hopped), "unanswered": len(candidates) - len(eligible), "checked": checked,
            "user_turns_missing": missing, "user_turns_extra": extra}


def one_round(pods: Pods, layout: str, borrowers: int, round_: int, args: argparse.Namespace,
              sampler: MemorySampler) -> dict[str, Any]:
    taking = [p for p in pods.pods if p.name in LAYOUTS[layout]]
    run = ClientRun(target="service", url=",".join(p.service.url for p in taking), borrowers=borrowers,
                    duration_s=args.duration / args.rounds, turns=args.turns, think_s=args.think_s,
                    seed=args.seed + 1000 * borrowers + round_,
                    extra=["--ws-elsewhere", f"{args.ws_elsewhere:g}", "--hop-share", f"{args.hop_share:g}"])
    before = snapshot(pods)
    result = run_client(run, out=WORK / f"client-{layout}-{borrowers}-{round_}.json", sampler=sampler,
                        phase=phase_name(layout, borrowers), label=f"{layout} x{borrowers} round {round_ + 1}")
    split = difference(snapshot(pods), before)
    result["split"] = {"replicas": split, "rasa_turns": rasa_turns(split)}
    result["trackers"] = check_trackers(pods.pods[0], result.get("hopped", []))
    return result


def merge(results: list[dict[str, Any]]) -> dict[str, Any]:
    merged = merge_rounds(results)
    merged["warm_up_turns"] = sum(r.get("warm_up_turns", 0) for r in results)
    merged["split"] = results[0]["split"]
    merged["trackers"] = results[0]["trackers"]
    for r in results[1:]:
        merged["split"] = added(merged["split"], r["split"])
        merged["trackers"] = added(merged["trackers"], r["trackers"])
    return merged


def watch(pods: Pods, args: argparse.Namespace, sampler: MemorySampler) -> list[str]:
    """Sample every process of both pods, and PostgreSQL and Redis when they run here; what is not sampled."""
    for pod in pods.pods:
        sampler.watch(f"service {pod.name}", pod.service.process.pid)
        sampler.watch(f"rasa {pod.name}", pod.rasa.processes["rasa"].pid)
        sampler.watch(f"actions {pod.name}", pod.rasa.processes["actions"].pid)
    unseen = []
    postmaster, redis = listener_pid(args.database_url), listener_pid(args.redis_url)
    if postmaster:
        sampler.watch_group("postgresql", postgres_processes(postmaster, pods.databases), part_of_system=False)
    else:
        unseen.append("PostgreSQL")
    if redis:
        sampler.watch("redis", redis, part_of_system=False)
    else:
        unseen.append("Redis")
    return unseen


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", default="40,60,80,120",
                        help="borrower levels, comma-separated: raise them until p95 climbs (saturation)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load per layout and level")
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternating rounds per layout and level (1+1, 2+2, 2+2, 1+1 ...), each --duration/rounds")
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--think-s", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ws-elsewhere", type=float, default=0.5,
                        help="2+2: share of WebSockets on the other replica than their conversation's requests")
    parser.add_argument("--hop-share", type=float, default=0.2,
                        help="2+2: share of conversations whose turns alternate between the replicas")
    parser.add_argument("--database-url", required=True, help="PostgreSQL server (two scratch databases are "
                        "created on it for the service and Rasa's tracker store, and dropped afterwards)")
    parser.add_argument("--redis-url", required=True, help="Redis (service bus, locks, limits; Rasa's lock store in db 1)")
    parser.add_argument("--out", type=Path, default=RESULTS / "scale.json")
    parser.add_argument("--markdown", type=Path, default=RESULTS / "scale.md")
    args = parser.parse_args(argv)
    try:
        args.levels = [int(n) for n in args.borrowers.split(",")]
    except ValueError:
        parser.error("--borrowers takes whole numbers separated by commas, e.g. 40,60,80,120")
    if not args.levels or not all(1 <= n <= 500 for n in args.levels):
        parser.error("each --borrowers level must be 1..500")
    if not 10 <= args.duration <= 120:
        parser.error("--duration must be 10..120 s per layout and level")
    if not 1 <= args.rounds <= 6 or args.duration / args.rounds < 5:
        parser.error("--rounds must be 1..6, with at least 5 s of load per round")
    if args.database_url.startswith("sqlite"):
        parser.error("--database-url must be PostgreSQL: two Rasa servers need a shared tracker store")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    load_at_start = round(os.getloadavg()[0], 2)
    shutil.rmtree(WORK, ignore_errors=True)
    started = time.monotonic()
    levels: list[dict[str, Any]] = []
    with MemorySampler() as sampler, contextlib.ExitStack() as stack:
        pods = stack.enter_context(start_pods(WORK, database_url=args.database_url, redis_url=args.redis_url,
                                              service_env=SERVICE_ENV))
        unseen = watch(pods, args, sampler)
        time.sleep(2)  # an idle sample after start-up
        for borrowers in args.levels:
            rounds: dict[str, list[dict[str, Any]]] = {layout: [] for layout in LAYOUTS}
            for round_, layout in round_order(list(LAYOUTS), args.rounds):
                rounds[layout].append(one_round(pods, layout, borrowers, round_, args, sampler))
            levels.append({"borrowers": borrowers, "layouts": {k: merge(v) for k, v in rounds.items()}})
    memory, cpu = sampler.summary(), sampler.cpu_summary()
    result = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": shlex.join(["benchmarks/load/scale.py", *argv]),
        "wall_clock_s": round(time.monotonic() - started),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "load_average_1m": {"start": load_at_start, "end": round(os.getloadavg()[0], 2)}},
        "config": {"levels": args.levels, "duration_s": args.duration, "rounds": args.rounds, "turns": args.turns,
                   "think_s": args.think_s, "seed": args.seed, "ws_elsewhere": args.ws_elsewhere,
                   "hop_share": args.hop_share, "mix": WEIGHTS, "languages": LANG_WEIGHTS,
                   "layouts": {k: list(v) for k, v in LAYOUTS.items()}, "not_sampled": unseen},
        "levels": levels,
        "cpu_s": cpu,
        "memory_mb": memory,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    args.markdown.write_text(render(result), encoding="utf-8")
    print(f"wrote {args.out} and {args.markdown}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
