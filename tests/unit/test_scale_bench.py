"""The scale benchmark's own logic (benchmarks/load/): how the stand-in load balancer places conversations,
the order of the alternating rounds, and how a round's counters become the split over replicas and Rasa
servers. The benchmark itself starts two pods and is run by hand (benchmarks/load/scale.py)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PATHS = [str(ROOT / "benchmarks" / "load"), str(ROOT / "tests" / "integration"), str(ROOT / "tests")]
MODULES = ("balancer", "rounds", "scale", "scale_report", "pods", "memory", "mix", "report", "stats", "client",
           "production_layout", "rasa_stack", "service_process", "scratch_db", "tcp_proxy")


@pytest.fixture
def load() -> Iterator[dict[str, ModuleType]]:
    sys.path[:0] = PATHS
    try:
        import balancer
        import rounds
        import scale

        yield {"balancer": balancer, "rounds": rounds, "scale": scale}
    finally:  # generic module names: leave no trace for other tests
        for path in PATHS:
            sys.path.remove(path)
        for name in MODULES:
            sys.modules.pop(name, None)


def test_conversations_go_round_robin_and_stick(load: dict[str, ModuleType]) -> None:
    balancer = load["balancer"].Balancer(2, seed=3)
    routes = [balancer.place() for _ in range(100)]
    assert Counter(r.home for r in routes) == {0: 50, 1: 50}
    assert all(r.ws == r.home and not r.hops for r in routes)
    assert {routes[0].replica_for(turn, 2) for turn in range(6)} == {routes[0].home}


def test_some_websockets_elsewhere_and_some_conversations_hop(load: dict[str, ModuleType]) -> None:
    balancer = load["balancer"].Balancer(2, ws_elsewhere=0.5, hop_share=0.2, seed=1)
    routes = [balancer.place() for _ in range(2000)]
    elsewhere = [r for r in routes if r.ws != r.home]
    hopping = [r for r in routes if r.hops]
    assert 0.45 < len(elsewhere) / len(routes) < 0.55
    assert 0.17 < len(hopping) / len(routes) < 0.23
    assert {r.home for r in elsewhere} == {0, 1}  # both replicas' conversations have sockets on the other one
    assert [hopping[0].replica_for(turn, 2) for turn in range(4)] == [hopping[0].home, 1 - hopping[0].home] * 2


def test_one_replica_takes_everything(load: dict[str, ModuleType]) -> None:
    balancer = load["balancer"].Balancer(1, ws_elsewhere=1.0, hop_share=1.0)
    assert all(r.home == r.ws == r.replica_for(3, 1) == 0 for r in (balancer.place() for _ in range(10)))


def test_bad_shares_are_refused(load: dict[str, ModuleType]) -> None:
    with pytest.raises(ValueError, match="within 0..1"):
        load["balancer"].Balancer(2, ws_elsewhere=1.5)


def test_rounds_alternate_so_both_layouts_see_the_same_machine(load: dict[str, ModuleType]) -> None:
    assert load["rounds"].round_order(["1+1", "2+2"], 3) == [
        (0, "1+1"), (0, "2+2"), (1, "2+2"), (1, "1+1"), (2, "1+1"), (2, "2+2"),
    ]


def test_a_rounds_counters_split_over_replicas_and_rasa_servers(load: dict[str, ModuleType]) -> None:
    scale = load["scale"]
    before = {"a": {"turns": {"answered": 10.0}, "rasa_calls": {"ok": 10.0}, "failovers": {"turns": 0.0}},
              "b": {"turns": {}, "rasa_calls": {"ok": 4.0}, "failovers": {"turns": 1.0}}}
    after = {"a": {"turns": {"answered": 40.0, "handoff": 5.0}, "rasa_calls": {"ok": 45.0}, "failovers": {"turns": 2.0}},
             "b": {"turns": {"answered": 30.0}, "rasa_calls": {"ok": 34.0, "timeout": 1.0}, "failovers": {"turns": 1.0}}}
    split = scale.difference(after, before)
    assert split["a"]["turns"] == {"answered": 30.0, "handoff": 5.0}
    assert split["b"]["rasa_calls"] == {"ok": 30.0, "timeout": 1.0}
    # a's 35 calls, two of which it moved to Rasa b after a connection error; b's 31 calls stayed on b
    assert scale.rasa_turns(split) == {"a": 33.0, "b": 33.0}
    assert scale.added(split, split)["a"]["failovers"] == {"turns": 4.0}


def test_rounds_add_up_even_when_a_label_shows_up_in_one_round_only(load: dict[str, ModuleType]) -> None:
    first = {"a": {"turns": {"answered": 3.0}}}
    second = {"a": {"turns": {"answered": 2.0, "fallback": 1.0}}, "b": {"turns": {"answered": 4.0}}}
    assert load["scale"].added(first, second) == {
        "a": {"turns": {"answered": 5.0, "fallback": 1.0}}, "b": {"turns": {"answered": 4.0}},
    }
