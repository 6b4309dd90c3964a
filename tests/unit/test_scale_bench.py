"""The scale benchmark's own logic (benchmarks/load/): how the stand-in load balancer places conversations,
the order of the alternating rounds, how a round's counters become the split over replicas and Rasa
servers, and which borrower messages the tracker check expects in Rasa's tracker. The benchmark itself starts
two pods and is run by hand (benchmarks/load/scale.py)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from handoff import texts

ROOT = Path(__file__).resolve().parents[2]
PATHS = [str(ROOT / "benchmarks" / "load"), str(ROOT / "tests" / "integration"), str(ROOT / "tests")]
MODULES = ("balancer", "rounds", "scale", "scale_report", "pods", "memory", "mix", "report", "stats", "client",
           "production_layout", "rasa_stack", "service_process", "scratch_db", "tcp_proxy")


@pytest.fixture
def load() -> Iterator[dict[str, ModuleType]]:
    sys.path[:0] = PATHS
    try:
        import balancer
        import client
        import rounds
        import scale

        yield {"balancer": balancer, "client": client, "rounds": rounds, "scale": scale}
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


BOT_HANDOFF = {  # Rasa's action_handoff: its words to the borrower are stored as the bot's (utter_handoff)
    "en": "I'm connecting you with a person now. They will see our conversation, so you won't need to repeat "
          "yourself. You can keep typing here while you wait.",
    "zh": "正在为您转接真人客服。客服能看到我们的对话记录，您不需要重复说明。等待期间您可以继续在这里留言。",
}
ASKS_FOR_A_PERSON = {"en": "I want to talk to a real person", "zh": "我要人工客服"}


def _turn(seq: int, lang: str, *replies: tuple[str, str], state: str) -> dict[str, Any]:
    """A service turn's answer: the borrower's message and what followed it, and the state after it."""
    messages = [{"seq": seq, "sender": "borrower", "text": ASKS_FOR_A_PERSON[lang], "payload": {}}]
    messages += [{"seq": seq + 1 + n, "sender": sender, "text": text, "payload": {}}
                 for n, (sender, text) in enumerate(replies)]
    return {"messages": messages, "state": state, "lang": lang}


def _say(client: ModuleType, monkeypatch: pytest.MonkeyPatch, answers: list[dict[str, Any]]) -> Any:
    """A hopping conversation through the load client's ServiceTarget, the service answering `answers`."""
    async def post_json(*_: Any, **__: Any) -> tuple[int, str, bytes]:
        return 200, "application/json", json.dumps(answers.pop(0)).encode()

    monkeypatch.setattr(client, "post_json", post_json)
    balancer = SimpleNamespace(place=lambda: client.Route(home=0, ws=0, hops=True))
    target = client.ServiceTarget(["http://127.0.0.1:1", "http://127.0.0.1:2"], None, websocket=False,
                                  ws_stats=client.WsStats(), balancer=balancer)
    session = client.Session(id="c1", lang="en", route=balancer.place())

    async def chat() -> list[str]:
        outcomes = [await target.say(session, "hi") for _ in range(len(answers))]
        await target.close(session)
        return outcomes

    return asyncio.run(chat()), target.hopped


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_request_for_a_person_queued_without_rasa_is_not_a_turn_rasa_took(
    load: dict[str, ModuleType], monkeypatch: pytest.MonkeyPatch, lang: str,
) -> None:
    """Rasa busy (no free RASA_MAX_IN_FLIGHT slot) or slower than RASA_HANDOFF_BUDGET_S: the replica queues
    the borrower itself (handoff/borrower/turns.py `_queue_without_bot`). The borrower sees a handoff, but
    the message never reached Rasa (or its turn was cancelled there), so the tracker check must not expect
    it in Rasa's tracker: at 100 borrowers it counted 24 such messages as user turns missing."""
    first = _turn(1, lang, ("bot", "ok"), state="bot")
    queued_by_the_service = _turn(3, lang, ("system", texts.text("queued_bot_down", lang)), state="queued")
    outcomes, hopped = _say(load["client"], monkeypatch, [first, queued_by_the_service])
    assert outcomes == ["answer", "handoff"]
    assert hopped == [{"id": "c1", "turns": 2, "bot_turns": 2, "answered": 1}]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_rasas_own_handoff_and_messages_to_a_person_count_as_before(
    load: dict[str, ModuleType], monkeypatch: pytest.MonkeyPatch, lang: str,
) -> None:
    handed_off_by_rasa = _turn(1, lang, ("bot", BOT_HANDOFF[lang]), state="queued")
    to_the_person = _turn(3, lang, state="queued")  # sent while a person is in charge: never goes to Rasa
    outcomes, hopped = _say(load["client"], monkeypatch, [handed_off_by_rasa, to_the_person])
    assert outcomes == ["handoff", "handoff"]
    assert hopped == [{"id": "c1", "turns": 2, "bot_turns": 1, "answered": 1}]


def test_the_tracker_check_leaves_out_conversations_with_a_turn_rasa_did_not_answer(
    load: dict[str, ModuleType],
) -> None:
    trackers = {"whole": 3, "queued-without-rasa": 1, "short": 0}
    pod = SimpleNamespace(rasa=SimpleNamespace(tracker=lambda cid: {
        "events": [{"event": "action"}] + [{"event": "user"}, {"event": "bot"}] * trackers[cid]}))
    hopped = [{"id": "whole", "turns": 4, "bot_turns": 3, "answered": 3},  # the 4th went to a person
              {"id": "queued-without-rasa", "turns": 2, "bot_turns": 2, "answered": 1},
              {"id": "short", "turns": 1, "bot_turns": 1, "answered": 1}]
    assert load["scale"].check_trackers(pod, hopped) == {
        "hopped": 3, "unanswered": 1, "checked": 1, "user_turns_missing": 0, "user_turns_extra": 0,
    }
