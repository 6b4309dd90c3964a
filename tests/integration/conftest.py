"""One Rasa server + action server for the whole session, shared by the modules that only talk to them;
and `race_engine`, the database of the race tests (SQLite, then PostgreSQL).

Starting the pair (loading the model and the embedding model) costs tens of seconds on 2 cores, so
the modules that need an ordinary, healthy stack share this one; every test uses its own conversation
ids, so they cannot see each other's trackers. Modules that need a special stack (a proxy in front of the
action server, a production endpoints file) still start their own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa_stack import RasaStack, start_rasa_stack
from scratch_db import postgres_scratch_database
from sqlalchemy import Engine

from handoff.infra import db

WARM_UP = {"en": "How do I get a payoff quote?", "zh": "怎么申请提前结清？"}


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaStack]:
    with start_rasa_stack(workdir=tmp_path_factory.mktemp("rasa_stack")) as running:
        # The first query per language loads jieba, warms TensorFlow and the embedding model up; a cold
        # start is not what the tests are about (test_faults covers slowness).
        for lang, text in WARM_UP.items():
            running.send(f"warm-up-{lang}", text, lang=lang, timeout_s=120)
        yield running


@pytest.fixture(params=["sqlite", "postgresql"])
def race_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database for the race tests: a SQLite file, then (when TEST_DATABASE_URL points at one)
    a scratch PostgreSQL database, dropped afterwards."""
    if request.param == "sqlite":
        engine = db.make_engine(f"sqlite:///{tmp_path / 'race.db'}")
        db.upgrade(engine)
        yield engine
        engine.dispose()
        return
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith(("postgresql", "postgres")):
        pytest.skip("TEST_DATABASE_URL does not point at PostgreSQL")
    with postgres_scratch_database(base, prefix="race") as url:
        engine = db.make_engine(url)
        try:
            db.upgrade(engine)
            yield engine
        finally:
            engine.dispose()
