"""A scratch PostgreSQL database for one test or benchmark run: created empty, dropped afterwards.

Shared by tests/conftest.py (fixtures) and benchmarks/load/agent_delivery.py, which runs outside pytest."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from handoff.infra import db


@contextlib.contextmanager
def postgres_scratch_database(server_url: str, *, prefix: str, template: str | None = None) -> Iterator[str]:
    """The URL of a new database `<prefix>_<random>` on the server of `server_url`: empty, or a copy of the
    database named `template` (which nobody may be connected to)."""
    base = db.normalize_url(server_url)
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    copy_of = f' TEMPLATE "{template}"' if template else ""
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{copy_of}'))
        try:
            yield make_url(base).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
