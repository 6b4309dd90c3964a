"""Settings of the borrower notifier (`NOTIFY_*`) and of the repayment reminders (`REMINDER_*`).

Apart from `handoff/config.py` (which must stay small), built once by the entry point like `Settings` and
handed to `create_app`; nothing else reads the environment. `model_construct()` gives the defaults without
reading the environment (what tests and `Services` use when nothing is passed).
"""

from __future__ import annotations

from datetime import time
from typing import ClassVar

from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from contract.settings import StrictSettings, split_list
from knowledge_base.reminder_templates import KINDS as REMINDER_KINDS

PLACEHOLDER_PREFIX = "change-me"
CHANNELS: tuple[str, ...] = ("chat", "push", "sms", "wechat")


class NotifierSettings(StrictSettings):
    """The lender's push / SMS / WeChat gateway that borrower notifications are POSTed to."""

    model_config = SettingsConfigDict(extra="forbid", case_sensitive=True, frozen=True)
    ENV_FAMILIES: ClassVar[tuple[str, ...]] = ("NOTIFY_",)

    APP_ENV: str = Field("development", description="production refuses a placeholder NOTIFY_GATEWAY_SECRET")
    NOTIFY_GATEWAY_URL: str | None = Field(
        None, description="POST borrower notifications here (signed JSON); None = in-app (chat) only"
    )
    NOTIFY_GATEWAY_SECRET: str = Field(
        "change-me-notify-secret", description="HMAC-SHA256 key of the gateway's X-Handoff-Signature header"
    )
    NOTIFY_MAX_ATTEMPTS: int = Field(6, ge=1, le=50, description="attempts per notification before dead-letter")
    NOTIFY_FIRST_BACKOFF_S: float = Field(5.0, gt=0, description="wait after the first failure (doubles each time)")
    NOTIFY_MAX_BACKOFF_S: float = Field(3600.0, gt=0, description="longest wait between two attempts")
    NOTIFY_TIMEOUT_S: float = Field(5.0, gt=0, le=30, description="gateway connect/read timeout")
    NOTIFY_INTERVAL_S: float = Field(2.0, gt=0, description="how often due notifications are sent")

    @model_validator(mode="after")
    def _refuse_placeholder(self) -> NotifierSettings:
        if (self.APP_ENV == "production" and self.NOTIFY_GATEWAY_URL
                and self.NOTIFY_GATEWAY_SECRET.startswith(PLACEHOLDER_PREFIX)):
            raise ValueError("NOTIFY_GATEWAY_SECRET still holds its placeholder; set a random secret")
        return self


def _clock_time(value: str) -> time:
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes or 0))


class ReminderSettings(StrictSettings):
    """Which repayment reminders go out, when, and how often (handoff/reminders/)."""

    model_config = SettingsConfigDict(extra="forbid", case_sensitive=True, frozen=True)
    ENV_FAMILIES: ClassVar[tuple[str, ...]] = ("REMINDER_",)

    REMINDER_ENABLED: bool = Field(True, description="run the reminder scheduler on the leader")
    REMINDER_KINDS: str = Field(
        ",".join(REMINDER_KINDS), description=f"kinds sent, comma-separated, of {', '.join(REMINDER_KINDS)}"
    )
    REMINDER_DUE_SOON_DAYS: int = Field(3, ge=1, le=30, description="due_soon goes out this many days before")
    REMINDER_QUIET_START: str = Field("21:00", description="quiet hours start, the borrower's local time (HH:MM)")
    REMINDER_QUIET_END: str = Field("08:00", description="quiet hours end, the borrower's local time (HH:MM)")
    REMINDER_MAX_PER_DAY: int = Field(
        2, ge=1, le=20, description="frequency cap: reminders per borrower in any 24 hours (later ones wait)"
    )
    REMINDER_DEFAULT_CHANNELS: str = Field(
        "chat,push", description="channels a borrower gets until they opt out (others need an opt-in)"
    )
    REMINDER_INTERVAL_S: float = Field(60.0, gt=0, description="how often the scheduler plans and sends")
    REMINDER_BATCH: int = Field(200, ge=1, le=5000, description="reminders sent per transaction")
    REMINDER_PAYMENT_WINDOW_DAYS: int = Field(
        7, ge=1, le=60, description="dashboard: a payment this many days after a reminder counts for it"
    )
    REMINDER_DEMO_TRIGGER: bool = Field(
        False, description="development only: POST /api/dev/reminders/run plans and sends right away"
    )

    @field_validator("REMINDER_KINDS")
    @classmethod
    def _known_kinds(cls, value: str) -> str:
        unknown = [k for k in split_list(value) if k not in REMINDER_KINDS]
        if unknown:
            raise ValueError(f"unknown reminder kind(s) {', '.join(unknown)}; known: {', '.join(REMINDER_KINDS)}")
        return value

    @field_validator("REMINDER_DEFAULT_CHANNELS")
    @classmethod
    def _known_channels(cls, value: str) -> str:
        unknown = [c for c in split_list(value) if c not in CHANNELS]
        if unknown:
            raise ValueError(f"unknown channel(s) {', '.join(unknown)}; known: {', '.join(CHANNELS)}")
        return value

    @field_validator("REMINDER_QUIET_START", "REMINDER_QUIET_END")
    @classmethod
    def _clock(cls, value: str) -> str:
        try:
            _clock_time(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a time of day; write HH:MM, e.g. 21:00") from None
        return value

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(split_list(self.REMINDER_KINDS))

    @property
    def default_channels(self) -> frozenset[str]:
        return frozenset(split_list(self.REMINDER_DEFAULT_CHANNELS))

    @property
    def quiet_start(self) -> time:
        return _clock_time(self.REMINDER_QUIET_START)

    @property
    def quiet_end(self) -> time:
        return _clock_time(self.REMINDER_QUIET_END)
