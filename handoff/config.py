"""One typed settings object for the conversation service, read from the environment (no prefix).

Built once by the entry point (`python -m handoff serve`) or by a test, then handed to
`create_app`; nothing else in `handoff/` reads `os.environ`.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

import phonenumbers
from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from contract.settings import StrictSettings

PLACEHOLDER_PREFIX = "change-me"


def split_urls(value: str) -> list[str]:
    """`a, b,c` -> [a, b, c] without empty entries or trailing slashes."""
    return [url.strip().rstrip("/") for url in value.split(",") if url.strip()]


def split_list(value: str) -> list[str]:
    """`a, b,c` -> [a, b, c] without empty entries."""
    return [item.strip() for item in value.split(",") if item.strip()]


def _valid_phone(value: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False


class SettingsError(ValueError):
    """A setting is missing or unsafe; the message names the variable and how to fix it."""


class Settings(StrictSettings):
    model_config = SettingsConfigDict(extra="forbid", case_sensitive=True, frozen=True)
    # Variables starting with these must name a setting below (RASA_ is shared with Rasa's own variables).
    ENV_FAMILIES: ClassVar[tuple[str, ...]] = (
        "APP_", "DATABASE_", "SLA_", "AGENT_", "RATE_LIMIT_", "CALLBACK_", "BUSINESS_", "SQLITE_", "MASK_",
    )

    APP_ENV: Literal["development", "production"] = Field(
        "development", description="production refuses placeholder secrets"
    )
    DATABASE_URL: str = Field(
        "sqlite:///var/handoff.db", description="SQLAlchemy URL; sqlite:///path or postgresql+psycopg://..."
    )
    HOST: str = Field("127.0.0.1", description="address the HTTP server binds to")
    PORT: int = Field(8000, ge=1, le=65535, description="port the HTTP server listens on")
    SECRET_KEY: str = Field("change-me-secret-key", description="HMAC key for borrower conversation tokens")
    RASA_URL: str = Field(
        "http://127.0.0.1:5005",
        description="Rasa base URL, or several separated by commas: this pod's own first, then the others",
    )
    RASA_TOKEN: str = Field("change-me-rasa-token", description="Rasa --auth-token for the HTTP API")
    RASA_TIMEOUT_S: float = Field(5.0, gt=0, le=8, description="total time allowed for one Rasa turn")
    RASA_MAX_IN_FLIGHT: int = Field(
        8,
        ge=0,
        le=1000,
        description="bot turns this replica sends to Rasa at once; more wait their turn (0 = no limit)",
    )
    ACTION_SERVER_URL: str | None = Field(
        "http://127.0.0.1:5055", description="action server base URL, checked by /healthz (None: skip)"
    )
    REDIS_URL: str | None = Field(None, description="redis://...; enables the Redis bus, locks, limits")
    SQLITE_IN_EVENT_LOOP: bool = Field(
        True,
        description="run SQLite transactions on the event loop rather than a worker thread (they take about "
        "a millisecond; the hand-off to a thread costs more). Turn off if other processes often write the "
        "same database file. PostgreSQL always uses worker threads.",
    )
    MAX_MESSAGE_CHARS: int = Field(2000, ge=1, description="longest borrower message accepted")
    RATE_LIMIT_CONVERSATION_PER_MIN: int = Field(30, ge=1, description="borrower messages per conversation")
    RATE_LIMIT_CLIENT_PER_MIN: int = Field(120, ge=1, description="borrower API requests per client address")
    CALLBACK_OFFER_AFTER_S: int = Field(120, ge=0, description="wait before offering a callback ticket")
    SLA_FIRST_REPLY_S: int = Field(120, ge=1, description="queued chat must get a first agent reply within")
    SLA_WARNING_FRACTION: float = Field(0.75, gt=0, lt=1, description="warn at this fraction of the SLA")
    AGENT_RESPONSE_TARGET_S: int = Field(180, ge=1, description="agent reply target after a borrower message")
    AGENT_SESSION_TTL_S: int = Field(28800, ge=60, description="agent login lifetime")
    AGENT_PRESENCE_TIMEOUT_S: int = Field(90, ge=5, description="an agent unseen this long counts as away")
    AGENT_MAX_CONCURRENT: int = Field(3, ge=1, description="default chats one agent holds at once")
    BUSINESS_HOURS: str = Field(
        "mon-fri 08:00-20:00, sat 09:00-13:00", description="when agents are on shift ('always' = 24/7)"
    )
    BUSINESS_TZ: str = Field("Asia/Shanghai", description="IANA time zone of BUSINESS_HOURS")
    LOG_LEVEL: str = Field("INFO", description="Python logging level")
    MASK_ALLOW: str = Field(
        "",
        description="the lender's own published numbers and e-mail addresses, never masked; comma-separated, "
        "phone numbers with their country code (+1 800 555 0142)",
    )
    MASK_ALLOW_FAQ_DIR: str = Field(
        "knowledge_base/faq",
        description="FAQ folder (<lang>/<id>.md) whose phone numbers and e-mail addresses are never masked "
        "('' = none)",
    )
    MASK_FAQ_REGIONS: str = Field(
        "en:US,zh:CN", description="FAQ language -> region its phone numbers are written for"
    )
    MASK_PHONE_REGIONS: str = Field(
        "CN,US", description="regions in which phone numbers without a country code are recognised"
    )

    @field_validator("RASA_URL")
    @classmethod
    def _rasa_urls_are_http(cls, value: str) -> str:
        urls = split_urls(value)
        if not urls:
            raise ValueError("RASA_URL is empty; set it to Rasa's base URL, e.g. http://127.0.0.1:5005")
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(
                    f"RASA_URL entry {url!r} is not an http(s) URL; list base URLs separated by commas, "
                    "e.g. http://127.0.0.1:5005,http://10.0.0.12:5005"
                )
        return value

    @field_validator("MASK_PHONE_REGIONS")
    @classmethod
    def _known_regions(cls, value: str) -> str:
        for region in split_list(value):
            if region not in phonenumbers.SUPPORTED_REGIONS:
                raise ValueError(f"MASK_PHONE_REGIONS: {region!r} is not a region code like CN or US")
        return value

    @field_validator("MASK_FAQ_REGIONS")
    @classmethod
    def _faq_regions(cls, value: str) -> str:
        for pair in split_list(value):
            lang, _, region = pair.partition(":")
            if not lang or region not in phonenumbers.SUPPORTED_REGIONS:
                raise ValueError(f"MASK_FAQ_REGIONS: {pair!r} is not lang:REGION, e.g. en:US,zh:CN")
        return value

    @field_validator("MASK_ALLOW")
    @classmethod
    def _allowed_phones_are_whole(cls, value: str) -> str:
        for entry in split_list(value):
            if entry.startswith("+") and not _valid_phone(entry):
                raise ValueError(f"MASK_ALLOW: {entry!r} is not a valid phone number (+<country> <number>)")
        return value

    @field_validator("MASK_ALLOW_FAQ_DIR")
    @classmethod
    def _faq_dir_exists(cls, value: str) -> str:
        if value and not Path(value).is_dir():
            raise ValueError(
                f"MASK_ALLOW_FAQ_DIR: {value!r} is not a folder; point it at the FAQ folder or set it to ''"
            )
        return value

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.APP_ENV == "production":
            for name in ("SECRET_KEY", "RASA_TOKEN"):
                value = getattr(self, name)
                if value.startswith(PLACEHOLDER_PREFIX) or len(value) < 16:
                    raise ValueError(
                        f"{name} still holds a placeholder or is shorter than 16 characters; "
                        f"set {name} to a random secret (e.g. `python -c 'import secrets; "
                        f"print(secrets.token_urlsafe(32))'`) when APP_ENV=production"
                    )
        return self

    @property
    def rasa_urls(self) -> list[str]:
        """RASA_URL as a list, in order of preference (the first is this pod's own Rasa)."""
        return split_urls(self.RASA_URL)

    @property
    def mask_allow(self) -> list[str]:
        return split_list(self.MASK_ALLOW)

    @property
    def mask_phone_regions(self) -> tuple[str, ...]:
        return tuple(split_list(self.MASK_PHONE_REGIONS))

    @property
    def mask_faq_regions(self) -> dict[str, str]:
        return dict(pair.partition(":")[::2] for pair in split_list(self.MASK_FAQ_REGIONS))

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")
