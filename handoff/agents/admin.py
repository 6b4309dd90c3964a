"""Account administration by admins (API and command line): disable or enable an agent, revoke all of
its sessions, reset its password, move it to another team. Every change is audited; nothing here needs the agent's cooperation.

A disabled agent cannot log in, its sessions are gone (so every request of its console gets 401), and the
chats it held go back to the queue at once, keeping their place.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from handoff import audit
from handoff.agents.accounts import AgentAccountError, announce_sessions_ended, hash_password, parse_team
from handoff.errors import NotFoundError
from handoff.infra.clock import Clock
from handoff.models import Agent, AgentSession, QueueEntry
from handoff.queue import claims
from handoff.states import QueueStatus


def find_agent(session: Session, *, agent_id: int | None = None, username: str | None = None) -> Agent:
    agent = (session.get(Agent, agent_id) if agent_id is not None
             else session.scalar(select(Agent).where(Agent.username == username)))
    if agent is None:
        raise NotFoundError(f"no agent {agent_id if agent_id is not None else repr(username)}",
                            target_id=agent_id if agent_id is not None else username)
    return agent


def _audit(session: Session, *, actor_id: int | None, action: str, agent: Agent, **detail: object) -> None:
    audit.record(session, actor_type="system" if actor_id is None else "agent", actor_id=actor_id,
                 conversation_id=None, action=action, detail={"agent_id": agent.id, **detail})


def revoke_sessions(session: Session, *, agent: Agent, actor_id: int | None) -> int:
    """End every login session of `agent`; returns how many there were."""
    count = session.execute(delete(AgentSession).where(AgentSession.agent_id == agent.id)).rowcount  # type: ignore[attr-defined]
    announce_sessions_ended(session, agent_id=agent.id)  # its open sockets close at once
    agent.status = "offline"
    _audit(session, actor_id=actor_id, action="sessions_revoked", agent=agent, sessions=int(count or 0))
    return int(count or 0)


def disable_agent(session: Session, *, agent: Agent, actor_id: int | None, clock: Clock) -> int:
    """Disable the account: no login, no session, its chats back to the queue. Returns chats requeued."""
    if actor_id == agent.id:
        raise AgentAccountError("an admin cannot disable their own account")
    agent.disabled_at = agent.disabled_at or clock.now()
    revoke_sessions(session, agent=agent, actor_id=actor_id)
    held = session.scalars(select(QueueEntry.id).where(
        QueueEntry.status == QueueStatus.ASSIGNED, QueueEntry.assigned_agent_id == agent.id)).all()
    for entry_id in held:
        claims.release(session, entry_id=entry_id, actor_type="system", actor_id=None, holder_id=agent.id,
                       reason="agent_disabled", clock=clock)
    _audit(session, actor_id=actor_id, action="agent_disabled", agent=agent, requeued=len(held))
    return len(held)


def enable_agent(session: Session, *, agent: Agent, actor_id: int | None) -> None:
    agent.disabled_at = None
    _audit(session, actor_id=actor_id, action="agent_enabled", agent=agent)


def reset_password(session: Session, *, agent: Agent, password: str, actor_id: int | None) -> None:
    """Set a new password and end every session (whoever knew the old one is logged out)."""
    agent.password_hash = hash_password(password)
    revoke_sessions(session, agent=agent, actor_id=actor_id)
    _audit(session, actor_id=actor_id, action="password_reset", agent=agent)


def set_team(session: Session, *, agent: Agent, team: str | None, actor_id: int | None) -> None:
    """Put the agent in `team` (None or blank: no team). The dashboard counts a chat for the team of the agent
    who holds or held it, so moving an agent moves their past chats along."""
    before, agent.team = agent.team, parse_team(team)
    _audit(session, actor_id=actor_id, action="agent_team", agent=agent, before=before, after=agent.team)
