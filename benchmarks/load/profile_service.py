"""Where the conversation service's CPU goes in a borrower turn: the load benchmark's client (benchmarks/load/
client.py: the message mix, one WebSocket per conversation) against the service, with the service sampled by
py-spy, and its CPU time per turn.

    .venv/bin/python benchmarks/load/profile_service.py                   # 50 borrowers for 30 s
    .venv/bin/python benchmarks/load/profile_service.py --label after     # writes profile-service-after.md

Starts its own action server + Rasa (tests/integration/rasa_stack.py) and service (SQLite) on free loopback
ports, as run.py does. py-spy (the `test` extra) records only samples of a thread running Python code, so the
shares below are shares of the service's CPU; the stages are inclusive (a sample counts for every stage its stack
passes through), the hottest frames are self time. CPU ms per turn = the service's user + system CPU during the
round (benchmarks/load/memory.py) divided by the turns, conversation creation and WebSocket work included.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from common import HERE, RESULTS, ROOT, SERVICE_ENV
from memory import MemorySampler
from profile_bot import start_py_spy, summarise
from rasa_stack import start_rasa_stack
from rounds import ClientRun, run_client
from service_process import free_port, run_service

WORK = ROOT / "var" / "bench-profile-service"
PHASE = "service load"
# Inclusive stages of a turn (substring of "function (file:line)" in py-spy's frames).
STAGES = {
    "borrower turn (handoff/borrower/turns.py)": "borrower/turns.py",
    "masking (handoff/masking.py, handoff/pii)": "handoff/masking.py",
    "triage detector (handoff/triage)": "handoff/triage/",
    "Rasa HTTP client (handoff/rasa/client.py)": "rasa/client.py",
    "aiohttp (Rasa calls)": "aiohttp/",
    "SQLAlchemy": "sqlalchemy/",
    "handoff path (borrower/handoffs.py)": "borrower/handoffs.py",
    "answer view (borrower/views.py)": "borrower/views.py",
    "markdown to HTML (knowledge_base/markup.py)": "knowledge_base/markup.py",
    "FastAPI request handling (fastapi/routing.py)": "fastapi/routing.py",
    "pydantic validation / serialisation (pydantic)": "pydantic",
    "borrower WebSocket (api/routes/borrower_ws.py)": "borrower_ws.py",
    "WebSocket protocol (websockets, uvicorn ws)": "websockets/",
    "HTTP protocol (uvicorn httptools)": "httptools_impl.py",
    "request middleware (infra/requestlog.py)": "requestlog.py",
    "Prometheus metrics (prometheus_client)": "prometheus_client/",
    "logging": "logging/",
    "conversation creation (POST /api/conversations)": "start_conversation",
}


@contextlib.contextmanager
def stand_in(options: list[str]) -> Iterator[str]:
    """benchmarks/load/replay_rasa.py on a free port (recording or replaying); yields its URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "replay_rasa.py"), "--port", str(port), *options])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the Rasa stand-in did not start")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def stores_of(args: argparse.Namespace) -> str:
    database = "PostgreSQL" if args.database_url and not args.database_url.startswith("sqlite") else "SQLite"
    return f"{database} + Redis" if args.redis_url else database


def render(
    args: argparse.Namespace,
    result: dict[str, object],
    cpu_s: float,
    profile: tuple[int, dict[str, float], list[tuple[str, float]]],
) -> str:
    samples, share, top = profile
    turns = int(result["turns"])  # type: ignore[call-overload]
    lat = result["latency_ms"]
    assert isinstance(lat, dict)
    lines = [
        f"# Service profile: {args.label}",
        "",
        (
            f"{args.borrowers} borrowers for {args.duration:g} s through the conversation service ({stores_of(args)}), the load "
            f"benchmark's mix and client (one WebSocket per conversation). Machine: {os.cpu_count()} cores, "
            f"{platform.platform()}, load average {os.getloadavg()[0]:.2f} at the end (other work on the machine skews "
            "latency; CPU per turn much less). Command: `benchmarks/load/profile_service.py`."
        ),
        "",
        "| turns | turns/s | p50 ms | p95 ms | service CPU s | service CPU ms per turn | outcomes |",
        "|---:|---:|---:|---:|---:|---:|---|",
        (
            f"| {turns} | {result['throughput_turns_per_s']} | {lat['p50']} | {lat['p95']} | {cpu_s:.2f} "
            f"| {1000 * cpu_s / max(1, turns):.1f} | "
            + ", ".join(f"{k} {v}" for k, v in dict(result["outcomes"]).items())  # type: ignore[call-overload]
            + " |"
        ),
        "",
        f"## Where the service's CPU goes ({samples} samples at {args.rate} Hz of a thread running Python)",
        "",
        "| stage (inclusive) | share of samples |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {value:.1%} |" for name, value in sorted(share.items(), key=lambda kv: -kv[1])]
    lines += ["", "| hottest frames (self) | share |", "|---|---:|"]
    lines += [f"| `{frame}` | {value:.1%} |" for frame, value in top]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description="py-spy profile and CPU per turn of the conversation service"
    )
    parser.add_argument("--borrowers", type=int, default=50)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (max 70)")
    parser.add_argument("--think-s", type=float, default=2.0)
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--label", default="current")
    parser.add_argument("--record", type=Path, help="also record Rasa's answers here (replay_rasa.py)")
    parser.add_argument(
        "--replay",
        type=Path,
        help="no Rasa: replay a recording (replay_rasa.py), so only the service's own CPU is busy",
    )
    parser.add_argument("--delay-ms", type=float, default=40.0, help="replay: Rasa's time per turn")
    parser.add_argument("--no-profile", action="store_true", help="CPU per turn only (py-spy costs CPU too)")
    parser.add_argument("--gil", action="store_true", help="py-spy samples only the thread holding the GIL")
    parser.add_argument("--database-url", help="service DATABASE_URL (default: SQLite in the work directory)")
    parser.add_argument("--redis-url", help="service REDIS_URL (locks, limits, fan-out through Redis)")
    args = parser.parse_args(argv)
    if not 5 <= args.duration <= 70:
        parser.error("--duration must be 5..70 s (a 2-core machine is shared)")
    shutil.rmtree(WORK, ignore_errors=True)
    with MemorySampler() as sampler, contextlib.ExitStack() as stack:
        if args.replay:
            rasa_url, rasa_env = (
                stack.enter_context(
                    stand_in(["--replay", str(args.replay), "--delay-ms", f"{args.delay_ms:g}"])
                ),
                {},
            )
        else:
            rasa = stack.enter_context(start_rasa_stack(workdir=WORK / "rasa"))
            rasa_url, rasa_env = (
                rasa.rasa_url,
                {"RASA_TOKEN": rasa.rasa_token, "ACTION_SERVER_URL": rasa.action_url},
            )
            if args.record:
                rasa_url = stack.enter_context(
                    stand_in(["--upstream", rasa_url, "--record", str(args.record)])
                )
        stores = {"DATABASE_URL": args.database_url} if args.database_url else {}
        if args.redis_url:
            stores["REDIS_URL"] = args.redis_url
        service = stack.enter_context(
            run_service(WORK / "service", RASA_URL=rasa_url, **rasa_env, **SERVICE_ENV, **stores)
        )
        sampler.watch("conversation service", service.process.pid)
        time.sleep(2)
        spy = None
        raw = WORK / "service.raw"
        if not args.no_profile:
            # The client warms up for a few seconds first; py-spy covers the load itself and a little after.
            spy = start_py_spy(service.process.pid, raw, args.duration + 20, rate=args.rate, gil=args.gil)
        run = ClientRun(
            target="service",
            url=service.url,
            borrowers=args.borrowers,
            duration_s=args.duration,
            turns=args.turns,
            think_s=args.think_s,
            seed=args.seed,
        )
        result = run_client(run, out=WORK / "client.json", sampler=sampler, phase=PHASE, label="service")
        cpu_s = sampler.cpu_summary()["conversation service"].get(PHASE, 0.0)
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it has on Ctrl-C
            _, err = spy.communicate(timeout=60)
            if not raw.exists():
                raise SystemExit(f"py-spy wrote no profile: {err.decode(errors='replace')[-2000:]}")
    profile = summarise(raw, STAGES) if spy is not None else (0, {}, [])
    report = render(args, result, cpu_s, profile)
    if not args.no_profile:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"profile-service-{args.label}.md").write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
