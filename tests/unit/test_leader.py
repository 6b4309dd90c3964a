"""The periodic work's leader: election, fencing tokens, hand-over (handoff/infra/leader.py).

On PostgreSQL (TEST_DATABASE_URL) two real `PostgresLeader`s campaign on one database; on SQLite the
single process fences the same way. tests/integration/test_leader_failover.py kills a real leader."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from sqlalchemy import Engine

from handoff.infra.db import session_scope
from handoff.infra.leader import LocalLeader, LostLeadership, PostgresLeader, make_leader, take_token
from handoff.infra.metrics import Metrics

pytestmark = pytest.mark.db


def postgres_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks need PostgreSQL (TEST_DATABASE_URL)")


def test_a_new_token_fences_out_the_old_leader(engine: Engine) -> None:
    old = make_leader(engine)
    old._elected()  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        old.fence(session)  # still the newest token: passes
        take_token(session, name="periodic", holder="someone-else")
    with session_scope(engine) as session, pytest.raises(LostLeadership):
        old.fence(session)


def test_a_process_that_never_led_is_fenced_out(engine: Engine) -> None:
    with session_scope(engine) as session, pytest.raises(LostLeadership):
        LocalLeader(engine, name="periodic", metrics=None).fence(session)


async def test_sqlite_runs_the_work_in_its_one_process(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite layout")
    metrics = Metrics()
    leader = make_leader(engine, metrics=metrics)
    ran = asyncio.Event()

    async def work() -> None:
        ran.set()
        await asyncio.sleep(3600)

    task = asyncio.create_task(leader.run(work))
    await asyncio.wait_for(ran.wait(), 5)
    assert leader.is_leader and metrics.leader._value.get() == 1  # type: ignore[attr-defined]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not leader.is_leader and metrics.leader._value.get() == 0  # type: ignore[attr-defined]


async def test_one_of_two_replicas_leads_and_the_other_takes_over(engine: Engine) -> None:
    postgres_only(engine)
    leaders = [PostgresLeader(engine, retry_s=0.1), PostgresLeader(engine, retry_s=0.1)]
    running: list[int] = []

    def work_of(index: int) -> Callable[[], Coroutine[Any, Any, None]]:
        async def work() -> None:
            running.append(index)
            await asyncio.sleep(3600)

        return work

    tasks = [asyncio.create_task(leader.run(work_of(i))) for i, leader in enumerate(leaders)]
    try:
        for _ in range(50):
            if running:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)  # the other replica campaigns meanwhile, and loses
        assert len(running) == 1
        first = running[0]
        assert [leader.is_leader for leader in leaders].count(True) == 1
        token = leaders[first].token
        tasks[first].cancel()  # the leader stops: its lock connection closes
        started = time.monotonic()
        while len(running) < 2 and time.monotonic() - started < 5:
            await asyncio.sleep(0.05)
        assert running == [first, 1 - first]
        assert time.monotonic() - started < 2
        assert leaders[1 - first].token == (token or 0) + 1
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def test_a_takeover_waits_for_the_old_leaders_running_pass(engine: Engine) -> None:
    """The new leader's increment queues behind the old leader's fenced pass, so the two never overlap."""
    postgres_only(engine)
    old = PostgresLeader(engine)
    old._elected()
    order: list[str] = []
    in_pass = threading.Event()

    def old_pass() -> None:
        with session_scope(engine) as session:
            old.fence(session)
            in_pass.set()
            time.sleep(0.5)
            order.append("old pass committed")

    thread = threading.Thread(target=old_pass)
    thread.start()
    assert in_pass.wait(5)
    with session_scope(engine) as session:
        take_token(session, name="periodic", holder="new")
    order.append("new token taken")
    thread.join()
    assert order == ["old pass committed", "new token taken"]
