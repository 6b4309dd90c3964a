"""Alternating rounds of the load client, shared by run.py (service vs. bare Rasa) and scale.py (one pod vs.
two): the order of the rounds, one round of client.py in its own process, and a target's rounds merged."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memory import MemorySampler
from stats import TurnRecord, summarise

CLIENT = Path(__file__).resolve().parent / "client.py"
ROOT = CLIENT.parents[2]
LOAD_CLIENT = "load client"  # the sampler's name for the client process (outside the system under test)


def round_order(targets: list[str], rounds: int) -> list[tuple[int, str]]:
    """(round, target) in the order they run: A B, B A, A B ... (each round reverses the last)."""
    order: list[tuple[int, str]] = []
    for n in range(rounds):
        order += [(n, t) for t in (targets if n % 2 == 0 else targets[::-1])]
    return order


def merge_rounds(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One phase from a target's rounds: all their turns summarised together, WebSocket counts added up."""
    records = [TurnRecord(**row) for result in results for row in result["records"]]
    merged: dict[str, Any] = {"target": results[0]["target"], "url": results[0]["url"], "rounds": len(results),
                              **summarise(records, elapsed_s=sum(r["elapsed_s"] for r in results))}
    sockets = [r["websocket"] for r in results if "websocket" in r]
    if sockets:
        merged["websocket"] = {key: sum(s[key] for s in sockets) for key in sockets[0]}
    return merged


@dataclass(frozen=True)
class ClientRun:
    """One round of client.py: its target, load and seed (`extra`: further client.py options)."""

    target: str  # service | rasa
    url: str  # several service replicas separated by commas
    borrowers: int
    duration_s: float
    turns: int
    think_s: float
    seed: int
    extra: Sequence[str] = ()

    def command(self, out: Path) -> list[str]:
        return [sys.executable, str(CLIENT), "--target", self.target, "--url", self.url,
                "--borrowers", str(self.borrowers), "--duration", f"{self.duration_s:g}", "--turns", str(self.turns),
                "--think-s", str(self.think_s), "--seed", str(self.seed), "--out", str(out), *self.extra]


def run_client(run: ClientRun, *, out: Path, sampler: MemorySampler, phase: str, label: str) -> dict[str, Any]:
    """Run one round, its CPU and memory sampled under `phase`; the client's result (SystemExit if it failed)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"[{label}] {run.borrowers} borrowers for {run.duration_s:g} s against {run.url}", flush=True)
    sampler.phase = phase
    client = subprocess.Popen(run.command(out), cwd=ROOT)
    sampler.watch(LOAD_CLIENT, client.pid, part_of_system=False)
    try:
        # warm-up + duration + the slowest in-flight turn (client timeout 30 s) + start-up
        client.wait(timeout=run.duration_s + 180)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
        sampler.unwatch(LOAD_CLIENT)
        sampler.phase = "idle"
    if client.returncode != 0:
        raise SystemExit(f"the load client failed against {run.target} (exit {client.returncode})")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    lat = result["latency_ms"]
    print(f"[{label}] {result['turns']} turns, {result['throughput_turns_per_s']} turns/s, "
          f"p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms, outcomes {result['outcomes']}",
          flush=True)
    return result


def saturated(phase: dict[str, Any]) -> bool:
    """More than 5% of turns timed out or fell back: the figures measure a queue, not the software."""
    bad = sum(n for outcome, n in phase["outcomes"].items() if outcome == "fallback" or outcome.startswith("error"))
    return bool(bad > 0.05 * max(1, phase["turns"]))
