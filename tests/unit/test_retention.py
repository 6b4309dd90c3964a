"""Issue 11.8 (retention): the purge forgets what the RETENTION_* settings say, keeps everything else, and
runs by itself in the service's lifespan."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent_support import make_settings, tx, waiting_chat
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from test_erasure import finished_chat, rasa_tracker_db, rows_referencing

from handoff.agents import operations
from handoff.app import create_app
from handoff.conversations.records import create_conversation
from handoff.infra.clock import FakeClock
from handoff.models import Agent, CallbackTicket, Conversation, QueueEntry
from handoff.privacy import retention
from handoff.rasa.tracker_store import TrackerStore

DAYS = 30
RETAIN = {"RETENTION_MESSAGES_DAYS": DAYS, "RETENTION_CALLBACKS_DAYS": DAYS, "RETENTION_CLIENT_ADDR_DAYS": DAYS,
          "RETENTION_TRACKER_DAYS": DAYS}


def later(days: float) -> FakeClock:
    """Stored rows carry the wall-clock time; the purge looks at them from `days` later."""
    return FakeClock(datetime.now(UTC) + timedelta(days=days))


def bot_chat_with_address(engine: Engine) -> str:
    def work(session: Session) -> str:
        conversation, _ = create_conversation(session, secret_key="k" * 20, lang="zh", client_addr="203.0.113.9")
        return conversation.id

    return tx(engine, work)


def complete_callbacks(engine: Engine) -> None:
    """Every open callback is called back (by the agent of `finished_chat`)."""
    def work(session: Session) -> None:
        ann = session.scalar(select(Agent).where(Agent.username == "ann"))
        for entry_id in session.scalars(select(QueueEntry.id).where(QueueEntry.status == "callback")).all():
            operations.complete_callback(session, entry_id=entry_id, agent=ann, clock=later(0))

    tx(engine, work)


def test_nothing_is_purged_by_default(engine: Engine) -> None:
    conv_id = finished_chat(engine, later(0))
    report = tx(engine, lambda s: retention.purge(s, clock=later(3650), settings=make_settings()))
    assert not report.changed and tx(engine, lambda s: rows_referencing(s, conv_id))


def test_old_data_goes_and_recent_or_active_data_stays(engine: Engine) -> None:
    settings = make_settings(**RETAIN)
    finished = finished_chat(engine, later(0))  # handed back to the bot, callback open
    queued, _ = waiting_chat(engine, later(0))
    talking = bot_chat_with_address(engine)
    complete_callbacks(engine)
    report = tx(engine, lambda s: retention.purge(s, clock=later(DAYS - 1), settings=settings))
    assert not report.changed
    report = tx(engine, lambda s: retention.purge(s, clock=later(DAYS + 1), settings=settings))
    assert set(report.conversations_erased) == {finished, talking}
    assert tx(engine, lambda s: rows_referencing(s, finished)) == {}
    assert tx(engine, lambda s: s.get(Conversation, queued)) is not None  # still waiting for a person
    assert report.callbacks_deleted == 0  # the done ticket went with its conversation


def test_client_addresses_and_done_callbacks_have_their_own_periods(engine: Engine) -> None:
    settings = make_settings(RETENTION_CLIENT_ADDR_DAYS=7, RETENTION_CALLBACKS_DAYS=14)
    conv_id = bot_chat_with_address(engine)
    finished = finished_chat(engine, later(0))
    complete_callbacks(engine)
    report = tx(engine, lambda s: retention.purge(s, clock=later(8), settings=settings))
    assert report.client_addrs_cleared >= 1 and report.callbacks_deleted == 0
    assert tx(engine, lambda s: s.get(Conversation, conv_id).client_addr) is None
    report = tx(engine, lambda s: retention.purge(s, clock=later(15), settings=settings))
    assert report.callbacks_deleted == 1 and not report.conversations_erased
    assert tx(engine, lambda s: s.scalars(select(CallbackTicket)).all()) == []
    assert tx(engine, lambda s: s.get(Conversation, finished)) is not None


def test_tracker_events_of_silent_conversations_are_deleted(tmp_path: Path) -> None:
    now = time.time()
    url = rasa_tracker_db(tmp_path / "tracker.db", [
        ("old", now - 40 * 86400), ("old", now - 35 * 86400), ("mixed", now - 40 * 86400), ("mixed", now - 86400),
    ])
    tracker = TrackerStore(url)
    deleted = retention.purge_tracker(tracker, clock=FakeClock(datetime.now(UTC)), settings=make_settings(**RETAIN))
    assert deleted == 2 and tracker.count("old") == 0 and tracker.count("mixed") == 2
    tracker.close()


def test_the_service_runs_the_purge_by_itself(engine: Engine, tmp_path: Path) -> None:
    conv_id = finished_chat(engine, later(0))
    complete_callbacks(engine)
    url = rasa_tracker_db(tmp_path / "tracker.db", [(conv_id, time.time() - 40 * 86400)])
    settings = make_settings(DATABASE_URL=str(engine.url), RASA_TRACKER_DB_URL=url, **RETAIN)
    with TestClient(create_app(settings, engine, clock=later(DAYS + 1))):
        deadline = time.monotonic() + 10
        while tx(engine, lambda s: s.get(Conversation, conv_id)) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
    assert tx(engine, lambda s: rows_referencing(s, conv_id)) == {}
    tracker = TrackerStore(url)
    assert tracker.count(conv_id) == 0
    tracker.close()
