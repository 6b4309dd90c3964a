"""Turn records and their summary: latency percentiles, throughput and outcome counts."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class TurnRecord:
    started_s: float  # since the phase started
    latency_s: float
    kind: str  # faq | small_talk | out_of_scope | handoff
    lang: str
    outcome: str  # answer | handoff | fallback | queued | empty | error:<what>
    replica: int = 0  # which service replica took the turn (its place in the client's --url list)


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_summary(latencies: list[float]) -> dict[str, float | None]:
    values = sorted(latencies)
    ms = {f"p{q}": percentile(values, q) for q in (50, 95, 99)}
    return {
        **{k: None if v is None else round(v * 1000, 1) for k, v in ms.items()},
        "max": round(values[-1] * 1000, 1) if values else None,
        "mean": round(sum(values) / len(values) * 1000, 1) if values else None,
    }


def summarise(records: list[TurnRecord], *, elapsed_s: float) -> dict[str, Any]:
    ok = [r for r in records if not r.outcome.startswith("error")]
    by_kind = {
        kind: {
            "turns": len(rs),
            "latency_ms": latency_summary([r.latency_s for r in rs if not r.outcome.startswith("error")]),
            "outcomes": dict(Counter(r.outcome for r in rs).most_common()),
        }
        for kind in sorted({r.kind for r in records})
        for rs in [[r for r in records if r.kind == kind]]
    }
    replicas = sorted({r.replica for r in records})
    by_replica = {
        str(replica): {"turns": len(rs), "outcomes": dict(Counter(r.outcome for r in rs).most_common())}
        for replica in replicas
        for rs in [[r for r in records if r.replica == replica]]
    } if len(replicas) > 1 else {}
    return {
        "turns": len(records),
        "elapsed_s": round(elapsed_s, 2),
        "throughput_turns_per_s": round(len(records) / elapsed_s, 2) if elapsed_s > 0 else None,
        "latency_ms": latency_summary([r.latency_s for r in ok]),
        "outcomes": dict(Counter(r.outcome for r in records).most_common()),
        "error_rate": round(1 - len(ok) / len(records), 4) if records else None,
        "by_kind": by_kind,
        **({"by_replica": by_replica} if by_replica else {}),
    }


def as_rows(records: list[TurnRecord]) -> list[dict[str, Any]]:
    return [asdict(r) for r in records]
