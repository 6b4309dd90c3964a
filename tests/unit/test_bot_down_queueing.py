"""Issue 13, items 1, 6 and 8 in-process: the bot is down (a Rasa stand-in that never answers in time, or
refuses connections), and a borrower who asks for a person, is angry or complains is queued at once with
reason `bot_unavailable` plus the detected reason; the packet's priority is the card's; /readyz."""

from __future__ import annotations

import time
from typing import Any

from agent_support import make_settings
from borrower_helpers import ScriptedRasa, faq_reply, start
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from handoff.app import create_app
from handoff.infra.db import session_scope
from handoff.models import Complaint, QueueEntry

FROZEN_S = 8.0  # longer than any budget: the stand-in "accepts and says nothing"


def _client(engine: Engine, rasa: ScriptedRasa, **overrides: Any) -> TestClient:
    settings = make_settings(DATABASE_URL=str(engine.url), RASA_URL=rasa.url, RASA_TIMEOUT_S=5.0,
                             RASA_HANDOFF_BUDGET_S=1.0, **overrides)
    return TestClient(create_app(settings, engine))


def _entry(engine: Engine, conversation_id: str) -> tuple[str, str, dict[str, Any]]:
    with session_scope(engine) as session:
        entry = session.scalars(select(QueueEntry).where(QueueEntry.conversation_id == conversation_id)).one()
        return entry.reason, entry.priority, dict(entry.packet)


def _say(client: TestClient, cid: str, auth: dict[str, str], text: str) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    resp = client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": text})
    assert resp.status_code == 200, resp.text
    return time.monotonic() - started, resp.json()


def test_request_for_a_person_while_rasa_is_frozen_is_queued_within_the_short_budget(
    engine: Engine, scripted_rasa: ScriptedRasa
) -> None:
    scripted_rasa.script = lambda body: (200, [{"text": "too late"}], FROZEN_S)
    with _client(engine, scripted_rasa) as client:
        for lang, text in (("en", "let me talk to someone real"), ("zh", "转人工客服")):
            cid, auth = start(client, lang)
            elapsed, turn = _say(client, cid, auth, text)
            assert elapsed < 2.0, f"{text}: {elapsed:.2f} s"
            assert turn["state"] == "queued"
            notice = next(m["text"] for m in turn["messages"] if m["sender"] == "system")
            assert ("connecting you with a person" in notice) if lang == "en" else ("转接人工客服" in notice)
            reason, priority, packet = _entry(engine, cid)
            assert reason == "bot_unavailable" and packet["detected"]["reason"] == "explicit_request"
            assert priority == packet["priority"] == "normal"
            assert packet["version"] == 1 and packet["turns"][-1]["text"] == text and packet["transcript"]


def test_angry_borrower_while_rasa_refuses_connections_is_queued_urgent(engine: Engine) -> None:
    settings = make_settings(DATABASE_URL=str(engine.url))  # RASA_URL: a closed port
    with TestClient(create_app(settings, engine)) as client:
        cid, auth = start(client, "zh")
        _elapsed, turn = _say(client, cid, auth, "你们就是骗子，我要投诉！！")
        assert turn["state"] == "queued"
        reason, priority, packet = _entry(engine, cid)
        assert reason == "bot_unavailable" and packet["detected"]["reason"] == "anger"
        assert priority == packet["priority"] == "urgent" and "complaint" in packet["topics"]
        with session_scope(engine) as session:
            assert session.scalars(select(Complaint).where(Complaint.conversation_id == cid)).one().status == "open"


def test_ordinary_question_while_the_bot_is_down_keeps_the_honest_fallback(
    engine: Engine, scripted_rasa: ScriptedRasa
) -> None:
    scripted_rasa.script = lambda body: (500, {"error": "boom"}, 0.0)
    with _client(engine, scripted_rasa) as client:
        cid, auth = start(client)
        _elapsed, turn = _say(client, cid, auth, "How do I get a payoff quote?")
        assert turn["state"] == "bot"
        fallback = turn["messages"][-1]
        assert fallback["payload"]["custom"]["type"] == "bot_unavailable" and fallback["payload"]["buttons"]


def test_a_request_rasa_answers_in_time_goes_the_bots_way(engine: Engine, scripted_rasa: ScriptedRasa) -> None:
    scripted_rasa.script = lambda body: (200, faq_reply("Here is how."), 0.2)
    with _client(engine, scripted_rasa) as client:
        cid, auth = start(client)
        _elapsed, turn = _say(client, cid, auth, "can I talk to a person about my payoff quote")
        assert turn["state"] == "bot" and turn["messages"][-1]["text"] == "Here is how."


def test_readiness_waits_for_every_dependency_while_liveness_does_not(
    engine: Engine, scripted_rasa: ScriptedRasa
) -> None:
    with _client(engine, scripted_rasa) as client:
        assert client.get("/readyz").status_code == 200
        scripted_rasa.status = {"model_file": None}  # Rasa up, model still loading
        not_ready = client.get("/readyz")
        assert not_ready.status_code == 503 and not_ready.json()["checks"]["rasa"]["error"] == "no model loaded"
        assert client.get("/healthz").status_code == 200
    settings = make_settings(DATABASE_URL=str(engine.url))  # Rasa unreachable
    with TestClient(create_app(settings, engine)) as client:
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").json()["status"] == "degraded"
