"""Shared fixtures: `settings`, `engine` (a fresh database per test), `app`, `client`.

The database is a temporary SQLite file, or - when TEST_DATABASE_URL points at PostgreSQL - a
fresh database created for the test and dropped afterwards. TEST_REDIS_URL, when set, is offered
through the `redis_url` fixture for the tests that exercise the Redis bus, locks and limits.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from scratch_db import postgres_scratch_database
from sqlalchemy import Engine

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


@contextlib.contextmanager
def fresh_database_url(work_dir: Path) -> Iterator[str]:
    """A new empty database: a SQLite file under `work_dir`, or a PostgreSQL database created on the
    server of TEST_DATABASE_URL and dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{work_dir / 'test.db'}"
        return
    with postgres_scratch_database(base, prefix="test") as url:
        yield url


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database_url(tmp_path) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
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
    second time on PostgreSQL (TEST_DATABASE_URL) after the whole suite has run on SQLite."""
    for item in items:
        if DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)
