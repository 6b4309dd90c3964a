"""The production layout of docs/production.md started on one machine, for tests/integration/test_faults_production_layout.py.

The document is read, not copied: the endpoints YAML and TICKET_LOCK_LIFETIME come from docs/production.md,
so the document cannot drift from what works.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import rasa_stack
from service_process import ROOT, ServiceProcess, create_agent, run_service
from sqlalchemy.engine import make_url
from tcp_proxy import TcpProxy

DOC = ROOT / "docs" / "production.md"
PRODUCTION_ENDPOINTS = ROOT / "bot" / "endpoints.production.yml"
FAQ_EN = "How do I get a payoff quote?"


def endpoints_from_doc() -> str:
    """The YAML block under '### Rasa endpoints' in docs/production.md (and in bot/, once it is there)."""
    section = DOC.read_text(encoding="utf-8").split("### Rasa endpoints", 1)[1]
    match = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert match, "docs/production.md: no ```yaml block under '### Rasa endpoints'"
    if PRODUCTION_ENDPOINTS.exists():
        assert PRODUCTION_ENDPOINTS.read_text(encoding="utf-8").split() == match.group(1).split(), (
            f"{PRODUCTION_ENDPOINTS.relative_to(ROOT)} and docs/production.md differ: keep them the same"
        )
    return match.group(1)


def ticket_lock_lifetime_from_doc() -> str:
    """The `export TICKET_LOCK_LIFETIME=N` docs/production.md recommends for the Rasa servers."""
    match = re.search(r"export TICKET_LOCK_LIFETIME=(\d+)", DOC.read_text(encoding="utf-8"))
    assert match, "docs/production.md: no `export TICKET_LOCK_LIFETIME=N` in the Rasa settings"
    return match.group(1)


@dataclass
class Layout:
    replicas: list[ServiceProcess]  # service A (RASA_URL=A,B), service B (RASA_URL=B,A)
    rasa: list[rasa_stack.RasaStack]  # Rasa + action server pairs A and B
    db_proxy: TcpProxy  # between both services and PostgreSQL
    tracker_db_url: str


def rasa_environment(tracker_db_url: str, redis_url: str) -> dict[str, str]:
    """The Rasa variables of docs/production.md for one tracker database and one Redis."""
    tracker_db, redis = make_url(tracker_db_url), urlsplit(redis_url)
    return {
        "RASA_TRACKER_DB_HOST": tracker_db.host or "127.0.0.1", "RASA_TRACKER_DB_PORT": str(tracker_db.port or 5432),
        "RASA_TRACKER_DB_NAME": str(tracker_db.database), "RASA_TRACKER_DB_USER": tracker_db.username or "postgres",
        "RASA_TRACKER_DB_PASSWORD": tracker_db.password or "",
        "RASA_LOCK_REDIS_HOST": redis.hostname or "127.0.0.1", "RASA_LOCK_REDIS_PORT": str(redis.port or 6379),
        "RASA_LOCK_REDIS_DB": "1", "RASA_LOCK_REDIS_PASSWORD": redis.password or "",
        "TICKET_LOCK_LIFETIME": ticket_lock_lifetime_from_doc(),
    }


@contextlib.contextmanager
def start_layout(
    workdir: Path, *, make_database_url: Any, redis_url: str, agent: tuple[str, str]
) -> Iterator[Layout]:
    """Two Rasa + action server pairs (A, B) sharing one PostgreSQL tracker database and one Redis lock store
    as docs/production.md configures them, and two service replicas (A lists Rasa A first, B lists Rasa B
    first) on one PostgreSQL database reached through a TCP proxy; `agent` (username, password) on replica B.
    `make_database_url` is the conftest fixture (new, empty PostgreSQL databases dropped afterwards)."""
    endpoints = workdir / "endpoints.production.yml"
    endpoints.write_text(endpoints_from_doc(), encoding="utf-8")
    with contextlib.ExitStack() as stack:
        service_db = make_url(stack.enter_context(make_database_url(workdir / "service-db")))
        tracker_db = stack.enter_context(make_database_url(workdir / "tracker-db"))
        pairs = stack.enter_context(rasa_stack.start_rasa_stacks(
            [workdir / "rasa-a", workdir / "rasa-b"], rasa_args=["--endpoints", str(endpoints)],
            rasa_env=rasa_environment(tracker_db, redis_url),
        ))
        for name, pair in zip("ab", pairs, strict=True):
            pair.send(f"warm-up-{name}", FAQ_EN, lang="en", timeout_s=120)
        proxy = stack.enter_context(TcpProxy(target_port=service_db.port or 5432).in_thread())
        through_proxy = service_db.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        replicas = []
        for name, own, other in (("a", pairs[0], pairs[1]), ("b", pairs[1], pairs[0])):
            replicas.append(stack.enter_context(run_service(  # one after the other: the first runs the migrations
                workdir / f"service-{name}", DATABASE_URL=through_proxy, REDIS_URL=redis_url,
                RASA_URL=f"{own.rasa_url},{other.rasa_url}", RASA_TOKEN=own.rasa_token, RASA_TIMEOUT_S="8",
                ACTION_SERVER_URL=own.action_url,
            )))
        create_agent(replicas[1], username=agent[0], password=agent[1])
        yield Layout(replicas=replicas, rasa=pairs, db_proxy=proxy, tracker_db_url=tracker_db)


def ws_url(service: ServiceProcess, conversation_id: str) -> str:
    return service.url.replace("http", "ws", 1) + f"/ws/conversations/{conversation_id}"


@contextlib.contextmanager
def frozen(process: subprocess.Popen[bytes]) -> Iterator[None]:
    """SIGSTOP a process group for the block (it accepts connections but answers nothing), SIGCONT after."""
    os.killpg(process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(process.pid, signal.SIGCONT)
