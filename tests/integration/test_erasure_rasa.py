"""Issue 11.8 against the real Rasa 3.6: `python -m handoff erase-conversation` removes the conversation's
events from Rasa's SQL tracker store (what Rasa itself then reports over its HTTP API), leaves other
conversations alone, and Rasa carries on with a fresh tracker for that id."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from rasa_stack import APP_PYTHON, REPO_ROOT, RasaStack
from service_process import service_env
from sqlalchemy.orm import Session

from handoff.conversations.records import create_conversation
from handoff.infra import db
from handoff.rasa.tracker_store import TrackerStore

pytestmark = pytest.mark.integration

TEXT = "How do I get a payoff quote? My address is 12 Elm St"


def _user_texts(stack: RasaStack, sender: str) -> list[str]:
    return [e.get("text") for e in stack.tracker(sender)["events"] if e["event"] == "user"]


def test_erase_conversation_empties_rasas_tracker(stack: RasaStack, tmp_path: Path) -> None:
    service_db = f"sqlite:///{tmp_path / 'handoff.db'}"
    engine = db.make_engine(service_db)
    db.upgrade(engine)

    def new_conversation(session: Session) -> str:
        return create_conversation(session, secret_key="k" * 20, lang="en")[0].id

    with db.session_scope(engine) as session:
        conv_id = new_conversation(session)
    with db.session_scope(engine) as session:
        other_id = new_conversation(session)
    engine.dispose()
    stack.send(conv_id, TEXT, lang="en", timeout_s=120)
    stack.send(other_id, "hello", lang="en", timeout_s=120)
    assert TEXT in _user_texts(stack, conv_id)
    tracker_url = f"sqlite:///{stack.workdir / 'tracker.db'}"
    tracker = TrackerStore(tracker_url)
    assert tracker.count(conv_id) > 0

    env = service_env(tmp_path, DATABASE_URL=service_db, RASA_TRACKER_DB_URL=tracker_url)
    done = subprocess.run([str(APP_PYTHON), "-m", "handoff", "erase-conversation", "--id", conv_id],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "events deleted" in done.stdout and TEXT not in done.stdout + done.stderr

    assert tracker.count(conv_id) == 0
    assert TEXT not in _user_texts(stack, conv_id)  # Rasa's own view of the tracker
    assert "hello" in _user_texts(stack, other_id)
    assert stack.send(conv_id, "hello again", lang="en", timeout_s=120)  # a fresh tracker works
    tracker.close()
