"""Shared fixtures: `settings`, `engine` (a fresh database per test), `app`, `client`.

The database is a temporary SQLite file, or - when TEST_DATABASE_URL points at PostgreSQL - a
fresh database created for the test and dropped afterwards. A test that asks for `engine` gets its
database already migrated: a copy of one database the session migrated to head (copying is a few
milliseconds, migrating 0.1 s on SQLite and 0.6 s on PostgreSQL, for some 350 tests); tests that ask
only for `database_url` get it empty. TEST_REDIS_URL, when set, is offered through the `redis_url`
fixture for the tests that exercise the Redis bus, locks and limits.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from scratch_db import postgres_scratch_database
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from handoff.app import create_app
from handoff.config import Settings
from handoff.infra import db

# Property tests draw the same examples on every run (seeded per test), so a CI run repeats what was seen.
hypothesis_settings.register_profile("repeatable", derandomize=True, database=None)
hypothesis_settings.load_profile("repeatable")

CLOSED_PORT_URL = "http://127.0.0.1:9"  # discard port: nothing listens, connections are refused


def test_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": "sqlite:///:memory:",
        "RASA_URL": CLOSED_PORT_URL,
        "RASA_TOKEN": "test-rasa-token",
        "RASA_TIMEOUT_S": 2.0,
        "ACTION_SERVER_URL": None,
        "REDIS_URL": None,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "BUSINESS_HOURS": "always",
        "BUSINESS_TZ": "UTC",
        "RATE_LIMIT_CONVERSATION_PER_MIN": 1000,
        "RATE_LIMIT_CLIENT_PER_MIN": 10000,
        "APP_ENV": "development",
    }
    values.update(overrides)
    return Settings(**values)


@dataclass(frozen=True)
class MigratedTemplate:
    """A database migrated to head that tests copy: a SQLite file, or the name of a PostgreSQL database."""

    sqlite_file: Path | None = None
    postgres_name: str | None = None


@contextlib.contextmanager
def fresh_database_url(work_dir: Path, template: MigratedTemplate | None = None) -> Iterator[str]:
    """A new database, empty or a copy of `template`: a SQLite file under `work_dir`, or a PostgreSQL
    database created on the server of TEST_DATABASE_URL and dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        path = work_dir / "test.db"
        if template and template.sqlite_file:
            shutil.copyfile(template.sqlite_file, path)
        yield f"sqlite:///{path}"
        return
    with postgres_scratch_database(base, prefix="test", template=template and template.postgres_name) as url:
        yield url


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplate]:
    """Migrated once per session by the real migrations (tests/unit/test_db.py checks what they create)."""
    with fresh_database_url(tmp_path_factory.mktemp("template")) as url:
        engine = db.make_engine(url)
        try:
            db.upgrade(engine)
        finally:
            engine.dispose()  # closes the SQLite WAL into the file; PostgreSQL copies need no one connected
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            yield MigratedTemplate(sqlite_file=Path(str(parsed.database)))
        else:
            yield MigratedTemplate(postgres_name=parsed.database)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Empty, unless the test also asks for `engine`, which promises a migrated schema: then a copy of the
    migrated template."""
    template = request.getfixturevalue("migrated_template") if "engine" in request.fixturenames else None
    with fresh_database_url(tmp_path, template) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url)  # already migrated (see `database_url`)
    yield engine
    engine.dispose()


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL not set")
    return url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return test_settings(DATABASE_URL=database_url)


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings, engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def make_database_url() -> Any:
    """`with make_database_url(work_dir) as url:` for fixtures broader than one test (real processes)."""
    return fresh_database_url


DATABASE_FIXTURES = frozenset({"database_url", "engine", "race_engine"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test that touches the service database `db`, so `make test` can run exactly those a
    second time on PostgreSQL (TEST_DATABASE_URL) after the whole suite has run on SQLite. `race_engine`
    names its database in the test's id: its SQLite variant is the same in both passes, so it is not `db`."""
    for item in items:
        uses = DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        if uses == {"race_engine"} and callspec is not None and callspec.params.get("race_engine") == "sqlite":
            continue
        if uses:
            item.add_marker(pytest.mark.db)
