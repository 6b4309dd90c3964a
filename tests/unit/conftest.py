"""Fixtures of the borrower-side unit tests (helpers live in borrower_helpers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from borrower_helpers import ScriptedRasa
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from handoff.app import create_app
from handoff.config import Settings


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
