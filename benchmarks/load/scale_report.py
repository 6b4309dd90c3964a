"""The markdown summary of a scale run (benchmarks/results/scale.md), written from scale.json's content."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from report import ms_text
from rounds import saturated

# Sampled process names ("service a", "rasa b", "postgresql" ...) by kind, in the order of the CPU table.
KINDS = ("service", "rasa", "actions", "postgresql", "redis", "load client")
SYSTEM = ("service", "rasa", "actions")  # the pods' own processes
TINY_TURNS = 500  # below this many turns per layout a run is a smoke test, not the benchmark


def kind_of(name: str) -> str:
    return next((k for k in KINDS if name == k or name.startswith(f"{k} ")), name)


def cpu_ms_per_turn(result: dict[str, Any], layout: str, level: dict[str, Any]) -> dict[str, float]:
    """CPU ms per turn by process kind while `layout` carried `level`'s borrowers (warm-up turns included in
    the turns: they ran in the same phase)."""
    phase = f"{layout} x{level['borrowers']}"
    data = level["layouts"][layout]
    turns = max(1, data["turns"] + data.get("warm_up_turns", 0))
    out = dict.fromkeys(KINDS, 0.0)
    for name, per_phase in result["cpu_s"].items():
        kind = kind_of(name)
        if kind in out:
            out[kind] += per_phase.get(phase, 0.0) * 1000 / turns
    return out


def _outcome(data: dict[str, Any], *names: str) -> int:
    return sum(n for k, n in data["outcomes"].items() if k in names)


def _unanswered(data: dict[str, Any]) -> int:
    return sum(n for k, n in data["outcomes"].items() if k == "empty" or k.startswith("error"))


def _layouts(result: dict[str, Any]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """Every (borrowers, layout, figures) of a run, in the order the tables list them."""
    for level in result["levels"]:
        for layout, data in level["layouts"].items():
            yield level["borrowers"], layout, data


def _results_table(result: dict[str, Any]) -> list[str]:
    lines = [("| borrowers | layout | turns | turns/s | p50 ms | p95 ms | p99 ms | answers | handoffs | fallbacks | "
             "no reply | saturated |"), "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for borrowers, layout, data in _layouts(result):
        lat = data["latency_ms"]
        lines.append(
            f"| {borrowers} | {layout} | {data['turns']} | {data['throughput_turns_per_s']} | "
            f"{ms_text(lat['p50'])} | {ms_text(lat['p95'])} | {ms_text(lat['p99'])} | {_outcome(data, 'answer')} | "
            f"{_outcome(data, 'handoff')} | {_outcome(data, 'fallback')} | {_unanswered(data)} | "
            f"{'yes' if saturated(data) else 'no'} |")
    return lines


def _cpu_table(result: dict[str, Any]) -> list[str]:
    columns = [(layout, level) for level in result["levels"] for layout in level["layouts"]]
    per = [cpu_ms_per_turn(result, layout, level) for layout, level in columns]
    lines = ["| process | " + " | ".join(f"{layout} x{level['borrowers']}" for layout, level in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for kind in KINDS:
        lines.append(f"| {kind} | " + " | ".join(f"{p[kind]:,.1f}" for p in per) + " |")
    lines.append("| **pods (service + Rasa + actions)** | "
                 + " | ".join(f"**{sum(p[k] for k in SYSTEM):,.1f}**" for p in per) + " |")
    lines.append("| pods + PostgreSQL + Redis | "
                 + " | ".join(f"{sum(p[k] for k in KINDS if k != 'load client'):,.1f}" for p in per) + " |")
    return lines


def _per_pod(counts: dict[str, float]) -> str:
    return " / ".join(f"{counts[p]:g}" for p in sorted(counts))


def _split_table(result: dict[str, Any]) -> list[str]:
    lines = [("| borrowers | layout | turns on replica a / b (service counters) | client-side a / b | "
             "bot turns on Rasa a / b | actions run a / b | failovers | hopped conversations |"),
             "|---:|---|---|---|---|---|---:|---:|"]
    for borrowers, layout, data in _layouts(result):
        reps, rasa = data["split"]["replicas"], data["split"]["rasa_turns"]
        by_client = data.get("by_replica") or {"0": {"turns": data["turns"]}}
        pods = sorted(reps)
        turns = _per_pod({p: sum(reps[p]["turns"].values()) for p in pods})
        actions = _per_pod({p: sum(reps[p]["actions"].values()) for p in pods})
        client = " / ".join(str(by_client.get(str(i), {}).get("turns", 0)) for i in range(len(pods)))
        failovers = sum(reps[p]["failovers"].get("turns", 0) for p in pods)
        lines.append(f"| {borrowers} | {layout} | {turns} | {client} | {_per_pod(rasa)} | {actions} | "
                     f"{failovers:g} | {data['trackers']['hopped']:g} |")
    return lines


def _lost_table(result: dict[str, Any]) -> list[str]:
    lines = [("| borrowers | layout | turns sent (client) | turns counted by the replicas | no reply | "
             "WebSocket messages missing: all / on sockets held by the other replica | trackers checked (left out) | "
             "user turns missing / extra |"),
             "|---:|---|---:|---:|---:|---|---:|---|"]
    for borrowers, layout, data in _layouts(result):
        reps, ws, trackers = data["split"]["replicas"], data.get("websocket", {}), data["trackers"]
        server = sum(sum(c["turns"].values()) for c in reps.values())
        lines.append(
            f"| {borrowers} | {layout} | {data['turns'] + data.get('warm_up_turns', 0)} | {server:g} | "
            f"{_unanswered(data)} | {ws.get('messages_missing', 0)} of {ws.get('messages_expected', 0)} / "
            f"{ws.get('elsewhere_missing', 0)} ({ws.get('elsewhere', 0)} sockets) | {trackers['checked']:g} "
            f"({trackers.get('unanswered', 0):g}) | "
            f"{trackers['user_turns_missing']:g} / {trackers['user_turns_extra']:g} |")
    return lines


def _verdict(result: dict[str, Any]) -> list[str]:
    lines = []
    for level in result["levels"]:
        one, two = level["layouts"].get("1+1"), level["layouts"].get("2+2")
        if not one or not two or not one["throughput_turns_per_s"]:
            continue
        c1 = sum(cpu_ms_per_turn(result, "1+1", level)[k] for k in SYSTEM)
        c2 = sum(cpu_ms_per_turn(result, "2+2", level)[k] for k in SYSTEM)
        lines.append(f"- {level['borrowers']} borrowers: 2+2 carried {two['throughput_turns_per_s'] / one['throughput_turns_per_s']:.2f}x "
                     f"the turns/s of 1+1 (p95 {ms_text(two['latency_ms']['p95'])} against {ms_text(one['latency_ms']['p95'])} ms); "
                     f"the pods' CPU per turn was {c2:,.1f} ms against {c1:,.1f} ms ({c2 / c1 if c1 else 0:.2f}x).")
    for layout in ("1+1", "2+2"):
        best = max((lv for lv in result["levels"] if layout in lv["layouts"]),
                   key=lambda lv: lv["layouts"][layout]["throughput_turns_per_s"] or 0, default=None)
        if best:
            data = best["layouts"][layout]
            lines.append(f"- Most turns/s of {layout}: {data['throughput_turns_per_s']} at {best['borrowers']} borrowers "
                         f"(p95 {ms_text(data['latency_ms']['p95'])} ms{', saturated' if saturated(data) else ''}).")
    return lines


def render(result: dict[str, Any]) -> str:
    cfg, machine = result["config"], result["machine"]
    tiny = min(d["turns"] for lv in result["levels"] for d in lv["layouts"].values()) < TINY_TURNS
    lines = [
        "# Scale benchmark: one pod against two" + (" (SMOKE TEST: too few turns to quote)" if tiny else ""),
        "",
        (f"Borrower levels {', '.join(str(n) for n in cfg['levels'])}; at each, {cfg['duration_s']:g} s per layout in "
         f"{cfg['rounds']} alternating rounds (1+1 first), mean think time {cfg['think_s']:g} s, up to {cfg['turns']} "
         f"messages per conversation. 1+1: every conversation on replica a, which asks Rasa a (pod b idle, still "
         f"running). 2+2: conversations round-robin over replicas a and b and sticky, {cfg['ws_elsewhere']:.0%} of "
         f"their WebSockets on the other replica, {cfg['hop_share']:.0%} of them alternating replicas turn by turn. "
         f"PostgreSQL + Redis on this machine. Machine: {machine['cpus']} cores, {machine['platform']}, 1-minute load "
         f"average {machine['load_average_1m']['start']} at the start and {machine['load_average_1m']['end']} at the "
         f"end. Run {result['generated_at']} with `{result['command']}` ({result['wall_clock_s'] / 60:.0f} min)."),
        "",
        *_results_table(result),
        "",
        ("CPU per turn (ms of CPU each kind of process used during the layout's rounds, divided by its turns; both "
        "pods' processes are counted in both layouts, idle or not):"),
        "",
        *_cpu_table(result),
        "",
        "Where the turns went:",
        "",
        *_split_table(result),
        "",
        "What was lost:",
        "",
        *_lost_table(result),
        "",
        *_verdict(result),
        "",
        ("- Each replica asks its own pod's Rasa first (RASA_URL = own, other), so without a failure a replica's turns "
        "go to its own Rasa; the Rasa column is the replicas' calls to Rasa with the failovers they logged moved "
        "over, and the action servers' counts (one per Rasa) are that Rasa's own record. A conversation that hops "
        "between replicas is therefore served by both Rasa servers turn by turn, from the one tracker store; the "
        "check reads each such conversation's tracker back and counts its user turns. Left out: hopped conversations "
        "with a turn Rasa did not answer (a fallback, or a request for a person that the replica queued itself "
        "because Rasa had no free slot or missed RASA_HANDOFF_BUDGET_S): that message never reached Rasa, or its "
        "turn there was cancelled when the replica gave up, so whether the tracker holds it is not known."),
        ("- No reply: the turn's HTTP answer carried no bot message (Rasa's `200 []`) or failed. A fallback is a "
        "reply (the honest 'assistant is having trouble' message)."),
    ]
    if cfg.get("not_sampled"):
        lines.append(f"- Not on this machine or not visible, so not sampled: {', '.join(cfg['not_sampled'])}.")
    return "\n".join(lines) + "\n"
