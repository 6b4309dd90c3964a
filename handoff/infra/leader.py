"""One leader for the periodic work (the SLA clock; later callbacks, reminders, retention).

On PostgreSQL every replica runs `PostgresLeader.run`: the one that holds a session-level advisory
lock on a connection of its own is the leader and runs the work; the others retry every
`retry_s`. When the leader dies its connection closes and PostgreSQL frees the lock at once, so
another replica takes over within about `retry_s`.

The lock alone cannot stop a leader that lost it without noticing (its lock connection was cut, a
long pause) from finishing a pass it had begun. Hence the fencing token: each new leader increments
`leader_leases.token` and keeps the value; every pass of the work starts with `fence(session)`, which
reads the token in the pass's own transaction (`FOR SHARE` on PostgreSQL) and raises `LostLeadership`
when it moved on. A new leader's increment waits for a running pass of the old one to commit, and a
pass that starts after the increment stops at once, so two leaders' passes never overlap and no
notice is sent twice.

SQLite is one process (`LocalLeader`): it is always the leader and fences the same way, so a second
process started on the same file by mistake makes the first one stop its work, loudly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import zlib
from collections.abc import Awaitable, Callable
from typing import Protocol

import anyio.to_thread
from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff.infra.db import session_scope
from handoff.infra.metrics import Metrics
from handoff.models import LeaderLease

log = logging.getLogger(__name__)

PERIODIC = "periodic"  # the one lease the service has today; every periodic job runs under it
DEFAULT_RETRY_S = 1.0


class LostLeadership(Exception):
    """This process is no longer the leader: another one took over (its fencing token is newer)."""


def holder_name() -> str:
    """`host:pid`, shown in `leader_leases.holder` and in the logs."""
    return f"{socket.gethostname()}:{os.getpid()}"


def advisory_key(name: str) -> int:
    """A stable 31-bit key for `pg_try_advisory_lock` from the lease name."""
    return zlib.crc32(f"handoff:{name}".encode()) & 0x7FFFFFFF


def take_token(session: Session, *, name: str, holder: str) -> int:
    """Increment (or create) the lease's fencing token and return the new value."""
    bumped = session.execute(
        update(LeaderLease)
        .where(LeaderLease.name == name)
        .values(token=LeaderLease.token + 1, holder=holder)
        .returning(LeaderLease.token)
    ).scalar_one_or_none()
    if bumped is not None:
        return int(bumped)
    try:
        with session.begin_nested():
            session.add(LeaderLease(name=name, token=1, holder=holder))
    except IntegrityError:  # created by another replica meanwhile
        return take_token(session, name=name, holder=holder)
    return 1


def current_token(session: Session, *, name: str) -> int | None:
    query = select(LeaderLease.token).where(LeaderLease.name == name)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(read=True)  # a new leader's increment waits for this pass
    return session.scalar(query)


class Leadership(Protocol):
    @property
    def is_leader(self) -> bool: ...

    def fence(self, session: Session) -> None: ...

    async def run(self, work: Callable[[], Awaitable[None]]) -> None: ...


class _Fenced:
    def __init__(self, engine: Engine, *, name: str, metrics: Metrics | None) -> None:
        self.engine = engine
        self.name = name
        self.holder = holder_name()
        self.metrics = metrics
        self.token: int | None = None

    @property
    def is_leader(self) -> bool:
        return self.token is not None

    def fence(self, session: Session) -> None:
        """Raise `LostLeadership` unless this process still holds the newest token (call it first
        in every transaction of the periodic work)."""
        mine = self.token
        if mine is None or current_token(session, name=self.name) != mine:
            raise LostLeadership(f"{self.holder} no longer leads {self.name!r}")

    def _elected(self) -> None:
        with session_scope(self.engine) as session:
            self.token = take_token(session, name=self.name, holder=self.holder)
        log.info("leader for %r: %s (token %s)", self.name, self.holder, self.token)
        if self.metrics is not None:
            self.metrics.leader.set(1)
            self.metrics.leader_changes.inc()

    def _stepped_down(self) -> None:
        if self.token is not None:
            log.info("no longer the leader for %r: %s", self.name, self.holder)
        self.token = None
        if self.metrics is not None:
            self.metrics.leader.set(0)


async def _until_done(task: asyncio.Task[None], still_leader: Callable[[], Awaitable[bool]], every_s: float) -> None:
    """Wait for `task`, checking `still_leader` every `every_s`; cancel the task when it says no."""
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=every_s)
            if not task.done() and not await still_leader():
                break
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, LostLeadership, Exception):
            await task


class PostgresLeader(_Fenced):
    def __init__(
        self, engine: Engine, *, name: str = PERIODIC, retry_s: float = DEFAULT_RETRY_S,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(engine, name=name, metrics=metrics)
        self.retry_s = retry_s
        self._conn: Connection | None = None

    def _try_lock(self) -> bool:
        conn = self.engine.connect()
        try:
            got = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": advisory_key(self.name)}))
            conn.commit()  # end the implicit transaction; the session-level lock stays
        except Exception:
            conn.invalidate()
            conn.close()
            raise
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def _lock_alive(self) -> bool:
        conn = self._conn
        if conn is None:
            return False
        try:
            conn.scalar(text("SELECT 1"))
            conn.commit()
            return True
        except Exception as exc:  # noqa: BLE001 - any failure means the lock may be gone
            log.warning("leader lock connection failed (%s)", type(exc).__name__)
            return False

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.invalidate()  # closing the session frees the advisory lock; never back to the pool
        finally:
            conn.close()

    async def _still_leader(self) -> bool:
        return await anyio.to_thread.run_sync(self._lock_alive)

    async def run(self, work: Callable[[], Awaitable[None]]) -> None:
        """Campaign forever; while leader, run `work()` (restarted if it ends or fails)."""
        try:
            while True:
                try:
                    if await anyio.to_thread.run_sync(self._try_lock):
                        await anyio.to_thread.run_sync(self._elected)
                        task = asyncio.ensure_future(work())
                        await _until_done(task, self._still_leader, self.retry_s)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - the database is down: campaign again later
                    log.warning("leader election for %r failed (%s)", self.name, type(exc).__name__)
                finally:
                    self._stepped_down()
                    await anyio.to_thread.run_sync(self._release)
                await asyncio.sleep(self.retry_s)
        finally:
            self._release()


class LocalLeader(_Fenced):
    """SQLite: one process, always the leader (see the module docstring)."""

    async def run(self, work: Callable[[], Awaitable[None]]) -> None:
        await anyio.to_thread.run_sync(self._elected)
        try:
            await work()
        except LostLeadership:
            log.error(
                "another process took the periodic work of this SQLite database; on SQLite run one "
                "service process only (docs/production.md)"
            )
        finally:
            self._stepped_down()


def make_leader(engine: Engine, *, retry_s: float = DEFAULT_RETRY_S, metrics: Metrics | None = None) -> Leadership:
    if engine.dialect.name == "postgresql":
        return PostgresLeader(engine, retry_s=retry_s, metrics=metrics)
    return LocalLeader(engine, name=PERIODIC, metrics=metrics)
