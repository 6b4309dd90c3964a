"""Agent accounts, passwords (argon2) and login sessions that expire.

A session token is random, shown to the browser once (cookie) and stored only as its SHA-256 hash.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from handoff import audit
from handoff.infra.bus import agent_topic
from handoff.infra.clock import Clock, as_utc
from handoff.infra.outbox import publish_after_commit
from handoff.models import Agent, AgentSession
from handoff.states import Role

LANGUAGES = ("en", "zh")
STATUSES = ("online", "away", "offline")
USERNAME_MAX = 64
TEAM_RE = re.compile(r"^[\w][\w .-]{0,31}$")  # letters of any script, digits, space . - _; at most 32


class AgentAccountError(ValueError):
    """An account cannot be created as asked; the message says what to change."""


def _hasher() -> PasswordHasher:
    return PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash with the current parameters that no password matches, computed on first use only (hashing
    it per unknown username made those logins cost two argon2 operations against one)."""
    return _hasher().hash(secrets.token_urlsafe(32))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_languages(value: str) -> str:
    langs = [part.strip().lower() for part in value.split(",") if part.strip()]
    bad = [lang for lang in langs if lang not in LANGUAGES]
    if bad or not langs:
        raise AgentAccountError(f"--languages must be a comma-separated subset of {','.join(LANGUAGES)}")
    return ",".join(dict.fromkeys(langs))


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher().hash(password)


def parse_team(value: str | None) -> str | None:
    """A team name as stored (trimmed), None for no team."""
    team = (value or "").strip()
    if not team:
        return None
    if not TEAM_RE.match(team):
        raise AgentAccountError("--team must be 1-32 letters, digits, spaces, '.', '-' or '_'")
    return team


def check_password(password: str) -> None:
    if len(password) < 8:
        raise AgentAccountError("--password must be at least 8 characters")


def create_agent(
    session: Session,
    *,
    username: str,
    password: str,
    role: str = "agent",
    display_name: str | None = None,
    languages: str = "en,zh",
    max_concurrent: int = 3,
    team: str | None = None,
) -> Agent:
    if not username or len(username) > USERNAME_MAX or not username.replace("_", "").replace(".", "").isalnum():
        raise AgentAccountError("--username must be 1-64 letters, digits, '.' or '_'")
    check_password(password)
    if role not in {r.value for r in Role}:
        raise AgentAccountError("--role must be agent, supervisor, admin or editor")
    if session.scalar(select(Agent.id).where(Agent.username == username)) is not None:
        raise AgentAccountError(f"an agent named {username!r} already exists")
    agent = Agent(
        username=username,
        password_hash=_hasher().hash(password),
        display_name=display_name or username,
        role=role,
        languages=parse_languages(languages),
        max_concurrent=max_concurrent,
        status="offline",
        team=parse_team(team),
    )
    session.add(agent)
    session.flush()
    audit.record(
        session, actor_type="system", actor_id=None, conversation_id=None, action="agent_created",
        detail={"agent_id": agent.id, "username": username, "role": role, "team": agent.team},
    )
    return agent


def authenticate(session: Session, *, username: str, password: str) -> Agent | None:
    agent = session.scalar(select(Agent).where(Agent.username == username))
    hasher = _hasher()
    if agent is None:
        # One verify, as for a real account, so response time does not reveal which usernames exist.
        try:
            hasher.verify(_dummy_hash(), password)
        except VerificationError:
            pass
        return None
    try:
        hasher.verify(agent.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if agent.disabled_at is not None:
        return None  # checked after the verify: a disabled account costs the same time as any other
    if hasher.check_needs_rehash(agent.password_hash):
        agent.password_hash = hasher.hash(password)
    return agent


def start_session(session: Session, *, agent: Agent, clock: Clock, ttl_s: int) -> tuple[str, datetime]:
    """Create a login session; returns the token (only place it exists in clear) and its expiry."""
    token = secrets.token_urlsafe(32)
    expires_at = clock.now() + timedelta(seconds=ttl_s)
    session.add(
        AgentSession(token_hash=hash_token(token), agent_id=agent.id, created_at=clock.now(), expires_at=expires_at)
    )
    agent.status = "online"
    agent.last_seen_at = clock.now()
    audit.record(
        session, actor_type="agent", actor_id=str(agent.id), conversation_id=None, action="login",
    )
    return token, expires_at


def live_session(session: Session, *, token: str, clock: Clock) -> AgentSession | None:
    """The session row of `token` while it lasts; an expired session is deleted and counts as none."""
    row = session.get(AgentSession, hash_token(token))
    if row is None:
        return None
    if as_utc(row.expires_at) <= clock.now():
        session.delete(row)
        return None
    return row


def agent_for_token(session: Session, *, token: str, clock: Clock) -> Agent | None:
    """The agent of a live session, or None."""
    row = live_session(session, token=token, clock=clock)
    agent = None if row is None else session.get(Agent, row.agent_id)
    return None if agent is None or agent.disabled_at is not None else agent


def session_key(token: str) -> str:
    """A short name of a session for the bus: enough to tell sessions apart, useless to log in with."""
    return hash_token(token)[:16]


def announce_sessions_ended(session: Session, *, agent_id: int, token: str | None = None) -> None:
    """Tell this agent's open sockets (on every replica) that one session (`token`) or all of them
    ended: they close at once instead of at their next check. Call it wherever sessions are deleted
    (logout, disabling an agent, revoking its sessions)."""
    event: dict[str, str | None] = {"type": "session_ended", "session": None if token is None else session_key(token)}
    publish_after_commit(session, agent_topic(agent_id), event)


def end_session(session: Session, *, token: str, agent: Agent) -> None:
    session.execute(delete(AgentSession).where(AgentSession.token_hash == hash_token(token)))
    announce_sessions_ended(session, agent_id=agent.id, token=token)
    remaining = session.scalar(select(AgentSession.token_hash).where(AgentSession.agent_id == agent.id))
    if remaining is None:
        agent.status = "offline"
    audit.record(session, actor_type="agent", actor_id=str(agent.id), conversation_id=None, action="logout")


def set_status(session: Session, *, agent: Agent, status: str, clock: Clock) -> None:
    if status not in STATUSES:
        raise AgentAccountError(f"status must be one of {', '.join(STATUSES)}")
    if agent.status != status:
        audit.record(
            session, actor_type="agent", actor_id=str(agent.id), conversation_id=None, action="agent_status",
            detail={"from": agent.status, "to": status},
        )
    agent.status = status
    agent.last_seen_at = clock.now()


def touch(*, agent: Agent, clock: Clock) -> None:
    """Record that the agent is still there (every request and socket heartbeat). An agent the SLA
    clock marked offline for not being seen counts as online again once seen."""
    agent.last_seen_at = clock.now()
    if agent.status == "offline":
        agent.status = "online"
