"""Issue 13, item 6: one handoff packet on every path - the button keeps an angry borrower urgent, what a
queued borrower writes re-prioritises the chat, the summary is readable and names the FAQ answered, and
the packet's priority is always the card's (also after an SLA breach)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agent_support import make_settings
from borrower_helpers import ScriptedRasa, faq_reply, handoff_reply, start
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from actions.packet import summarize
from handoff.infra.clock import FakeClock
from handoff.infra.db import session_scope
from handoff.models import AuditEvent, Complaint, Message, QueueEntry
from handoff.queue import sla


def _entry(engine: Engine, cid: str) -> QueueEntry:
    with session_scope(engine) as session:
        entry = session.scalars(select(QueueEntry).where(QueueEntry.conversation_id == cid)).one()
        _ = entry.packet  # load the deferred column inside the session
        return entry


def _say(client: TestClient, cid: str, auth: dict[str, str], text: str) -> dict[str, Any]:
    resp = client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": text})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_angry_borrower_who_presses_the_button_stays_urgent(bot_client: TestClient, engine: Engine) -> None:
    cid, auth = start(bot_client)
    _say(bot_client, cid, auth, "You people are useless idiots!!")
    assert bot_client.post(f"/api/conversations/{cid}/handoff", headers=auth).json()["state"] == "queued"
    entry = _entry(engine, cid)
    assert entry.priority == entry.packet["priority"] == "urgent"
    assert entry.packet["trigger"] == "button" and entry.packet["anger"]["max"] >= 0.6
    assert entry.summary.startswith("Borrower pressed 'Talk to a person'. Last message: “You people")


def test_summary_is_readable_and_names_the_faq_answered_in_both_languages(
    bot_client: TestClient, engine: Engine, scripted_rasa: ScriptedRasa
) -> None:
    scripted_rasa.script = lambda body: (200, faq_reply("Open the app, then Payoff."), 0.0)
    cid, auth = start(bot_client)
    _say(bot_client, cid, auth, "how do I get a payoff quote")
    bot_client.post(f"/api/conversations/{cid}/handoff", headers=auth)
    entry = _entry(engine, cid)
    assert entry.packet["faq_answered"][0]["faq_id"] == "payoff-quote"
    assert entry.summary.endswith(". FAQ answered: How do I get a payoff quote?")  # no "?." at the end
    assert ".L" not in entry.summary and ".F" not in entry.summary  # a space after every sentence
    scripted_rasa.script = lambda body: (
        200, faq_reply("打开App。", faq_id="payoff-quote-zh", title="如何获取提前结清金额？"), 0.0)
    cid_zh, auth_zh = start(bot_client, "zh")
    _say(bot_client, cid_zh, auth_zh, "怎么查结清金额")
    bot_client.post(f"/api/conversations/{cid_zh}/handoff", headers=auth_zh)
    zh = _entry(engine, cid_zh)
    assert zh.summary == "客户点击了“转人工客服”。最后一条消息：“怎么查结清金额”。已回答的常见问题：「如何获取提前结清金额？」。"


def test_the_bots_packet_gets_the_faq_answered_and_the_priority_of_the_words(
    bot_client: TestClient, engine: Engine, scripted_rasa: ScriptedRasa
) -> None:
    replies = iter([faq_reply("Open the app."), handoff_reply()])
    scripted_rasa.script = lambda body: (200, next(replies), 0.0)
    cid, auth = start(bot_client)
    _say(bot_client, cid, auth, "payoff quote please")
    assert _say(bot_client, cid, auth, "you useless idiots, get me a person")["state"] == "queued"
    entry = _entry(engine, cid)
    assert entry.summary == "Borrower asked for a person. FAQ answered: How do I get a payoff quote?"
    assert entry.priority == entry.packet["priority"] == "urgent"  # the bot said normal; the words say more


def test_messages_while_queued_reprioritise_and_open_a_complaint(bot_client: TestClient, engine: Engine) -> None:
    cid, auth = start(bot_client)
    bot_client.post(f"/api/conversations/{cid}/handoff", headers=auth)
    assert _entry(engine, cid).priority == "normal"
    _say(bot_client, cid, auth, "Hello?? This is ridiculous, is anyone there?")
    assert _entry(engine, cid).priority == "high"  # upset, not yet angry
    turn = _say(bot_client, cid, auth, "I want to file a formal complaint about this")
    entry = _entry(engine, cid)
    assert entry.priority == entry.packet["priority"] == "urgent"
    assert [s["complaint"] for s in entry.packet["queued_signals"]] == [False, True]
    told = [m["text"] for m in turn["messages"]] + [
        m["text"] for m in bot_client.get(f"/api/conversations/{cid}/messages", headers=auth).json()["messages"]]
    with session_scope(engine) as session:
        complaint = session.scalars(select(Complaint).where(Complaint.conversation_id == cid)).one()
        assert (complaint.due_at - complaint.opened_at).days == 15
        changes = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "reprioritised")).all()
        assert [(c["from"], c["to"]) for c in changes] == [("normal", "high"), ("high", "urgent")]
    assert any(complaint.reference in t and "Consumer Financial Protection Bureau" in t for t in told)


def test_chinese_complaint_while_queued_is_told_in_chinese(bot_client: TestClient, engine: Engine) -> None:
    cid, auth = start(bot_client, "zh")
    bot_client.post(f"/api/conversations/{cid}/handoff", headers=auth)
    _say(bot_client, cid, auth, "我要投诉你们乱收费")
    with session_scope(engine) as session:
        texts = session.scalars(select(Message.text).where(Message.conversation_id == cid)).all()
    assert any("我们已登记您的投诉" in t and "12378" in t for t in texts)
    assert _entry(engine, cid).priority == "urgent"


def test_sla_breach_keeps_the_packet_and_the_card_in_step(engine: Engine, bot_client: TestClient) -> None:
    cid, auth = start(bot_client)
    bot_client.post(f"/api/conversations/{cid}/handoff", headers=auth)
    clock = FakeClock(datetime.now(UTC))  # the app's own SLA loop (real time) must not breach it first
    with session_scope(engine) as session:
        session.scalars(select(QueueEntry)).one().enqueued_at = clock.now()
    clock.advance(200)
    with session_scope(engine) as session:
        report = sla.check(session, clock=clock, settings=make_settings())
    assert report.breached == [cid]
    entry = _entry(engine, cid)
    assert entry.priority == entry.packet["priority"] == "high"


def test_the_bots_own_summary_has_a_space_after_each_sentence() -> None:
    english = summarize(lang="en", reason="explicit_request", trigger=None, topics=["complaint"],
                        last_text="get me a person", candidates=[{"title": "Late fees"}], previous_note=None)
    assert english == ("Borrower asked for a person. Topics: complaint. Last message: “get me a person”. "
                       "FAQs tried: Late fees.")
    chinese = summarize(lang="zh", reason="explicit_request", trigger=None, topics=[], last_text="转人工",
                        candidates=[], previous_note=None)
    assert chinese == "客户要求转人工。最后一条消息：“转人工”。"


def test_a_chinese_bot_packet_gets_the_faq_answered_without_a_stray_space(
    bot_client: TestClient, engine: Engine, scripted_rasa: ScriptedRasa
) -> None:
    replies = iter([faq_reply("打开App。", faq_id="late-fee-zh", title="逾期费用是多少？"),
                    handoff_reply(lang="zh")])
    scripted_rasa.script = lambda body: (200, next(replies), 0.0)
    cid, auth = start(bot_client, "zh")
    _say(bot_client, cid, auth, "逾期费多少")
    _say(bot_client, cid, auth, "转人工")
    assert _entry(engine, cid).summary == "Borrower asked for a person.已回答的常见问题：「逾期费用是多少？」。"


def test_a_title_that_is_a_question_gets_no_second_full_stop_in_either_summary() -> None:
    english = summarize(lang="en", reason="explicit_request", trigger=None, topics=[], last_text="",
                        candidates=[{"title": "How much is the late fee?"}], previous_note="called yesterday")
    assert english == ("Borrower asked for a person. FAQs tried: How much is the late fee? "
                       "A person helped earlier: called yesterday.")
    chinese = summarize(lang="zh", reason="explicit_request", trigger=None, topics=[], last_text="",
                        candidates=[{"title": "逾期费用是多少？"}], previous_note=None)
    assert chinese == "客户要求转人工。已尝试的FAQ：逾期费用是多少？"
