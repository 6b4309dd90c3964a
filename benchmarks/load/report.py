"""The markdown summary of a load run (benchmarks/results/load.md), written from load.json's content."""

from __future__ import annotations

from typing import Any

from memory import TOGETHER

TARGETS = (("service", "through the service"), ("rasa", "bare Rasa webhook (floor)"))


def ms_text(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _outcomes(phase: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in phase.get("outcomes", {}).items()) or "-"


# The targets for a 2-core machine, checked on every run.
MIN_TURNS_PER_S = 20.0
MAX_P95_MS = 500.0
# Issue 17: the median at most 1.2x bare Rasa on SQLite and 1.3x on PostgreSQL + Redis, p95 at most 1.5x on both.
MAX_P50_RATIO = {"sqlite": 1.2, "postgresql": 1.3}
MAX_P95_RATIO = 1.5


def _targets(phases: dict[str, Any], database: str) -> list[str]:
    service, rasa = phases.get("service"), phases.get("rasa")
    if not service:
        return []
    checks = [
        (f">= {MIN_TURNS_PER_S:g} turns/s", f"{service['throughput_turns_per_s']}",
         service["throughput_turns_per_s"] >= MIN_TURNS_PER_S),
        (f"p95 <= {MAX_P95_MS:g} ms", f"{ms_text(service['latency_ms']['p95'])} ms",
         service["latency_ms"]["p95"] is not None and service["latency_ms"]["p95"] <= MAX_P95_MS),
    ]
    if rasa and rasa["latency_ms"]["p50"] and rasa["latency_ms"]["p95"] and service["latency_ms"]["p95"]:
        limit = MAX_P50_RATIO["postgresql" if database.startswith("postgresql") else "sqlite"]
        ratio = service["latency_ms"]["p50"] / rasa["latency_ms"]["p50"]
        checks.append((f"median within {limit:g}x of bare Rasa", f"{ratio:.2f}x", ratio <= limit))
        ratio95 = service["latency_ms"]["p95"] / rasa["latency_ms"]["p95"]
        checks.append((f"p95 within {MAX_P95_RATIO:g}x of bare Rasa", f"{ratio95:.2f}x", ratio95 <= MAX_P95_RATIO))
    return ["", "Targets through the service: " + "; ".join(
        f"{name}: {value}, {'met' if ok else 'NOT met'}" for name, value, ok in checks) + "."]


def _rounds(cfg: dict[str, Any]) -> str:
    rounds = int(cfg.get("rounds") or 1)
    if rounds == 1:
        return ""
    order = ", ".join(("Rasa, service" if n % 2 == 0 else "service, Rasa") for n in range(rounds))
    return f" in {rounds} alternating rounds of {cfg['duration_s'] / rounds:g} s ({order})"


def render(result: dict[str, Any]) -> str:
    cfg, phases = result["config"], result["phases"]
    lines = [
        "# Load benchmark",
        "",
        (f"{cfg['borrowers']} borrowers chatting at once for {cfg['duration_s']:g} s per target{_rounds(cfg)}, "
        f"mean think time {cfg['think_s']:g} s, up to {cfg['turns']} messages per conversation; message mix "
        f"{', '.join(f'{k} {v:.0%}' for k, v in cfg['mix'].items())}; languages "
        f"{', '.join(f'{k} {v:.0%}' for k, v in cfg['languages'].items())}. "
        f"Machine: {result['machine']['cpus']} cores, {result['machine']['platform']}, 1-minute load average "
        f"{result['machine']['load_average_1m']['start']} at the start and "
        f"{result['machine']['load_average_1m']['end']} at the end (other work on the machine skews the figures). "
        f"Run {result['generated_at']} with `{result['command']}`."),
        "",
        "| | turns | turns/s | p50 ms | p95 ms | p99 ms | max ms | errors | outcomes |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key, label in TARGETS:
        phase = phases.get(key)
        if not phase:
            continue
        lat = phase["latency_ms"]
        lines.append(
            f"| {label} | {phase['turns']} | {phase['throughput_turns_per_s']} | {ms_text(lat['p50'])} | "
            f"{ms_text(lat['p95'])} | {ms_text(lat['p99'])} | {ms_text(lat['max'])} | {phase['error_rate']:.1%} | "
            f"{_outcomes(phase)} |"
        )
    lines += _targets(phases, str(cfg.get("database", "sqlite")))
    cmp_ = result.get("service_vs_rasa") or {}
    if cmp_:
        added = ", ".join(f"{q} {cmp_[f'{q}_added_ms']:+,.0f} ms" for q in ("p50", "p95", "p99") if f"{q}_added_ms" in cmp_)
        lines += ["", f"Service minus floor: {added}." + (
            "" if cmp_.get("comparable") else
            " Not comparable: at least one target was saturated (over 5% of turns fell back or timed out), so"
            " these differences measure queues, not the service's own cost; compare the answers delivered:"
            f" {cmp_['answers']['service']} through the service, {cmp_['answers']['rasa']} from bare Rasa."
        )]
    ws = phases.get("service", {}).get("websocket")
    if ws:
        lines += ["", (f"WebSocket (one per service conversation): {ws['sessions']} opened, {ws['failed']} failed, "
                  f"{ws['messages_missing']} of {ws['messages_expected']} stored messages not delivered.")]
    memory = result.get("memory_mb") or {}
    if memory:
        phase_names = sorted({p for per in memory.values() for p in per})
        lines += ["", ("Resident memory (RSS, MB: max / mean over the phase; all together = the service, Rasa and the"
                       " action server at the same moment, without the load client and without PostgreSQL or Redis):"),
                  "",
                  "| process | " + " | ".join(phase_names) + " |", "|---|" + "---:|" * len(phase_names)]
        for name, per in sorted(memory.items(), key=lambda item: item[0] == TOGETHER):
            cells = [f"{per[p]['max_mb']:,.0f} / {per[p]['mean_mb']:,.0f}" if p in per else "-" for p in phase_names]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += _cpu_per_turn(result)
    notes = result.get("notes") or []
    if notes:
        lines += ["", *[f"- {note}" for note in notes]]
    return "\n".join(lines) + "\n"


def _cpu_per_turn(result: dict[str, Any]) -> list[str]:
    """CPU milliseconds each process spent per completed turn of a phase: where a turn's cost goes."""
    cpu, phases = result.get("cpu_s") or {}, result.get("phases") or {}
    targets = [(key, label) for key, label in TARGETS if phases.get(key, {}).get("turns")]
    if not cpu or not targets:
        return []
    lines = ["", "CPU per turn (ms of CPU each process used during the phase, divided by its turns):", "",
             "| process | " + " | ".join(label for _, label in targets) + " |", "|---|" + "---:|" * len(targets)]
    totals = dict.fromkeys((key for key, _ in targets), 0.0)
    for name, per in cpu.items():
        cells = []
        for key, _ in targets:
            seconds = per.get(f"{key} load")
            if seconds is None:
                cells.append("-")
                continue
            ms = seconds * 1000 / phases[key]["turns"]
            totals[key] += ms
            cells.append(f"{ms:,.0f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| all together | " + " | ".join(f"{totals[key]:,.0f}" for key, _ in targets) + " |")
    return lines


def render_agent_delivery(result: dict[str, Any], *, heading: str) -> str:
    """The agent -> borrower delivery table (agent_delivery.md, and a section of load.md)."""
    cfg, machine = result["config"], result["machine"]
    lines = [
        heading,
        "",
        (f"{cfg['borrowers']} borrowers waiting with a WebSocket open, {cfg['agents']} agents each replying every "
        f"{cfg['interval_s']:g} s round-robin over their chats for {cfg['duration_s']:g} s (POST "
        f"/api/agent/conversations/{{id}}/messages, as the console does); target delivery p95 <= "
        f"{cfg['target_p95_ms']:g} ms. Machine: {machine['cpus']} cores, 1-minute load average "
        f"{machine['load_average_1m']['start']} at the start and {machine['load_average_1m']['end']} at the end. "
        f"Run {result['generated_at']} with `{result['command']}`."),
        "",
        ("| setup | replies | msg/s | delivery p50 ms | p95 | p99 | max | HTTP answer p50 ms | p95 | lost | "
         "duplicates | target met |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for setup in result["setups"]:
        d, h = setup["delivery_ms"], setup["http_ms"]
        where = f"{setup['database']}{' + Redis' if setup['redis'] else ''}, {setup['replicas']} replica" + (
            "s (borrowers on one, agents on the other)" if setup["replicas"] > 1 else "")
        lines.append(
            f"| {where} | {setup['sent']} | {setup['messages_per_s']} | {_ms1(d['p50'])} | {_ms1(d['p95'])} | "
            f"{_ms1(d['p99'])} | {_ms1(d['max'])} | {_ms1(h['p50'])} | {_ms1(h['p95'])} | {setup['lost']} | "
            f"{setup['duplicates']} | {'yes' if setup['meets_target'] else 'no'} |"
        )
    for setup in result["setups"]:
        extra = []
        if setup["send_errors"]:
            extra.append(f"send errors {setup['send_errors']}")
        if setup["misrouted"] or setup["seq_gaps"] or setup["unknown"]:
            extra.append(f"misrouted {setup['misrouted']}, seq gaps {setup['seq_gaps']}, unknown {setup['unknown']}")
        lag = setup["client_loop_lag_ms"]
        names = ("borrowers' replica ", "agents' replica ") if len(setup["service_cpu_s"]) == 2 else ("",)
        cpu = ", ".join(f"{n}{c:g} s" for n, c in zip(names, setup["service_cpu_s"], strict=True))
        rss = ", ".join(f"{m:,.0f} MB" for m in setup["service_rss_mb"])
        lines += ["", (f"{setup['label']}: service CPU time while the agents replied {cpu} "
                  f"({setup['service_cpu_ms_per_reply']:g} ms per reply), RSS {rss}; the client's own event "
                  f"loop woke late by p99 {_ms1(lag['p99'])} ms (max {_ms1(lag['max'])} ms); "
                  f"{setup['delivered_before_http_answer']} of {setup['delivered']} replies reached the borrower "
                  f"before the agent had the HTTP answer." + (f" {'; '.join(extra)}." if extra else ""))]
    lines += _cpu_per_turn(result)
    notes = result.get("notes") or []
    if notes:
        lines += ["", *[f"- {note}" for note in notes]]
    return "\n".join(lines) + "\n"


def _ms1(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"
