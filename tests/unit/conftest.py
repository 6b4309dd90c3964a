"""Fixtures of the unit tests: the borrower side's scripted Rasa (helpers live in borrower_helpers.py) and
the agent API's in-process client with an injected clock (`api`, `clock`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from agent_support import make_settings
from borrower_helpers import ScriptedRasa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from handoff.app import create_app
from handoff.config import Settings
from handoff.infra.clock import FakeClock
from knowledge_base import KBSettings


@pytest.fixture
def scripted_rasa() -> Iterator[ScriptedRasa]:
    rasa = ScriptedRasa()
    rasa.thread.start()
    yield rasa
    rasa.server.shutdown()
    rasa.server.server_close()


@pytest.fixture
def bot_app(settings: Settings, engine: Engine, scripted_rasa: ScriptedRasa) -> FastAPI:
    return create_app(settings.model_copy(update={"RASA_URL": scripted_rasa.url}), engine)


@pytest.fixture
def bot_client(bot_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(bot_app) as client:
        yield client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(engine: Engine, clock: FakeClock, tmp_path: Path) -> Iterator[TestClient]:
    """The agent API in-process, on the test's database and clock, with a KB index that was never built."""
    kb_settings = KBSettings(index_dir=tmp_path / "no-index")  # never built
    app = create_app(make_settings(DATABASE_URL=str(engine.url)), engine, kb_settings=kb_settings, clock=clock)
    with TestClient(app) as client:
        yield client
