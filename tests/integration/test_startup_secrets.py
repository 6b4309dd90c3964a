"""Issue 11.5: a PostgreSQL password containing `%` (every URL-escaped password) works, and no secret
appears in any output of a start-up that fails (`python -m handoff serve` as a real process)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from scratch_db import postgres_scratch_database
from service_process import APP_PYTHON, ROOT, free_port, run_service, service_env
from sqlalchemy.engine import make_url

from handoff.infra import db

pytestmark = pytest.mark.integration

PASSWORD = "Tr0ub4dor%&3@x"  # in the URL: Tr0ub4dor%25%263%40x
ESCAPED = "Tr0ub4dor%25%263%40x"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith(("postgresql", "postgres")):
        pytest.skip("TEST_DATABASE_URL does not point at PostgreSQL")
    with postgres_scratch_database(base, prefix="secret") as url:
        yield url


def _with_password(url: str, *, port: int | None = None) -> str:
    parsed = make_url(db.normalize_url(url)).set(password=PASSWORD)
    if port is not None:
        parsed = parsed.set(port=port)
    rendered = parsed.render_as_string(hide_password=False)
    assert ESCAPED in rendered  # the URL really carries `%` escapes
    return rendered


def test_a_password_with_percent_signs_starts_the_service(tmp_path: Path, postgres_url: str) -> None:
    # The test server trusts local connections, so the password is carried but not checked: what
    # is tested is that start-up (migrations included) gets through with it.
    with run_service(tmp_path, DATABASE_URL=_with_password(postgres_url), LOG_LEVEL="INFO") as service:
        health = httpx.get(f"{service.url}/healthz", trust_env=False).json()
        assert health["checks"]["db"] == {"ok": True, "backend": "postgresql"}
        log = service.log_tail(200_000)
    assert PASSWORD not in log and ESCAPED not in log


@pytest.mark.parametrize("url", [
    f"postgresql+psycopg://app:{ESCAPED}@127.0.0.1:{{port}}/handoff",  # nothing listens there
    f"postgresql+psycopg://app:{ESCAPED}@127.0.0.1:{{port}}/handoff?sslmode=bogus",  # a bad option
])
def test_a_failed_start_up_shows_no_password(tmp_path: Path, url: str) -> None:
    env = service_env(tmp_path, DATABASE_URL=url.format(port=free_port()), LOG_LEVEL="DEBUG")
    done = subprocess.run(
        [str(APP_PYTHON), "-m", "handoff", "serve", "--port", str(free_port())],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "cannot migrate the database" in output or "configuration error" in output, output
    for secret in (PASSWORD, ESCAPED, "Tr0ub4dor"):
        assert secret not in output, output
