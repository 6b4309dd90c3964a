"""Kill the leader: another replica takes over the periodic work within seconds, and no notice is sent
twice (handoff/infra/leader.py). Two real service processes on one PostgreSQL database; the SLA
clock runs fast (a breach after 3 s, a pass every 0.3 s) while chats keep joining the queue."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from scratch_db import postgres_scratch_database
from service_process import ServiceProcess, free_port, run_service
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.integration

FAST_CLOCK = {
    "SLA_FIRST_REPLY_S": "3", "SLA_INTERVAL_S": "0.3", "LEADER_RETRY_S": "0.3", "CALLBACK_OFFER_AFTER_S": "2",
    "MIGRATE_ON_START": "true",
}


@pytest.fixture
def postgres_url() -> Iterator[str]:
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        pytest.skip("needs TEST_DATABASE_URL on PostgreSQL")
    with postgres_scratch_database(base, prefix="leader") as url:
        yield url


def is_leader(metrics_port: int) -> bool | None:
    """The replica's `handoff_leader` gauge, or None when it does not answer (dead)."""
    try:
        page = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2.0, trust_env=False).text
    except httpx.HTTPError:
        return None
    for family in text_string_to_metric_families(page):
        if family.name == "handoff_leader":
            return family.samples[0].value == 1
    return False


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{what} not within {timeout_s} s")


def queue_chats(service: ServiceProcess, count: int) -> list[str]:
    ids = []
    with httpx.Client(base_url=service.url, timeout=10.0, trust_env=False) as client:
        for _ in range(count):
            created = client.post("/api/conversations", json={"lang": "en"}).json()
            auth = {"Authorization": f"Bearer {created['token']}"}
            assert client.post(f"/api/conversations/{created['id']}/handoff", headers=auth).status_code == 200
            ids.append(created["id"])
    return ids


def test_killing_the_leader_hands_the_sla_clock_over_without_double_notices(
    tmp_path: Path, postgres_url: str
) -> None:
    ports = [free_port(), free_port()]
    with contextlib.ExitStack() as stack:
        replicas = [
            stack.enter_context(run_service(
                tmp_path / name, DATABASE_URL=postgres_url, METRICS_PORT=str(port), **FAST_CLOCK
            ))
            for name, port in zip(("a", "b"), ports, strict=True)
        ]
        wait_for(lambda: sorted(is_leader(port) is True for port in ports) == [False, True], 10, "exactly one leader")
        leader = 0 if is_leader(ports[0]) else 1
        other = 1 - leader
        chats = queue_chats(replicas[other], 15)
        time.sleep(2.5)  # warnings are being written by the leader now
        chats += queue_chats(replicas[other], 15)  # these breach only after the kill
        os.killpg(replicas[leader].process.pid, signal.SIGKILL)
        replicas[leader].process.wait(timeout=10)
        took_over = wait_for(lambda: is_leader(ports[other]) is True, 10, "a new leader")
        assert took_over < 5, f"the take-over took {took_over:.1f} s"
        print(f"take-over after the kill: {took_over:.2f} s")

        engine = create_engine(postgres_url)
        try:
            def all_breached() -> bool:
                with engine.connect() as conn:
                    waiting = conn.scalar(text(
                        "SELECT count(*) FROM queue_entries WHERE sla_breached_at IS NULL "
                        "OR CAST(packet AS TEXT) NOT LIKE '%callback_offered_at%'"
                    ))
                return waiting == 0

            wait_for(all_breached, 30, "every chat breached and offered a callback")
            time.sleep(1.0)  # more passes of the new leader: still nothing twice
            with engine.connect() as conn:
                notices = conn.execute(text(
                    "SELECT conversation_id, payload FROM messages WHERE sender = 'system'"
                )).all()
                audit = conn.execute(text(
                    "SELECT conversation_id, action FROM audit_events WHERE action IN "
                    "('sla_warning', 'sla_breach', 'callback_offered')"
                )).all()
                token = conn.scalar(text("SELECT token FROM leader_leases WHERE name = 'periodic'"))
        finally:
            engine.dispose()
    kinds = Counter(
        (cid, (payload or {}).get("custom", {}).get("type")) for cid, payload in
        ((cid, payload if isinstance(payload, dict) else None) for cid, payload in notices)
    )
    for cid in chats:
        assert kinds[(cid, "sla_breach")] == 1, cid
        assert kinds[(cid, "callback_offer")] == 1, cid
    actions = Counter(audit)
    assert max(actions.values()) == 1, [key for key, n in actions.items() if n > 1]
    assert all(actions[(cid, "sla_breach")] == 1 for cid in chats)
    assert token == 2  # two leaders in this database's life: the killed one and its successor
