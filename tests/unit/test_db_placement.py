"""Where `Services.db` runs a transaction: on the event loop for SQLite (SQLITE_IN_EVENT_LOOP), on a worker
thread for PostgreSQL, for `offload` work, and whenever another thread holds SQLite's write lock."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from agent_support import make_settings
from sqlalchemy import Engine

from handoff.infra.bus import InProcessBus
from handoff.infra.clock import SystemClock
from handoff.infra.db import sqlite_writer_lock
from handoff.services import Services


def services(engine: Engine, **settings: Any) -> Services:
    return Services(settings=make_settings(**settings), engine=engine, bus=InProcessBus(), clock=SystemClock(),
                    http=None, rasa=None, locks=None, limiter=None)  # type: ignore[arg-type]


async def where(svc: Services, **kwargs: Any) -> str:
    loop_thread = threading.get_ident()
    ran_on = await svc.db(lambda _s: threading.get_ident(), **kwargs)
    return "loop" if ran_on == loop_thread else "thread"


async def test_sqlite_work_runs_on_the_loop_unless_told_or_blocked(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    svc = services(engine)
    assert [await where(svc), await where(svc, write=False)] == ["loop", "loop"]
    assert await where(svc, offload=True) == "thread"
    assert await where(services(engine, SQLITE_IN_EVENT_LOOP=False)) == "thread"

    lock = sqlite_writer_lock(engine)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        assert await where(svc, write=False) == "loop"  # readers never wait for the writer (WAL)
        # A writer must not block the loop: it waits on a worker thread, and the loop carries on meanwhile.
        pending = asyncio.create_task(svc.db(lambda _s: threading.get_ident()))
        await asyncio.sleep(0.1)
        assert not pending.done()
        release.set()
        assert await pending != threading.get_ident()
    finally:
        release.set()
        holder.join()


async def test_postgresql_work_runs_on_worker_threads(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("PostgreSQL only (TEST_DATABASE_URL)")
    svc = services(engine)
    assert [await where(svc), await where(svc, write=False)] == ["thread", "thread"]
