"""The borrower REST API against a scripted stand-in for Rasa's REST channel."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from borrower_helpers import ScriptedRasa, faq_reply, handoff_reply, start
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from handoff.config import Settings
from handoff.infra.db import session_scope
from handoff.models import Message, QueueEntry

CARD = "4111 1111 1111 1111"


def test_a_turn_stores_the_masked_message_and_each_reply(
    bot_client: TestClient, scripted_rasa: ScriptedRasa, engine: Engine
) -> None:
    cid, auth = start(bot_client)
    resp = bot_client.post(
        f"/api/conversations/{cid}/messages",
        headers=auth,
        json={"text": f"card {CARD} payoff?", "client_message_id": "m1"},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [m["sender"] for m in body["messages"]] == ["borrower", "bot"]
    assert body["messages"][0]["text"] == "card [CARD ****1111] payoff?"
    assert body["messages"][1]["text"] == "echo: card [CARD ****1111] payoff?"
    assert body["state"] == "bot"
    assert scripted_rasa.requests[0]["body"] == {
        "sender": cid,
        "message": "card [CARD ****1111] payoff?",
        # The request id travels on to Rasa and the action server (docs/production.md, logs).
        "metadata": {"lang": "en", "request_id": resp.headers["X-Request-ID"]},
    }
    with session_scope(engine, write=False) as s:
        texts = s.scalars(
            select(Message.text).where(Message.conversation_id == cid).order_by(Message.seq)
        ).all()
    assert all("4111" not in t.replace("****1111", "") for t in texts)


def test_raw_numbers_never_reach_the_logs(bot_client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cid, auth = start(bot_client)
    bot_client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": f"{CARD} 13800138000"})
    assert "4111 1111" not in caplog.text and "13800138000" not in caplog.text


def test_faq_answer_keeps_its_citation(bot_client: TestClient, scripted_rasa: ScriptedRasa) -> None:
    scripted_rasa.script = lambda body: (200, faq_reply("Ask for a payoff quote in the app."), 0.0)
    cid, auth = start(bot_client)
    reply = bot_client.post(
        f"/api/conversations/{cid}/messages", headers=auth, json={"text": "payoff"}
    ).json()
    custom = reply["messages"][1]["payload"]["custom"]
    assert custom == {
        "type": "faq_answer",
        "faq_id": "payoff-quote",
        "title": "How do I get a payoff quote?",
        "source": "knowledge_base/faq/en/payoff-quote.md",
    }


def test_handoff_packet_creates_one_queue_entry_with_the_transcript(
    bot_client: TestClient, scripted_rasa: ScriptedRasa, engine: Engine
) -> None:
    cid, auth = start(bot_client)
    bot_client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": "hello"})
    scripted_rasa.script = lambda body: (200, handoff_reply(), 0.0)
    reply = bot_client.post(
        f"/api/conversations/{cid}/messages", headers=auth, json={"text": "person please"}
    ).json()
    assert reply["state"] == "queued" and reply["queue_position"] == 1 and reply["estimated_wait_s"] > 0
    senders = [m["sender"] for m in reply["messages"]]
    assert senders[:2] == ["borrower", "bot"] and "system" in senders
    assert all("packet" not in str(m["payload"]) for m in reply["messages"])  # the packet stays internal
    # While queued, borrower text goes to the agent side, not to Rasa.
    before = len(scripted_rasa.messages())
    routed = bot_client.post(
        f"/api/conversations/{cid}/messages", headers=auth, json={"text": "still there?"}
    ).json()
    assert [m["sender"] for m in routed["messages"]] == ["borrower"]
    assert len(scripted_rasa.messages()) == before
    # Asking again (button or bot) does not create a second entry.
    assert bot_client.post(f"/api/conversations/{cid}/handoff", headers=auth).json()["state"] == "queued"
    with session_scope(engine, write=False) as s:
        entries = s.scalars(select(QueueEntry).where(QueueEntry.conversation_id == cid)).all()
        assert len(entries) == 1
        entry = entries[0]
        assert entry.reason == "explicit_request" and entry.status == "waiting"
        assert entry.packet["turns"][0]["intent"] == "request_human"
        assert entry.packet["faq_candidates"][0]["id"] == "payoff-quote"
        assert [t["text"] for t in entry.packet["transcript"]][:3] == [
            "hello",
            "echo: hello",
            "person please",
        ]
        assert entry.last_borrower_msg_at is not None


@pytest.mark.parametrize(
    ("script", "timeout_s"),
    [
        (lambda body: (200, [], 0.0), 2.0),  # Rasa's way of saying "an action failed"
        (lambda body: (500, {"error": "boom"}, 0.0), 2.0),
        (lambda body: (200, {"not": "a list"}, 0.0), 2.0),
        (lambda body: (200, [{"text": "too late"}], 3.0), 1.0),  # slower than RASA_TIMEOUT_S
    ],
    ids=["empty-list", "http-500", "not-a-list", "slow"],
)
def test_bot_failures_get_an_honest_message_and_an_offer_of_a_person(
    settings, engine, scripted_rasa: ScriptedRasa, script, timeout_s: float
) -> None:
    from handoff.app import create_app

    scripted_rasa.script = script
    app = create_app(
        settings.model_copy(update={"RASA_URL": scripted_rasa.url, "RASA_TIMEOUT_S": timeout_s}), engine
    )
    with TestClient(app) as client:
        cid, auth = start(client, "zh")
        began = time.monotonic()
        reply = client.post(
            f"/api/conversations/{cid}/messages", headers=auth, json={"text": "还款日是哪天"}
        ).json()
        assert time.monotonic() - began < 10
        borrower, system = reply["messages"]
        assert borrower["text"] == "还款日是哪天"
        assert system["sender"] == "system" and "人工" in system["text"]
        assert system["payload"]["buttons"][0]["action"] == "handoff"
        taken = client.post(
            f"/api/conversations/{cid}/handoff", headers=auth, json={"reason": "bot_unavailable"}
        )
        assert taken.json()["state"] == "queued"
    with session_scope(engine, write=False) as s:
        assert (
            s.scalar(select(QueueEntry.reason).where(QueueEntry.conversation_id == cid)) == "bot_unavailable"
        )


def test_rasa_not_listening_at_all(client: TestClient) -> None:
    cid, auth = start(client)  # the default test settings point RASA_URL at a closed port
    began = time.monotonic()
    reply = client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": "hello"}).json()
    assert time.monotonic() - began < 10
    assert [m["sender"] for m in reply["messages"]] == ["borrower", "system"]
    assert "talk to a person" in reply["messages"][1]["text"]


def test_same_client_message_id_is_one_message(
    bot_client: TestClient, scripted_rasa: ScriptedRasa, engine: Engine
) -> None:
    cid, auth = start(bot_client)
    first = bot_client.post(
        f"/api/conversations/{cid}/messages",
        headers=auth,
        json={"text": "hello", "client_message_id": "abc-1"},
    ).json()
    again = bot_client.post(
        f"/api/conversations/{cid}/messages",
        headers=auth,
        json={"text": "hello", "client_message_id": "abc-1"},
    ).json()
    assert again["messages"] == first["messages"]
    assert scripted_rasa.messages() == ["hello"]
    with session_scope(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(Message).where(Message.conversation_id == cid)) == 2


def test_concurrent_retries_of_one_message_make_one_turn(
    bot_client: TestClient, scripted_rasa: ScriptedRasa
) -> None:
    scripted_rasa.script = lambda body: (200, [{"text": "ok"}], 0.3)
    cid, auth = start(bot_client)
    with ThreadPoolExecutor(5) as pool:
        results = list(
            pool.map(
                lambda _: bot_client.post(
                    f"/api/conversations/{cid}/messages",
                    headers=auth,
                    json={"text": "hi", "client_message_id": "same"},
                ).json(),
                range(5),
            )
        )
    assert all(r["messages"] == results[0]["messages"] for r in results)
    assert scripted_rasa.messages() == ["hi"]


def test_twenty_concurrent_sends_are_processed_one_at_a_time_in_order(
    bot_client: TestClient, scripted_rasa: ScriptedRasa
) -> None:
    in_flight = {"now": 0, "max": 0}

    def script(body: dict) -> tuple[int, list, float]:
        in_flight["now"] += 1
        in_flight["max"] = max(in_flight["max"], in_flight["now"])
        time.sleep(0.05)
        in_flight["now"] -= 1
        return 200, [{"text": f"re: {body['message']}"}], 0.0

    scripted_rasa.script = script
    cid, auth = start(bot_client)
    with ThreadPoolExecutor(20) as pool:
        list(
            pool.map(
                lambda i: bot_client.post(
                    f"/api/conversations/{cid}/messages",
                    headers=auth,
                    json={"text": f"msg {i}", "client_message_id": f"c{i}"},
                ),
                range(20),
            )
        )
    assert in_flight["max"] == 1
    messages = bot_client.get(f"/api/conversations/{cid}/messages", headers=auth).json()["messages"]
    assert [m["seq"] for m in messages] == list(range(1, 41))
    for borrower, bot in zip(messages[::2], messages[1::2], strict=True):
        assert borrower["sender"] == "borrower" and bot["text"] == f"re: {borrower['text']}"
    assert scripted_rasa.messages() == [m["text"] for m in messages[::2]]


def test_polling_after_returns_what_came_later_in_order(bot_client: TestClient) -> None:
    cid, auth = start(bot_client)
    for i in range(3):
        bot_client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": f"q{i}"})
    page = bot_client.get(f"/api/conversations/{cid}/messages?after=2", headers=auth).json()
    assert [m["seq"] for m in page["messages"]] == [3, 4, 5, 6]
    assert page["last_seq"] == 6 and page["state"] == "bot"
    assert bot_client.get(f"/api/conversations/{cid}/messages?after=6", headers=auth).json()["messages"] == []


def test_leave_queue_and_callback(bot_client: TestClient, engine: Engine) -> None:
    cid, auth = start(bot_client)
    assert bot_client.post(f"/api/conversations/{cid}/handoff", headers=auth).json()["state"] == "queued"
    left = bot_client.post(f"/api/conversations/{cid}/leave-queue", headers=auth).json()
    assert left["state"] == "bot" and left["queue_position"] is None
    bot_client.post(f"/api/conversations/{cid}/handoff", headers=auth)
    ticket = bot_client.post(
        f"/api/conversations/{cid}/callback",
        headers=auth,
        json={"contact_method": "phone", "contact": "+86 138 0013 8000", "preferred_time": "工作日晚上"},
    )
    assert ticket.status_code == 201, ticket.text
    data = ticket.json()
    assert data["contact"] == "861****8000" and data["state"] == "bot" and data["ticket_id"] > 0
    bad = bot_client.post(
        f"/api/conversations/{cid}/callback",
        headers=auth,
        json={"contact_method": "email", "contact": "not-an-address"},
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
    last = bot_client.get(f"/api/conversations/{cid}/messages", headers=auth).json()["messages"][-1]
    assert last["sender"] == "system" and "#" in last["text"] and "13800138000" not in last["text"]


def test_switching_language(bot_client: TestClient, scripted_rasa: ScriptedRasa) -> None:
    cid, auth = start(bot_client, "en")
    assert (
        bot_client.patch(f"/api/conversations/{cid}", headers=auth, json={"lang": "zh"}).json()["lang"]
        == "zh"
    )
    bot_client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": "你好"})
    assert scripted_rasa.requests[-1]["body"]["metadata"]["lang"] == "zh"


def test_outside_business_hours_the_borrower_is_offered_a_callback(
    settings: Settings, engine: Engine
) -> None:
    from datetime import UTC, datetime

    from handoff.app import create_app
    from handoff.infra.clock import FakeClock

    sunday = FakeClock(datetime(2026, 1, 4, 12, 0, tzinfo=UTC))
    app = create_app(
        settings.model_copy(update={"BUSINESS_HOURS": "mon-fri 08:00-20:00"}), engine, clock=sunday
    )
    with TestClient(app) as client:
        cid, auth = start(client, "zh")
        view = client.post(f"/api/conversations/{cid}/handoff", headers=auth).json()
        assert view["state"] == "queued"
        notice = client.get(f"/api/conversations/{cid}/messages", headers=auth).json()["messages"][-1]
        assert (
            notice["sender"] == "system"
            and "周一至周五 08:00-20:00" in notice["text"]
            and "回电" in notice["text"]
        )
        assert notice["payload"]["buttons"][0]["action"] == "callback"


def test_the_person_button_packet_carries_what_the_bot_understood(
    bot_client: TestClient, scripted_rasa: ScriptedRasa, engine: Engine
) -> None:
    scripted_rasa.tracker = {
        "events": [
            {"event": "action", "name": "action_listen"},
            {
                "event": "user",
                "text": "my payment failed",
                "parse_data": {
                    "intent": {"name": "payment_failed", "confidence": 0.42},
                    "entities": [{"entity": "topic", "value": "payment", "start": 3, "end": 10}],
                },
            },
        ]
    }
    cid, auth = start(bot_client)
    bot_client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": "my payment failed"})
    assert bot_client.post(f"/api/conversations/{cid}/handoff", headers=auth).json()["state"] == "queued"
    with session_scope(engine, write=False) as s:
        packet = s.scalar(select(QueueEntry.packet).where(QueueEntry.conversation_id == cid))
    assert packet["reason"] == "explicit_request"
    assert packet["turns"] == [
        {
            "text": "my payment failed",
            "intent": "payment_failed",
            "confidence": 0.42,
            "entities": [{"entity": "topic", "value": "payment"}],
            "anger": {"score": 0.0, "cues": []},
        }
    ]
    assert [t["text"] for t in packet["transcript"]] == ["my payment failed", "echo: my payment failed"]


CITE = {"type": "faq_answer", "faq_id": "payment-methods", "title": "What are the ways I can make a payment?",
        "source": "knowledge_base/faq/en/payment-methods.md"}
TABLE_ANSWER = ("You can pay in these ways:\n\n| Method | Cost |\n|---|---|\n| **Autopay** | free |\n"
                "| [Online](https://northwind-auto.example/pay) | free |\n\nDid this answer your question?")


def test_an_faq_answer_is_one_message_with_its_citation_and_sanitised_html(
    bot_client: TestClient, scripted_rasa: ScriptedRasa
) -> None:
    """Rasa sends the citation and then the answer's text: stored as one message, so the citation sits
    under its bubble; the markdown arrives rendered and sanitised as `html`, the text stays as written."""
    buttons = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/negative_feedback"}]
    scripted_rasa.script = lambda body: (
        200, [{"recipient_id": "x", "custom": CITE}, {"recipient_id": "x", "text": TABLE_ANSWER, "buttons": buttons}],
        0.0,
    )
    cid, auth = start(bot_client)
    sent = "<img src=x onerror=alert(1)> **how** do I pay?"
    reply = bot_client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": sent}).json()
    borrower, bot = reply["messages"]
    assert borrower["html"] is None and borrower["text"] == sent  # a borrower's words are never markup
    assert bot["text"] == TABLE_ANSWER and bot["payload"]["custom"] == CITE and bot["payload"]["buttons"] == buttons
    html = bot["html"]
    assert '<div class="md-table"><table>' in html and "<strong>Autopay</strong>" in html and "|" not in html
    assert ('<a href="https://northwind-auto.example/pay" target="_blank" rel="noopener noreferrer nofollow">'
            "Online</a>") in html
    history = bot_client.get(f"/api/conversations/{cid}/messages", headers=auth).json()["messages"]
    assert [m["html"] for m in history] == [None, html]


def test_a_citation_without_an_answer_text_stays_a_message_of_its_own(
    bot_client: TestClient, scripted_rasa: ScriptedRasa
) -> None:
    scripted_rasa.script = lambda body: (200, [{"custom": CITE}, {"custom": {**CITE, "faq_id": "pay-online"}}], 0.0)
    cid, auth = start(bot_client)
    reply = bot_client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": "pay"}).json()
    bots = [m for m in reply["messages"] if m["sender"] == "bot"]
    assert [(m["text"], m["html"], m["payload"]["custom"]["faq_id"]) for m in bots] == [
        ("", None, "payment-methods"), ("", None, "pay-online")]
