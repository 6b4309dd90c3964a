"""Where a bot turn's time goes: per-turn latency of the bare Rasa webhook, and a py-spy profile of Rasa and
the action server under concurrent load.

    .venv/bin/python benchmarks/load/profile_bot.py                  # 40 sequential turns, 30 s at 8 clients
    .venv/bin/python benchmarks/load/profile_bot.py --label after    # writes benchmarks/results/profile-after.md
    .venv/bin/python benchmarks/load/profile_bot.py --label before --no-speedups   # Rasa as shipped

Starts its own action server + Rasa (tests/integration/rasa_stack.py) on free loopback ports, sends the load
benchmark's message mix (benchmarks/load/mix.py), and while the concurrent phase runs samples both processes with
`py-spy record --format raw` (py-spy comes with the `test` extra). The report lists, per process, the share of
samples spent in the functions that matter (inclusive), and the hottest frames (self time), so a change can be
judged by before/after files side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

import rasa_stack
from mix import Mix
from stats import percentile

RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "var" / "bench-profile"
# Frames whose inclusive share tells where a turn goes (substring of "function (file)").
STAGES = {
    "rasa": {
        "NLU parse (DIET, featurizers)": "parse_message",
        "dialogue policies": "_predict_next_with_tracker",
        "action server calls": "_run_action",
        "tracker store (retrieve)": "fetch_full_tracker_with_initial_session",
        "tracker store (save)": "save_tracker",
        "lock store": "lock_store.py",
    },
    "actions": {
        "KB search": "knowledge_base/search.py",
        "sentence embedding": "sentence_transformers",
        "handoff packet": "actions/handoff.py",
    },
}


async def one_turn(http: httpx.AsyncClient, url: str, sender: str, text: str, lang: str) -> float:
    start = time.perf_counter()
    response = await http.post(f"{url}/webhooks/rest/webhook",
                               json={"sender": sender, "message": text, "metadata": {"lang": lang}})
    response.raise_for_status()
    return (time.perf_counter() - start) * 1000


async def sequential(url: str, mix: Mix, turns: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    latencies: list[float] = []
    async with httpx.AsyncClient(timeout=60, trust_env=False) as http:
        sender, left = uuid.uuid4().hex, 0
        for _ in range(turns):
            if left == 0:
                sender, left = uuid.uuid4().hex, 6  # a new conversation every 6 turns, like the load client
            lang = mix.language(rng)
            _, text = mix.turn(lang, rng)
            latencies.append(await one_turn(http, url, sender, text, lang))
            left -= 1
    return latencies


async def concurrent(url: str, mix: Mix, clients: int, duration_s: float, seed: int) -> list[float]:
    latencies: list[float] = []
    stop_at = time.monotonic() + duration_s

    async def client(n: int) -> None:
        rng = random.Random(seed + n)
        async with httpx.AsyncClient(timeout=60, trust_env=False) as http:
            while time.monotonic() < stop_at:
                sender = uuid.uuid4().hex
                lang = mix.language(rng)
                for _ in range(6):
                    if time.monotonic() >= stop_at:
                        return
                    _, text = mix.turn(lang, rng)
                    latencies.append(await one_turn(http, url, sender, text, lang))

    await asyncio.gather(*(client(n) for n in range(clients)))
    return latencies


def start_py_spy(
    pid: int, out: Path, duration_s: float, *, rate: int = 50, gil: bool = False
) -> subprocess.Popen[bytes]:
    """`gil`: sample only the thread holding the GIL (CPU spent in Python, without threads waiting on I/O)."""
    py_spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [str(py_spy), "record", "--pid", str(pid), "--format", "raw", "--rate", str(rate), "--nonblocking",
         "--duration", str(int(duration_s)), "--output", str(out), *(["--gil"] if gil else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def summarise(raw: Path, stages: dict[str, str]) -> tuple[int, dict[str, float], list[tuple[str, float]]]:
    """(samples, inclusive share per stage, top self-time frames) from py-spy's collapsed stacks."""
    total, inclusive, self_time = 0, collections.Counter[str](), collections.Counter[str]()
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        if frames[-1].startswith(("select (selectors.py", "_run_once (asyncio/base_events.py", "poll ")) or (
            "select (" in frames[-1] or "epoll" in frames[-1]
        ):
            self_time["(idle: waiting in the event loop)"] += count
        else:
            self_time[frames[-1]] += count
        total += count
        for name, needle in stages.items():
            if any(needle in frame for frame in frames):
                inclusive[name] += count
    share = {name: inclusive[name] / total if total else 0.0 for name in stages}
    top = [(frame, n / total) for frame, n in self_time.most_common(12)] if total else []
    return total, share, top


def pid_of(proc: subprocess.Popen[bytes]) -> int:
    """run_rasa.sh execs rasa, so the Popen pid is the Python process itself."""
    return proc.pid


def render(label: str, args: argparse.Namespace, seq: list[float], conc: list[float],
           profiles: dict[str, tuple[int, dict[str, float], list[tuple[str, float]]]]) -> str:
    lines = [
        f"# Bot profile: {label}",
        "",
        (f"Bare Rasa REST webhook with the load benchmark's mix. Machine: {os.cpu_count()} cores, "
         f"{platform.platform()}, load average {os.getloadavg()[0]:.2f} at the end. "
         "Command: `benchmarks/load/profile_bot.py`."),
        "",
        "| phase | turns | turns/s | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, values, elapsed in (("sequential (1 client)", seq, sum(seq) / 1000),
                                  (f"concurrent ({args.clients} clients)", conc, args.duration)):
        lines.append(f"| {name} | {len(values)} | {len(values) / elapsed:.1f} | {statistics.median(values):,.0f} "
                     f"| {percentile(sorted(values), 95) or 0:,.0f} | {max(values):,.0f} |")
    for process, (samples, share, top) in profiles.items():
        lines += ["", f"## {process} ({samples} samples at 50 Hz during the concurrent phase)", "",
                  "| stage (inclusive) | share of samples |", "|---|---:|"]
        lines += [f"| {name} | {value:.0%} |" for name, value in share.items()]
        lines += ["", "| hottest frames (self) | share |", "|---|---:|"]
        lines += [f"| `{frame}` | {value:.1%} |" for frame, value in top]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="per-turn latency and py-spy profile of Rasa + action server")
    parser.add_argument("--turns", type=int, default=40, help="sequential turns")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of concurrent load")
    parser.add_argument("--label", default="current")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-speedups", action="store_true",
                        help="run Rasa without bot/speedups.py (BOT_SPEEDUPS=off), for the 'before' profile")
    args = parser.parse_args(argv)
    shutil.rmtree(WORK, ignore_errors=True)
    mix = Mix.load()
    env = {"BOT_SPEEDUPS": "off"} if args.no_speedups else {}
    with rasa_stack.start_rasa_stack(workdir=WORK, rasa_env=env) as stack:
        for text, lang in (("hello", "en"), ("How do I get a payoff quote?", "en"), ("怎么提前还款", "zh")):
            stack.send("warm-up", text, lang=lang, timeout_s=120)
        seq = asyncio.run(sequential(stack.rasa_url, mix, args.turns, args.seed))
        spies = {name: (start_py_spy(pid_of(stack.processes[name]), WORK / f"{name}.raw", args.duration), name)
                 for name in ("rasa", "actions")}
        conc = asyncio.run(concurrent(stack.rasa_url, mix, args.clients, args.duration, args.seed))
        profiles = {}
        for name, (spy, _) in spies.items():
            _, err = spy.communicate(timeout=60)
            raw = WORK / f"{name}.raw"
            if not raw.exists():
                raise SystemExit(f"py-spy wrote no profile for {name}: {err.decode(errors='replace')[-2000:]}")
            profiles[name] = summarise(raw, STAGES[name])
    report = render(args.label, args, seq, conc, profiles)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"profile-{args.label}.md").write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
