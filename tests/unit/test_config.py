"""Settings: typed, unknown keys rejected, placeholder secrets refused outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from actions.settings import ActionServerSettings
from contract.settings import UnknownSettingError
from handoff.config import Settings


def test_defaults_match_the_documented_contract() -> None:
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.DATABASE_URL == "sqlite:///var/handoff.db" and s.PORT == 8000 and s.HOST == "127.0.0.1"
    assert s.RASA_URL == "http://127.0.0.1:5005" and s.RASA_TIMEOUT_S == 5 and s.REDIS_URL is None
    assert s.MAX_MESSAGE_CHARS == 2000 and s.CALLBACK_OFFER_AFTER_S == 120 and s.AGENT_MAX_CONCURRENT == 3


def test_environment_is_read_without_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("RASA_TIMEOUT_S", "3.5")
    s = Settings()
    assert s.PORT == 9123 and s.RASA_TIMEOUT_S == 3.5


def test_unknown_keys_are_rejected() -> None:
    with pytest.raises(ValidationError, match="RASA_TIMEOUT"):
        Settings(RASA_TIMEOUT=3)  # type: ignore[call-arg]


def test_bad_values_name_the_setting() -> None:
    with pytest.raises(ValidationError, match="PORT"):
        Settings(PORT=0)
    with pytest.raises(ValidationError, match="RASA_TIMEOUT_S"):
        Settings(RASA_TIMEOUT_S=30)  # must leave room to answer the borrower within 10 s


def test_production_refuses_placeholder_secrets() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(APP_ENV="production")
    with pytest.raises(ValidationError, match="RASA_TOKEN"):
        Settings(APP_ENV="production", SECRET_KEY="x" * 32)
    ok = Settings(APP_ENV="production", SECRET_KEY="k" * 32, RASA_TOKEN="t" * 32)
    assert ok.APP_ENV == "production"


def test_a_mistyped_variable_of_a_service_family_stops_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLA_FIRST_REPLY", "60")  # the setting is SLA_FIRST_REPLY_S
    with pytest.raises(UnknownSettingError, match="SLA_FIRST_REPLY.*known: .*SLA_FIRST_REPLY_S"):
        Settings()
    monkeypatch.delenv("SLA_FIRST_REPLY")
    monkeypatch.setenv("RASA_TELEMETRY_ENABLED", "false")  # Rasa's own variable, not ours
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "x" * 20)  # the action server's, same environment in `make run`
    assert Settings().SLA_FIRST_REPLY_S == 120


def test_the_action_server_rejects_an_unknown_action_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTION_SERVER_URL", "http://127.0.0.1:5055")  # the service's; allowed
    assert ActionServerSettings().ACTION_SERVER_PORT == 5055
    monkeypatch.setenv("ACTION_TIMEOUT", "3")
    with pytest.raises(UnknownSettingError, match="ACTION_TIMEOUT"):
        ActionServerSettings()
