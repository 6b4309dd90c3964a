"""Helpers for the agent-side tests: borrowers waiting in the queue, agents, one-transaction calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from handoff.agents import accounts
from handoff.config import Settings
from handoff.conversations.records import create_conversation
from handoff.infra.clock import Clock
from handoff.infra.db import session_scope
from handoff.models import Agent, QueueEntry
from handoff.queue import entries

T = TypeVar("T")
PASSWORD = "correct horse battery"


def make_settings(**overrides: Any) -> Settings:
    """Settings for agent-side tests: no Rasa, no Redis, always open unless a test says otherwise."""
    values: dict[str, Any] = {
        "DATABASE_URL": "sqlite:///:memory:", "RASA_URL": "http://127.0.0.1:9", "RASA_TOKEN": "test-rasa-token",
        "RASA_TIMEOUT_S": 2.0, "ACTION_SERVER_URL": None, "REDIS_URL": None,
        "SECRET_KEY": "test-secret-key-not-for-production", "BUSINESS_HOURS": "always", "BUSINESS_TZ": "UTC",
        "RATE_LIMIT_CONVERSATION_PER_MIN": 1000, "RATE_LIMIT_CLIENT_PER_MIN": 10000, "APP_ENV": "development",
    }
    values.update(overrides)
    return Settings(**values)


def tx(engine: Engine, work: Callable[[Session], T], *, bus: Any = None) -> T:
    with session_scope(engine, bus=bus) as session:
        return work(session)


def waiting_chat(
    engine: Engine, clock: Clock, *, lang: str = "en", priority: str = "normal", reason: str = "explicit_request",
    summary: str = "wants a payoff quote",
) -> tuple[str, int]:
    """A conversation handed off to the queue: (conversation id, queue entry id)."""

    def work(session: Session) -> tuple[str, int]:
        conversation, _token = create_conversation(session, secret_key="k" * 20, lang=lang)
        entry = entries.enqueue(
            session, conversation=conversation, packet={"reason": reason, "summary": summary}, reason=reason,
            priority=priority, lang=lang, summary=summary, clock=clock,
        )
        return conversation.id, entry.id

    return tx(engine, work)


def make_agent(
    engine: Engine, clock: Clock, username: str, *, role: str = "agent", languages: str = "en,zh",
    max_concurrent: int = 3, online: bool = True,
) -> Agent:
    def work(session: Session) -> Agent:
        agent = accounts.create_agent(
            session, username=username, password=PASSWORD, role=role, languages=languages,
            display_name=username.title(), max_concurrent=max_concurrent,
        )
        if online:
            agent.status = "online"
            agent.last_seen_at = clock.now()
        return agent

    return tx(engine, work)


def entry_of(engine: Engine, entry_id: int) -> QueueEntry:
    return tx(engine, lambda s: s.get(QueueEntry, entry_id))
