"""Start the conversation service as a real process (`python -m handoff serve`, uvicorn) on a free loopback
port, for tests and benchmarks that need it outside the test process.

    with run_service(tmp_path, RASA_URL=proxy.url) as service:
        httpx.get(f"{service.url}/healthz")

Settings reach it only through environment variables, like in production; the environment is built from
scratch so nothing of the caller's (a developer's DATABASE_URL, say) leaks in.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from handoff.agents import accounts
from handoff.config import Settings
from handoff.infra import db

ROOT = Path(__file__).resolve().parents[2]
APP_PYTHON = ROOT / ".venv" / "bin" / "python"
LOOPBACK = "127.0.0.1"
CLOSED_PORT_URL = "http://127.0.0.1:9"  # discard port: nothing listens
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "HF_HOME", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceProcess:
    url: str
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    log_path: Path

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]


def service_env(work_dir: Path, **overrides: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
    env.update(
        HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1",
        APP_ENV="development",
        DATABASE_URL=f"sqlite:///{work_dir / 'handoff.db'}",
        RASA_URL=CLOSED_PORT_URL, RASA_TOKEN="test-rasa-token", ACTION_SERVER_URL="",
        SECRET_KEY="test-secret-key-not-for-production",
        BUSINESS_HOURS="always", BUSINESS_TZ="UTC",
        RATE_LIMIT_CONVERSATION_PER_MIN="100000", RATE_LIMIT_CLIENT_PER_MIN="1000000",
        LOG_LEVEL="WARNING",
    )
    env.update(overrides)
    return env


def wait_until_healthy(url: str, process: subprocess.Popen[bytes], *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with code {process.returncode} during start-up")
        with contextlib.suppress(httpx.HTTPError):
            # /healthz itself waits up to 2 s for each dependency (a black-holed Rasa, say): give it time.
            if httpx.get(f"{url}/healthz", timeout=10.0, trust_env=False).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"the service at {url} was not healthy within {timeout_s:g} s")


def stop(process: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_s)


@contextlib.contextmanager
def run_service(
    work_dir: Path, *, ready_timeout_s: float = 60.0, port: int | None = None, **overrides: str
) -> Iterator[ServiceProcess]:
    """Run the service until the block ends; `overrides` are its environment variables (settings). `port`:
    one chosen beforehand (another process must know the service's URL before it starts), else a free one."""
    work_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    env = service_env(work_dir, **overrides)
    log_path = work_dir / f"service-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(APP_PYTHON), "-m", "handoff", "serve", "--host", LOOPBACK, "--port", str(port)],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
    service = ServiceProcess(url=f"http://{LOOPBACK}:{port}", process=process, env=env, log_path=log_path)
    try:
        try:
            wait_until_healthy(service.url, process, timeout_s=ready_timeout_s)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}\n--- {log_path} ---\n{service.log_tail()}") from None
        yield service
    finally:
        stop(process)


def create_agent(
    service: ServiceProcess, *, username: str, password: str, role: str = "agent", display_name: str | None = None,
    languages: str = "en,zh", team: str | None = None,
) -> None:
    """What `python -m handoff create-agent` does (tests/unit/test_agents_accounts.py runs the command itself),
    in this process, on the service's database: a new Python process per agent cost seconds on 2 cores."""
    default_limit = Settings.model_fields["AGENT_MAX_CONCURRENT"].default
    engine = db.make_engine(service.env["DATABASE_URL"])
    try:
        with db.session_scope(engine) as session:
            accounts.create_agent(
                session, username=username, password=password, role=role, display_name=display_name,
                languages=languages, team=team,
                max_concurrent=int(service.env.get("AGENT_MAX_CONCURRENT", default_limit)),
            )
    finally:
        engine.dispose()
