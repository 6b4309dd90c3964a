"""Engine, transactions and the Alembic migration (SQLite, or PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import IntegrityError

from handoff.conversations.records import create_conversation, next_seq
from handoff.infra.db import make_engine, normalize_url, session_scope, upgrade
from handoff.loans.tables import LoanBase
from handoff.models import Base, Conversation, QueueEntry


def test_migration_creates_exactly_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), [Base.metadata, LoanBase.metadata])
    assert diff == []
    upgrade(engine)  # idempotent at start-up


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")  # creates the folder
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_postgres_urls_use_psycopg3() -> None:
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"


def _conversation(engine: Engine) -> str:
    with session_scope(engine) as s:
        conversation, _ = create_conversation(s, secret_key="k")
        return conversation.id


def test_one_active_queue_entry_per_conversation_is_a_database_constraint(engine: Engine) -> None:
    cid = _conversation(engine)
    with session_scope(engine) as s:
        s.add(QueueEntry(conversation_id=cid, status="waiting", reason="anger", packet={}))
    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add(QueueEntry(conversation_id=cid, status="assigned", reason="anger", packet={}))
    with session_scope(engine) as s:  # finished entries do not count
        s.execute(QueueEntry.__table__.update().values(status="done"))
        s.add(QueueEntry(conversation_id=cid, status="waiting", reason="anger", packet={}))
        s.add(QueueEntry(conversation_id=cid, status="done", reason="anger", packet={}))


def test_concurrent_writers_get_gap_free_sequence_numbers(engine: Engine) -> None:
    """Read-then-write transactions from many threads: no 'database is locked', no duplicate seq."""
    cid = _conversation(engine)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for _ in range(10):
                with session_scope(engine) as s:
                    s.get(Conversation, cid)  # a read before the write
                    next_seq(s, conversation_id=cid)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with session_scope(engine, write=False) as s:
        assert s.scalar(select(Conversation.last_seq).where(Conversation.id == cid)) == 80


def test_session_scope_rolls_back_on_error(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        create_conversation(s, secret_key="k")
        raise RuntimeError("boom")
    with session_scope(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(Conversation)) == 0
        assert s.execute(text("SELECT 1")).scalar() == 1
