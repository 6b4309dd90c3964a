"""One Rasa server + action server for the whole session, shared by the modules that only talk to them;
`browser`, headless Chromium launched once per module; and `race_engine`, the database of the race tests
(SQLite, then PostgreSQL).

Starting the pair (loading the model and the embedding model) costs tens of seconds on 2 cores, so
the modules that need an ordinary, healthy stack share this one; every test uses its own conversation
ids, so they cannot see each other's trackers. Modules that need a special stack (a proxy in front of the
action server, a production endpoints file) still start their own.

Chromium is shared the same way: each test opens its own contexts (cookies, storage and permissions of their
own), and they are closed when the test ends, so no page of an earlier test is still open. The browser lives
for one module only: Playwright's synchronous API marks its event loop as running between calls, which the
asyncio tests of other modules must not see.

`embedder`: the real default embedding model (MiniLM on PyTorch), loaded once for the KB modules.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_stack import RasaStack, start_rasa_stack
from scratch_db import postgres_scratch_database
from sqlalchemy import Engine

from handoff.infra import db
from knowledge_base import KBSettings
from knowledge_base.embedder import Embedder


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real default model, loaded once for the whole session."""
    return Embedder(KBSettings().model)


WARM_UP = {"en": "How do I get a payoff quote?", "zh": "怎么申请提前结清？"}
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--autoplay-policy=no-user-gesture-required"]  # the console's beeps play without a click


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RasaStack]:
    with start_rasa_stack(workdir=tmp_path_factory.mktemp("rasa_stack")) as running:
        # The first query per language loads jieba, warms TensorFlow and the embedding model up; a cold
        # start is not what the tests are about (test_faults covers slowness).
        for lang, text in WARM_UP.items():
            running.send(f"warm-up-{lang}", text, lang=lang, timeout_s=120)
        yield running


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def browser(chromium: Any) -> Iterator[Any]:
    """The module's Chromium, with no context open; every context the test opened is closed after it."""
    assert not chromium.contexts, "a context of an earlier test is still open"
    yield chromium
    for context in chromium.contexts:
        context.close()


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
