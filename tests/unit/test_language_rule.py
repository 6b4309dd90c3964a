"""Issue 11.7: the language rule holds in every path that gives a chat to a person (claim by id,
take next, transfer, a supervisor's assignment, completing a callback), and completing a callback
grants no ownership of the chat or access to its transcript."""

from __future__ import annotations

import pytest
from agent_support import make_agent, tx, waiting_chat
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from test_agents_api import login

from handoff.agents import chat, operations
from handoff.errors import ForbiddenError
from handoff.infra.clock import FakeClock
from handoff.models import AuditEvent, Conversation, QueueEntry
from handoff.queue import claims, entries


def test_zh_only_agent_cannot_claim_an_english_chat_by_id(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    conv_id, entry_id = waiting_chat(engine, clock, lang="en", summary="my address is 12 Elm St")
    make_agent(engine, clock, "wei", languages="zh")
    headers = login(api, "wei")
    assert api.get(f"/api/agent/conversations/{conv_id}", headers=headers).status_code == 403
    claimed = api.post(f"/api/agent/queue/{entry_id}/claim", headers=headers)
    assert claimed.status_code == 403 and claimed.json()["error"]["code"] == "wrong_language"
    assert api.get(f"/api/agent/conversations/{conv_id}", headers=headers).status_code == 403
    assert tx(engine, lambda s: s.get(QueueEntry, entry_id)).status == "waiting"


def test_zh_only_agent_claims_a_chinese_chat_by_id(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    conv_id, entry_id = waiting_chat(engine, clock, lang="zh", summary="想提前还款")
    make_agent(engine, clock, "wei", languages="zh")
    headers = login(api, "wei")
    assert api.post(f"/api/agent/queue/{entry_id}/claim", headers=headers).status_code == 200
    assert api.get(f"/api/agent/conversations/{conv_id}", headers=headers).status_code == 200


def test_take_next_skips_chats_in_other_languages(engine: Engine) -> None:
    clock = FakeClock()
    waiting_chat(engine, clock, lang="en")
    wei = make_agent(engine, clock, "wei", languages="zh")
    assert tx(engine, lambda s: operations.take_next_chat(s, agent=wei, clock=clock)) is None


def test_transfer_and_assignment_to_an_agent_without_the_language_are_refused(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock, lang="en")
    ann = make_agent(engine, clock, "ann", languages="en")
    wei = make_agent(engine, clock, "wei", languages="zh")
    sue = make_agent(engine, clock, "sue", role="supervisor", languages="en,zh")
    with pytest.raises(claims.WrongLanguageError):
        tx(engine, lambda s: operations.assign_chat(s, entry_id=entry_id, to_agent_id=wei.id, actor=sue, clock=clock))
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    with pytest.raises(claims.WrongLanguageError):
        tx(engine, lambda s: operations.assign_chat(s, entry_id=entry_id, to_agent_id=wei.id, actor=ann, clock=clock))
    assert tx(engine, lambda s: s.get(QueueEntry, entry_id)).assigned_agent_id == ann.id
    assert tx(engine, lambda s: s.get(Conversation, conv_id)).assigned_agent_id == ann.id


def _callback(engine: Engine, clock: FakeClock, lang: str) -> tuple[str, int]:
    conv_id, entry_id = waiting_chat(engine, clock, lang=lang)
    tx(engine, lambda s: entries.create_callback(s, conversation=s.get(Conversation, conv_id), contact_method="phone",
                                               contact="[PHONE]", preferred_time="", clock=clock))
    return conv_id, entry_id


def test_callback_done_needs_the_language_and_grants_no_transcript(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    conv_id, entry_id = _callback(engine, clock, "en")
    make_agent(engine, clock, "wei", languages="zh")
    make_agent(engine, clock, "ann", languages="en")
    wei, ann = login(api, "wei"), login(api, "ann")
    refused = api.post(f"/api/agent/queue/{entry_id}/callback-done", headers=wei)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "wrong_language"
    assert api.get(f"/api/agent/conversations/{conv_id}", headers=wei).status_code == 403
    assert tx(engine, lambda s: s.get(QueueEntry, entry_id)).status == "callback"
    done = api.post(f"/api/agent/queue/{entry_id}/callback-done", headers=ann)
    assert done.status_code == 200 and done.json()["assigned_agent"] is None
    entry = tx(engine, lambda s: s.get(QueueEntry, entry_id))
    assert entry.status == "done" and entry.assigned_agent_id is None
    assert api.get(f"/api/agent/conversations/{conv_id}", headers=ann).status_code == 403


def test_callback_done_is_audited_with_who_called(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = _callback(engine, clock, "zh")
    wei = make_agent(engine, clock, "wei", languages="zh")
    tx(engine, lambda s: operations.complete_callback(s, entry_id=entry_id, agent=wei, clock=clock))
    with pytest.raises(ForbiddenError):
        tx(engine, lambda s: chat.can_view(s, conversation_id=conv_id, agent=wei))
    rows = tx(engine, lambda s: s.scalars(select(AuditEvent).where(AuditEvent.action == "callback_done")).all())
    assert [(r.actor_id, r.conversation_id) for r in rows] == [(str(wei.id), conv_id)]
