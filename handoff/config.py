"""One typed settings object for the conversation service, read from the environment (no prefix).

Built once by the entry point (`python -m handoff serve`) or by a test, then handed to
`create_app`; nothing else in `handoff/` reads `os.environ`.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import ClassVar, Literal

import phonenumbers
from pydantic import Field, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from contract.settings import StrictSettings, normalise_origin, split_list, split_urls

PLACEHOLDER_PREFIX = "change-me"


def derived_contact_key(secret_key: str) -> str:
    """A Fernet key derived from SECRET_KEY: what encrypts callback contacts when CONTACT_KEYS is empty."""
    digest = hashlib.sha256(b"handoff-contact-key:" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


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
        "METRICS_", "LEADER_", "MIGRATE_", "LOGIN_", "RETENTION_", "IDENTITY_", "LOAN_", "KEY_CUSTOMER_",
        "ALLOWED_", "CONTACT_", "COMPLAINT_", "SUPERVISOR_", "WEBHOOK_", "BORROWER_", "STUCK_", "PUSH_",
        "TRACING_",
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
    RASA_HANDOFF_BUDGET_S: float = Field(
        1.5,
        gt=0,
        le=8,
        description="budget for the bot turn of a message that asks for a person, is upset or complains "
        "(the local detector); past it the borrower is queued at once with reason bot_unavailable",
    )
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
    LOGIN_ATTEMPTS_PER_USERNAME_PER_MIN: int = Field(
        10, ge=1, description="agent login attempts per username (wrong guesses lock that name, not others)"
    )
    LOGIN_ATTEMPTS_PER_ADDRESS_PER_MIN: int = Field(
        60, ge=1, description="agent login attempts per client address (behind a proxy: see FORWARDED_ALLOW_IPS)"
    )
    FORWARDED_ALLOW_IPS: str = Field(
        "",
        description="proxies whose X-Forwarded-For/-Proto are trusted (comma-separated addresses or networks, "
        "'*' = any); empty = none, the peer address is the client",
    )
    AGENT_IDLE_WARNING_FRACTION: float = Field(
        0.67, gt=0, lt=1, description="warn the holder at this fraction of AGENT_RESPONSE_TARGET_S before requeueing"
    )
    AGENT_SESSION_TTL_S: int = Field(28800, ge=60, description="agent login lifetime")
    AGENT_PRESENCE_TIMEOUT_S: int = Field(90, ge=5, description="an agent unseen this long counts as away")
    AGENT_WS_RECHECK_S: float = Field(
        30.0, gt=0, le=300,
        description="how often an agent socket re-checks its session and the chats it watches, besides on every "
        "frame and on logout",
    )
    AGENT_MAX_CONCURRENT: int = Field(3, ge=1, description="default chats one agent holds at once")
    BUSINESS_HOURS: str = Field(
        "mon-fri 08:00-20:00, sat 09:00-13:00", description="when agents are on shift ('always' = 24/7)"
    )
    BUSINESS_TZ: str = Field(
        "America/New_York",
        description="IANA time zone of BUSINESS_HOURS; the FAQs state the hours in US Eastern Time",
    )
    LOG_LEVEL: str = Field("INFO", description="Python logging level")
    LOG_FORMAT: Literal["text", "json"] = Field(
        "text", description="json: one JSON object per line with request_id and conversation_id"
    )
    METRICS_PORT: int | None = Field(
        None, ge=1, le=65535, description="serve Prometheus /metrics on this port (None: no metrics listener)"
    )
    METRICS_HOST: str = Field("127.0.0.1", description="address of the metrics listener")
    TRACING_OTLP_ENDPOINT: str | None = Field(
        None, description="OpenTelemetry traces over OTLP/HTTP to this URL (e.g. http://otel-collector:4318/v1/traces); "
        "unset: no tracing",
    )
    MIGRATE_ON_START: bool = Field(
        True, description="migrate the database at start-up; off where `python -m handoff migrate` runs as a Job"
    )
    SLA_INTERVAL_S: float = Field(5.0, gt=0, le=300, description="seconds between passes of the SLA clock")
    LEADER_RETRY_S: float = Field(
        1.0, gt=0, le=60, description="how often a replica that is not the leader tries to become it"
    )
    RASA_TRACKER_DB_URL: str | None = Field(
        None,
        description="SQLAlchemy URL of Rasa's SQL tracker store (make run: sqlite:///var/rasa/tracker.db), for "
        "retention and erasure of tracker events; unset: the tracker store is not touched",
    )
    RETENTION_MESSAGES_DAYS: int = Field(
        0, ge=0, description="erase conversations silent this long (messages, notes, queue; audit anonymised); 0 = keep"
    )
    RETENTION_CALLBACKS_DAYS: int = Field(0, ge=0, description="delete callback requests done this long ago; 0 = keep")
    RETENTION_CLIENT_ADDR_DAYS: int = Field(
        0, ge=0, description="forget the client address of conversations this old; 0 = keep"
    )
    RETENTION_TRACKER_DAYS: int = Field(
        0, ge=0, description="delete Rasa tracker events of conversations silent this long; 0 = keep"
    )
    RETENTION_PURGE_INTERVAL_S: int = Field(3600, ge=10, description="how often the retention purge runs")
    CONTACT_KEYS: str = Field(
        "",
        description="Fernet keys (comma-separated, newest first) that encrypt callback contacts at rest; "
        "empty = one key derived from SECRET_KEY (set your own keys to rotate them independently)",
    )
    CALLBACK_DUE_BUSINESS_HOURS: float = Field(
        4, gt=0, le=200, description="a callback is due this many business hours after the next opening"
    )
    CALLBACK_RETRY_BUSINESS_HOURS: float = Field(
        2, gt=0, le=200, description="after 'no answer' or 'retry', the next attempt is due this much later"
    )
    CALLBACK_RETENTION_DAYS: int = Field(
        30, ge=0, le=3650, description="a completed callback's contact is purged this many days later"
    )
    COMPLAINT_DAYS: int = Field(15, ge=1, le=365, description="days to resolve a complaint")
    COMPLAINT_COMPLEX_DAYS: int = Field(30, ge=1, le=365, description="days to resolve a complex complaint")
    COMPLAINT_CHANNELS_EN: str = Field(
        "If you are not satisfied with our answer, you can also contact the Consumer Financial Protection "
        "Bureau (consumerfinance.gov/complaint, 1-855-411-2372) or your state's financial regulator.",
        description="external complaint channels told to English-speaking borrowers",
    )
    COMPLAINT_CHANNELS_ZH: str = Field(
        "如对处理结果不满意，您还可以拨打国家金融监督管理总局消费者投诉热线 12378，或向当地金融监管部门反映。",
        description="external complaint channels told to Chinese-speaking borrowers",
    )
    SUPERVISOR_WEBHOOK_URL: str | None = Field(
        None, description="POST SLA, callback and complaint alerts here (signed JSON); None = console only"
    )
    SUPERVISOR_WEBHOOK_SECRET: str = Field(
        "change-me-webhook-secret", description="HMAC-SHA256 key of the X-Handoff-Signature header"
    )
    WEBHOOK_MAX_ATTEMPTS: int = Field(8, ge=1, le=50, description="attempts per webhook before giving up")
    PUSH_LIVE_CHAT: bool = Field(
        True, description="push 'an agent has joined' and agent replies to the registered devices of borrowers "
        "with no socket open, through the notifier (needs NOTIFY_GATEWAY_URL)",
    )
    PUSH_PREVIEW_CHARS: int = Field(
        40, ge=0, le=120, description="characters of an agent reply shown in its push, every digit hidden; 0 = none"
    )
    BORROWER_ABANDON_AFTER_S: int = Field(
        1800, ge=60, description="a waiting chat whose borrower's page has been gone this long is closed"
    )
    STUCK_TURN_AFTER_S: float = Field(
        30, ge=5, description="a borrower message left without a reply this long is finished by the sweeper"
    )
    ALLOWED_ORIGINS: str = Field(
        "",
        description="other origins (scheme://host[:port], comma-separated) whose pages may send state-changing "
        "requests and open the WebSockets; the service's own origin (its Host header) is always allowed",
    )
    IDENTITY_SECRETS: str = Field(
        "change-me-identity-secret-for-development-only",
        description="secrets the lender signs borrower identity tokens with, comma-separated: all are "
        "accepted, so a new one can be added before the old one is retired (empty: sign-in off)",
    )
    IDENTITY_MAX_TOKEN_LIFETIME_S: int = Field(
        600, ge=30, le=86400, description="longest lifetime (exp - now) of an identity token we accept"
    )
    BORROWER_SIGNIN_MAX_AGE_S: int = Field(
        1800, ge=60, le=86400, description="how long a borrower's sign-in lets the bot read their loans and "
        "change their reminder settings; then they sign in again (the conversation stays theirs)",
    )
    IDENTITY_DEMO: bool | None = Field(
        None, description="demo sign-in with fictional borrowers on the chat page (default: on in development)"
    )
    INTERNAL_API_TOKEN: str = Field(
        "change-me-internal-token", description="shared secret of the action server's calls to /internal/"
    )
    LOAN_SYSTEM: Literal["reference", "http"] = Field(
        "reference", description="loan-system adapter: our reference tables, or the lender's REST API"
    )
    LOAN_DATABASE_URL: str | None = Field(None, description="reference loan tables' database (DATABASE_URL if unset)")
    LOAN_API_URL: str | None = Field(None, description="lender API base URL (LOAN_SYSTEM=http)")
    LOAN_API_KEY: str = Field("change-me-loan-api-key", description="lender API bearer key (LOAN_SYSTEM=http)")
    LOAN_API_TIMEOUT_S: float = Field(2.0, gt=0, le=10, description="lender API connect/read timeout")
    LOAN_API_READ_ATTEMPTS: int = Field(3, ge=1, le=5, description="tries of one idempotent read")
    LOAN_BREAKER_FAIL_MAX: int = Field(5, ge=1, description="failed lender API calls in a row that open the breaker")
    LOAN_BREAKER_RESET_S: float = Field(30.0, gt=0, description="how long an open breaker refuses calls")
    KEY_CUSTOMER_MANAGER_WAIT_S: int = Field(
        60, ge=0, le=3600, description="a key customer's chat waits this long for their own manager first"
    )
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

    @field_validator("ALLOWED_ORIGINS")
    @classmethod
    def _origins_are_origins(cls, value: str) -> str:
        for entry in split_list(value):
            if normalise_origin(entry) is None:
                raise ValueError(
                    f"ALLOWED_ORIGINS entry {entry!r} is not an origin; write scheme://host[:port] without a "
                    "path, e.g. https://chat.example.com,capacitor://localhost"
                )
        return value

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.APP_ENV == "production":
            if self.IDENTITY_DEMO:
                raise ValueError("IDENTITY_DEMO signs in fictional borrowers: it cannot be on when APP_ENV=production")
            if self.LOAN_SYSTEM == "http" and not self.LOAN_API_URL:
                raise ValueError("LOAN_SYSTEM=http needs LOAN_API_URL, the lender API's base URL")
            # A placeholder IDENTITY_SECRETS or INTERNAL_API_TOKEN turns sign-in and the bot's account
            # answers off in production (as before they existed); a real one must be long.
            for key in self.IDENTITY_SECRETS.split(","):
                if key.strip() and not key.strip().startswith(PLACEHOLDER_PREFIX) and len(key.strip()) < 32:
                    raise ValueError("each IDENTITY_SECRETS entry must be at least 32 characters in production")
            secret_names = ["SECRET_KEY", "RASA_TOKEN"] + (["LOAN_API_KEY"] if self.LOAN_SYSTEM == "http" else [])
            for name in secret_names:
                value = getattr(self, name)
                if value.startswith(PLACEHOLDER_PREFIX) or len(value) < 16:
                    raise ValueError(
                        f"{name} still holds a placeholder or is shorter than 16 characters; "
                        f"set {name} to a random secret (e.g. `python -c 'import secrets; "
                        f"print(secrets.token_urlsafe(32))'`) when APP_ENV=production"
                    )
            if self.SUPERVISOR_WEBHOOK_URL and self.SUPERVISOR_WEBHOOK_SECRET.startswith(PLACEHOLDER_PREFIX):
                raise ValueError("SUPERVISOR_WEBHOOK_SECRET still holds its placeholder; set a random secret")
        return self

    @property
    def contact_keys(self) -> list[str]:
        """CONTACT_KEYS as a list (newest first); empty = one key derived from SECRET_KEY."""
        keys = [k.strip() for k in self.CONTACT_KEYS.split(",") if k.strip()]
        return keys or [derived_contact_key(self.SECRET_KEY)]

    @property
    def rasa_urls(self) -> list[str]:
        """RASA_URL as a list, in order of preference (the first is this pod's own Rasa)."""
        return split_urls(self.RASA_URL)

    @property
    def identity_keys(self) -> list[str]:
        """IDENTITY_SECRETS as a list; production never accepts a placeholder or a short one."""
        keys = [k.strip() for k in self.IDENTITY_SECRETS.split(",") if k.strip()]
        if self.APP_ENV == "production":
            return [k for k in keys if not k.startswith(PLACEHOLDER_PREFIX)]
        return keys

    @property
    def internal_api_enabled(self) -> bool:
        token = self.INTERNAL_API_TOKEN
        return self.APP_ENV == "development" or (not token.startswith(PLACEHOLDER_PREFIX) and len(token) >= 16)

    @property
    def identity_demo(self) -> bool:
        return self.IDENTITY_DEMO if self.IDENTITY_DEMO is not None else self.APP_ENV == "development"

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
    def allowed_origins(self) -> frozenset[str]:
        """ALLOWED_ORIGINS, normalised (lower case, default ports left out)."""
        found = (normalise_origin(entry) for entry in split_list(self.ALLOWED_ORIGINS))
        return frozenset(origin for origin in found if origin is not None)

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")
