"""Two pods of docs/production.md ("The layout") on one machine, for benchmarks/load/scale.py.

Each pod is a Rasa server with its own action server and a conversation-service replica whose RASA_URL lists
its own Rasa first and the other pod's second. Both Rasa servers use the production endpoints printed in
docs/production.md (one PostgreSQL tracker store, one Redis lock store, read from the document as
tests/integration/production_layout.py does); both replicas share one PostgreSQL database and one Redis. The
two databases are scratch databases created on the --database-url server and dropped afterwards.

Also here: the PostgreSQL and Redis server processes, when they run on this machine, so their CPU is sampled
too, and each pod's Prometheus counters (service and action server).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import rasa_stack
from memory import Finder
from production_layout import FAQ_EN, endpoints_from_doc, rasa_environment
from prometheus_client.parser import text_string_to_metric_families
from scratch_db import postgres_scratch_database
from service_process import ServiceProcess, free_port, run_service
from sqlalchemy.engine import make_url

FAILOVER_LOG = "unreachable ("  # handoff/rasa/client.py logs this when a turn moves to the next Rasa
Counts = dict[str, float]


@dataclass
class Pod:
    name: str  # a | b
    service: ServiceProcess
    rasa: rasa_stack.RasaStack  # its Rasa and action server
    metrics_url: str  # the replica's METRICS_PORT listener

    def counters(self) -> dict[str, Counts]:
        """The counters scale.py splits a round by: the replica's turns by outcome, its calls to Rasa by
        result, the turns it sent to another Rasa (failover log lines) and the actions its action server ran."""
        service = _samples(self.metrics_url)
        actions = _samples(f"{self.rasa.action_url}/metrics")
        failovers = self.service.log_path.read_text(encoding="utf-8", errors="replace").count(FAILOVER_LOG)
        return {
            "turns": _by_label(service, "handoff_turn_seconds_count", "outcome"),
            "rasa_calls": _by_label(service, "handoff_rasa_request_seconds_count", "result", call="turn"),
            "failovers": {"turns": float(failovers)},
            "actions": _by_label(actions, "actions_run_seconds_count", "action"),
        }


def _samples(url: str) -> list[tuple[str, dict[str, str], float]]:
    text = httpx.get(url, timeout=10, trust_env=False).text
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text) for s in family.samples]


def _by_label(samples: list[tuple[str, dict[str, str], float]], name: str, label: str, **match: str) -> Counts:
    out: Counts = {}
    for sample, labels, value in samples:
        if sample == name and all(labels.get(k) == v for k, v in match.items()):
            out[labels.get(label, "")] = out.get(labels.get(label, ""), 0.0) + value
    return out


@dataclass
class Pods:
    pods: list[Pod]
    databases: list[str]  # the names of the scratch databases (service, Rasa tracker)


@contextlib.contextmanager
def start_pods(work: Path, *, database_url: str, redis_url: str, service_env: Mapping[str, str]) -> Iterator[Pods]:
    endpoints = work / "endpoints.production.yml"
    endpoints.parent.mkdir(parents=True, exist_ok=True)
    endpoints.write_text(endpoints_from_doc(), encoding="utf-8")
    with contextlib.ExitStack() as stack:
        service_db = stack.enter_context(postgres_scratch_database(database_url, prefix="bench_scale"))
        tracker_db = stack.enter_context(postgres_scratch_database(database_url, prefix="bench_scale_tracker"))
        print("starting two Rasa servers, each with its own action server (trains the model only if its inputs "
              "changed)...", flush=True)
        pairs = stack.enter_context(rasa_stack.start_rasa_stacks(
            [work / "rasa-a", work / "rasa-b"], rasa_args=["--endpoints", str(endpoints)],
            rasa_env=rasa_environment(tracker_db, redis_url),
        ))
        for name, pair in zip("ab", pairs, strict=True):
            pair.send(f"warm-up-{name}", FAQ_EN, lang="en", timeout_s=120)
        print("starting two service replicas...", flush=True)
        pods = []
        for name, own, other in (("a", pairs[0], pairs[1]), ("b", pairs[1], pairs[0])):
            port = free_port()
            service = stack.enter_context(run_service(  # one after the other: the first runs the migrations
                work / f"service-{name}", DATABASE_URL=service_db, REDIS_URL=redis_url,
                RASA_URL=f"{own.rasa_url},{other.rasa_url}", RASA_TOKEN=own.rasa_token,
                ACTION_SERVER_URL=own.action_url, METRICS_PORT=str(port), **service_env,
            ))
            pods.append(Pod(name=name, service=service, rasa=own, metrics_url=f"http://127.0.0.1:{port}/metrics"))
        yield Pods(pods=pods, databases=[str(make_url(u).database) for u in (service_db, tracker_db)])


def listener_pid(url: str) -> int | None:
    """The pid of the local process listening on `url`'s port (None: not on this machine, or not visible)."""
    parts = urlsplit(url.replace("+psycopg", ""))
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    try:
        connections = psutil.net_connections(kind="tcp")
    except psutil.Error:
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == parts.port and conn.pid:
            return int(conn.pid)
    return None


def postgres_processes(postmaster: int, databases: list[str]) -> Finder:
    """The server's own processes (WAL writer, checkpointer ...) and the backends of `databases` only, so
    clients of other databases on the same server do not count."""
    def find() -> list[psutil.Process] | None:
        try:
            root = psutil.Process(postmaster)
            children = root.children()
        except psutil.Error:
            return None
        mine = [root]
        for child in children:
            with contextlib.suppress(psutil.Error):
                title = " ".join(child.cmdline())
                is_backend = "(" in title  # "postgres: 15/main: user db 127.0.0.1(53412) idle"
                if not is_backend or any(f" {db} " in title for db in databases):
                    mine.append(child)
        return mine

    return find
