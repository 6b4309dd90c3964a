"""Database engine factory, transaction scope and schema migration.

SQLite (the default) runs in WAL mode with a busy timeout, and write transactions start with
`BEGIN IMMEDIATE` so that a transaction which reads before it writes cannot fail half-way with
"database is locked". PostgreSQL is used through psycopg 3 when the URL says so.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session

from handoff.infra import outbox

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
BEGIN_OPTION = "sqlite_begin"  # execution option read by the "begin" hook: "IMMEDIATE" | "DEFERRED"
# PostgreSQL advisory lock namespaces (first key of pg_advisory_xact_lock(int, int)): "NW" + purpose.
LOCK_MIGRATIONS = 0x4E57_0001
LOCK_AGENT_CAPACITY = 0x4E57_0002
PING_IDLE_S = 2.0  # a pooled connection idle this long is checked before use (PostgreSQL)
IDLE_SINCE = "handoff_idle_since"  # key in the pool record's info


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
        engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20, hide_parameters=True)
        _ping_idle_connections(engine)
        return engine
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


def _ping_idle_connections(engine: Engine) -> None:
    """Check a pooled connection before use only when it sat idle for `PING_IDLE_S` or more.

    `pool_pre_ping` pings on every checkout: two of the fifteen round trips of a bot turn, for
    connections that were used a few milliseconds ago (benchmarks/db_round_trips.py). A connection
    that idled may have been dropped (a failover, an idle timeout): it is pinged, and replaced when the
    ping fails. One that breaks while busy fails its statement instead; SQLAlchemy then invalidates
    every connection of the pool opened before it, so one request per outage answers 503 (and is
    retried by the client, docs/borrower-api.md) instead of every pooled connection failing in turn."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info[IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_IDLE_S:
            return  # new, or used a moment ago
        try:
            with dbapi_conn.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_conn.rollback()
        except Exception as exc:  # any failure: the pool opens a new connection
            raise DisconnectionError(f"idle connection failed its check ({type(exc).__name__})") from exc


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


BINDS_ATTR = "_handoff_transaction_binds"  # on the engine itself: a cache keyed by it would keep it alive


def _bound(engine: Engine, *, write: bool, autocommit: bool) -> Engine:
    """`engine` with a transaction's execution options, made once per kind: building one costs about as
    much as a session (an engine proxy with its own dispatch), and every transaction needs one. Listeners
    added to `engine` later still apply to it (its dispatch joins the engine's)."""
    kinds: dict[tuple[bool, bool], Engine] | None = getattr(engine, BINDS_ATTR, None)
    if kinds is None:
        kinds = {}
        setattr(engine, BINDS_ATTR, kinds)
    bind = kinds.get((write, autocommit))
    if bind is None:
        options: dict[str, Any] = {BEGIN_OPTION: "IMMEDIATE" if write else "DEFERRED"}
        if autocommit:
            options["isolation_level"] = "AUTOCOMMIT"
        bind = kinds.setdefault((write, autocommit), engine.execution_options(**options))
    return bind


@contextmanager
def session_scope(
    engine: Engine, *, bus: Any = None, write: bool = True, single_statement: bool = False
) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error.

    `single_statement`: the work writes with one statement at most (handoff.conversations.turn_writes), so
    on PostgreSQL it runs without BEGIN and COMMIT, each a round trip of its own with psycopg: the server
    commits each statement by itself, atomically. Ignored on SQLite (in-process: no round trips).

    `write=False` starts a deferred (read) transaction on SQLite; everything else takes the write
    lock up front. `bus` (a `handoff.infra.bus.Bus`) receives the events that data functions queued with
    `handoff.infra.outbox.publish_after_commit` once the transaction has committed - never before, so a subscriber
    that reads the database always finds what the event announces.
    """
    bind = _bound(engine, write=write, autocommit=single_statement and engine.dialect.name == "postgresql")
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
    """Bring the schema up to `revision` (`python -m handoff migrate`, and start-up when MIGRATE_ON_START);
    a no-op when current.

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
