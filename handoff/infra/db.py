"""Database engine factory, transaction scope and schema migration.

SQLite (the default) runs in WAL mode with a busy timeout, and write transactions start with
`BEGIN IMMEDIATE` so that a transaction which reads before it writes cannot fail half-way with
"database is locked". PostgreSQL is used through psycopg 3 when the URL says so.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

from handoff.infra import outbox

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
BEGIN_OPTION = "sqlite_begin"  # execution option read by the "begin" hook: "IMMEDIATE" | "DEFERRED"
# PostgreSQL advisory lock namespaces (first key of pg_advisory_xact_lock(int, int)): "NW" + purpose.
LOCK_MIGRATIONS = 0x4E57_0001
LOCK_AGENT_CAPACITY = 0x4E57_0002


def normalize_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3 here (SQLAlchemy would pick psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(
            url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        echo=echo,
        hide_parameters=True,  # SQL errors and logs never carry message text
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )
    _install_sqlite_hooks(engine)
    return engine


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" hook emit BEGIN itself (pysqlite's own transaction handling
        # would defer it and cannot do IMMEDIATE).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


_sqlite_writers: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def sqlite_writer_lock(engine: Engine) -> threading.RLock | None:
    """The in-process lock SQLite write transactions of `engine` take (None for other databases)."""
    if engine.dialect.name != "sqlite":
        return None
    lock = _sqlite_writers.get(engine)
    if lock is None:
        lock = _sqlite_writers.setdefault(engine, threading.RLock())
    return lock


def _one_writer_at_a_time(engine: Engine, write: bool) -> AbstractContextManager[Any]:
    """On SQLite, this process's write transactions queue on a lock of their own instead of on
    SQLite's: a writer that finds the database locked sleeps in SQLite's busy handler in growing steps
    (1, 2, 5, 10 ... ms) even when the lock is freed a moment later, while a thread waiting here is
    woken at once. Other processes (the create-agent command) still meet the busy timeout."""
    lock = sqlite_writer_lock(engine) if write else None
    return lock if lock is not None else nullcontext()


@contextmanager
def session_scope(engine: Engine, *, bus: Any = None, write: bool = True) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error.

    `write=False` starts a deferred (read) transaction on SQLite; everything else takes the write
    lock up front. `bus` (a `handoff.infra.bus.Bus`) receives the events that data functions queued with
    `handoff.infra.outbox.publish_after_commit` once the transaction has committed - never before, so a subscriber
    that reads the database always finds what the event announces.
    """
    bind = engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE" if write else "DEFERRED"})
    with _one_writer_at_a_time(engine, write):
        session = Session(bind=bind, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except BaseException:
            outbox.take_pending(session)
            session.rollback()
            raise
        finally:
            session.close()
    outbox.deliver(outbox.take_pending(session), bus)


def advisory_lock(bind: Session | Connection, namespace: int, key: int = 0) -> None:
    """Hold PostgreSQL's transaction-scoped advisory lock (namespace, key) until this transaction
    ends; other transactions asking for the same pair wait. A no-op on SQLite, where BEGIN IMMEDIATE
    already serialises writers."""
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    if dialect.name == "postgresql":
        bind.execute(text("SELECT pg_advisory_xact_lock(:namespace, :key)"), {"namespace": namespace, "key": key})


def alembic_config(engine: Engine | None = None) -> Any:
    """Alembic's configuration. The URL goes in only for commands run by hand: `upgrade` hands Alembic
    its connection instead. configparser treats `%` as interpolation, so it is escaped (a URL-escaped
    password is full of them)."""
    from alembic.config import Config

    here = Path(__file__).resolve().parents[1]  # handoff/: alembic.ini and migrations/
    config = Config(str(here / "alembic.ini"))
    config.set_main_option("script_location", str(here / "migrations").replace("%", "%%"))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


class MigrationError(RuntimeError):
    """The schema could not be brought up to date; the message holds no password."""


def redact(text_: str, url: URL) -> str:
    """`text_` without the password of `url` (as given, URL-escaped or not) or the URL itself."""
    text_ = text_.replace(url.render_as_string(hide_password=False), url.render_as_string(hide_password=True))
    if url.password:
        for secret in {url.password, quote(url.password, safe=""), quote_plus(url.password)}:
            text_ = text_.replace(secret, "***")
    return text_


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (start-up calls this; it is a no-op when current).

    On PostgreSQL the whole upgrade holds an advisory lock, so replicas starting at once migrate one
    after the other (the later ones find the schema current) instead of racing on CREATE TABLE."""
    from alembic import command

    config = alembic_config()
    try:
        with engine.begin() as connection:
            advisory_lock(connection, LOCK_MIGRATIONS)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    except Exception as exc:  # noqa: BLE001 - every failure is re-raised, only without its message's secrets
        # The cause is summarised, not chained: a driver's or configparser's message may quote the URL.
        raise MigrationError(
            f"cannot migrate the database {engine.url!r}: {type(exc).__name__}: {redact(str(exc), engine.url)}"
        ) from None
    log.info("database schema at %s", revision)
