"""Settings of the action server: one typed object, read from the environment by the entry point only."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from contract.settings import StrictSettings

PLACEHOLDER_PREFIX = "change-me"
DEFAULT_TOKEN = "change-me-action-server-token"


class SettingsError(ValueError):
    """A setting is missing or unsafe; the message names the variable and how to fix it."""


class ActionServerSettings(StrictSettings):
    model_config = SettingsConfigDict(extra="forbid", case_sensitive=True, frozen=True)
    ENV_FAMILIES: ClassVar[tuple[str, ...]] = ("ACTION_", "APP_")
    # ACTION_SERVER_URL is the service's; ACTION_PORT is scripts/run_all.py's (it passes it as --port)
    ENV_READ_ELSEWHERE: ClassVar[frozenset[str]] = frozenset({"ACTION_SERVER_URL", "ACTION_PORT"})

    APP_ENV: Literal["development", "production"] = Field(
        "development", description="production refuses a missing or placeholder ACTION_SERVER_TOKEN"
    )
    ACTION_SERVER_TOKEN: str = Field(
        DEFAULT_TOKEN, description="shared secret Rasa sends as ?token= (bot/endpoints.yml); checked on every call"
    )
    ACTION_SERVER_HOST: str = Field("127.0.0.1", description="bind address; keep it on loopback")
    ACTION_SERVER_PORT: int = Field(5055, ge=1, le=65535, description="port")
    ACTION_TIMEOUT_S: float = Field(
        10.0, gt=0, le=30, description="deadline of one action call (Rasa's conversation lock lives 60 s)"
    )
    ACTION_KB_TIMEOUT_S: float = Field(6.0, gt=0, le=30, description="deadline of one knowledge-base search")
    LOG_LEVEL: str = Field("INFO", description="Python logging level")
    SERVICE_URL: str | None = Field(
        "http://127.0.0.1:8000",
        description="conversation service base URL: the verified borrower's account data comes from its "
        "/internal/ API (None: account questions always go to a person)",
    )
    INTERNAL_API_TOKEN: str = Field(
        "change-me-internal-token", description="shared secret of those calls (the service's INTERNAL_API_TOKEN)"
    )
    ACTION_ACCOUNT_TIMEOUT_S: float = Field(
        4.0, gt=0, le=30, description="deadline of one account look-up (at most half of ACTION_TIMEOUT_S is used)"
    )

    @property
    def account_timeout_s(self) -> float:
        return min(self.ACTION_ACCOUNT_TIMEOUT_S, self.ACTION_TIMEOUT_S / 2)

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> ActionServerSettings:
        token = self.ACTION_SERVER_TOKEN.strip()
        if self.APP_ENV != "development" and (not token or token.startswith(PLACEHOLDER_PREFIX)):
            raise SettingsError(
                "ACTION_SERVER_TOKEN is unset or still a placeholder: set it to a long random secret "
                "(the same value Rasa reads in bot/endpoints.yml), or set APP_ENV=development"
            )
        if self.ACTION_KB_TIMEOUT_S >= self.ACTION_TIMEOUT_S:
            raise SettingsError("ACTION_KB_TIMEOUT_S must be below ACTION_TIMEOUT_S")
        return self
