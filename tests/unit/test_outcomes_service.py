"""The service stores every bot turn's outcome and every "did this help?" answer, from real turns through
the borrower API (Rasa's REST channel scripted), and never shows the outcome payload to the borrower."""

from __future__ import annotations

from typing import Any

from borrower_helpers import ScriptedRasa, faq_reply, handoff_reply, start
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from handoff.infra.db import session_scope
from handoff.models import TurnOutcome


def outcome(kind: str, **detail: Any) -> dict[str, Any]:
    return {"custom": {"type": "turn_outcome", "outcome": kind, **detail}}


def rows(engine: Engine) -> list[tuple[Any, ...]]:
    with session_scope(engine) as s:
        found = s.scalars(select(TurnOutcome).order_by(TurnOutcome.id)).all()
        return [(r.kind, r.faq_id, r.score, r.helped, r.reason, r.question, r.lang, r.borrower_seq) for r in found]


def say(client: TestClient, cid: str, headers: dict[str, str], text: str) -> dict[str, Any]:
    sent = client.post(f"/api/conversations/{cid}/messages", json={"text": text}, headers=headers)
    assert sent.status_code == 200, sent.text
    return sent.json()


def test_answer_then_helped_then_not_helped(bot_client: TestClient, scripted_rasa: ScriptedRasa,
                                              engine: Engine) -> None:
    cid, headers = start(bot_client)
    scripted_rasa.script = lambda body: (
        200, [*faq_reply("Ask for a payoff quote in the app."), outcome("answer", faq_id="payoff-quote", score=0.82)],
        0.0)
    turn = say(bot_client, cid, headers, "how do I get a payoff quote, my phone is 415-555-0134")
    assert all((m.get("payload") or {}).get("custom", {}).get("type") != "turn_outcome" for m in turn["messages"])
    scripted_rasa.script = lambda body: (200, [{"text": "Glad it helped!"}], 0.0)
    say(bot_client, cid, headers, "/affirm")
    scripted_rasa.script = lambda body: (200, [outcome("feedback", helped=False), {"text": "Could you rephrase?"}],
                                         0.0)
    say(bot_client, cid, headers, "that didn't help")
    found = rows(engine)
    assert [r[:5] for r in found] == [
        ("answer", "payoff-quote", 0.82, None, None),
        ("feedback", "payoff-quote", 0.82, True, None),
        ("feedback", "payoff-quote", 0.82, False, None),
    ]
    # Masked, and a feedback carries the question it is about.
    assert "415-555-0134" not in found[0][5] and found[1][5] == found[0][5] == found[2][5]
    assert found[0][7] == 1 and found[1][7] == 3


def test_zh_clarify_none_handoff_and_bot_down(bot_client: TestClient, scripted_rasa: ScriptedRasa,
                                              engine: Engine) -> None:
    cid, headers = start(bot_client, lang="zh")
    scripted_rasa.script = lambda body: (200, [{"text": "您是想问哪一个？", "buttons": [{"title": "A", "payload": "/a"}]},
                                               outcome("clarify", faq_id="payoff-quote-zh", score=0.5,
                                                       options=["payoff-quote-zh", "late-fee-zh"])], 0.0)
    say(bot_client, cid, headers, "提前还款")
    scripted_rasa.script = lambda body: (200, [{"text": "抱歉，我不知道。"}, outcome("none")], 0.0)
    say(bot_client, cid, headers, "我的车被拖走了怎么办")
    scripted_rasa.script = lambda body: (500, {"error": "down"}, 0.0)
    say(bot_client, cid, headers, "你好？")
    scripted_rasa.script = lambda body: (200, handoff_reply(reason="repeated_fallback", lang="zh"), 0.0)
    say(bot_client, cid, headers, "转人工")
    found = rows(engine)
    assert [r[:5] for r in found] == [
        ("clarify", "payoff-quote-zh", 0.5, None, None),
        ("none", None, None, None, None),
        ("bot_unavailable", None, None, None, None),
        ("handoff", "payoff-quote", 0.4, None, "repeated_fallback"),
    ]
    assert [r[5] for r in found] == ["提前还款", "我的车被拖走了怎么办", "你好？", "转人工"]
    assert {r[6] for r in found} == {"zh"}


def test_affirm_without_an_answer_before_it_is_not_a_feedback(bot_client: TestClient, scripted_rasa: ScriptedRasa,
                                                             engine: Engine) -> None:
    cid, headers = start(bot_client)
    scripted_rasa.script = lambda body: (200, [{"text": "Hello!"}], 0.0)
    say(bot_client, cid, headers, "/affirm")
    assert rows(engine) == []
