"""Key-customer routing: a verified borrower whose loan-system profile has the `vip` tier and an assigned
manager waits first for that manager (when the manager is online, for KEY_CUSTOMER_MANAGER_WAIT_S), with
high priority; after that, or when the manager is away, the chat is anyone's in the pool, still high.

The profile is the snapshot taken at sign-in (`Conversation.borrower_profile`); routing makes no network
call inside the queue transaction. The decision goes into the handoff packet, so the agent sees why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from contract.codes import Priority
from contract.packet import BorrowerSection
from handoff.infra.clock import Clock
from handoff.models import Agent, Conversation
from handoff.states import PRIORITY_RANK

ROUTE_MANAGER_FIRST = "manager_first"
ROUTE_POOL_MANAGER_AWAY = "pool_manager_away"
ROUTE_POOL = "pool"


@dataclass(frozen=True)
class Routing:
    priority: str
    preferred_agent_id: int | None
    preferred_until: datetime | None
    packet: BorrowerSection | None  # the packet's `borrower` section; None for an anonymous chat


def _online(agent: Agent, *, clock: Clock, settings: Any) -> bool:
    seen = agent.last_seen_at
    if agent.status != "online" or seen is None:
        return False
    if seen.tzinfo is None:
        seen = seen.replace(tzinfo=clock.now().tzinfo)
    return seen >= clock.now() - timedelta(seconds=settings.AGENT_PRESENCE_TIMEOUT_S)


def route(session: Session, *, conversation: Conversation, priority: str, clock: Clock, settings: Any) -> Routing:
    """Where a chat that joins the queue goes first, and with which priority (never lower than asked)."""
    profile = conversation.borrower_profile or {}
    if conversation.borrower_id is None:
        return Routing(priority, None, None, None)
    section: BorrowerSection = {
        "borrower_id": conversation.borrower_id, "verified": True, "name": profile.get("name"),
        "tier": profile.get("tier"), "manager": profile.get("manager"), "time_zone": profile.get("time_zone"),
        "routing": ROUTE_POOL,
    }
    if profile.get("tier") != "vip":
        return Routing(priority, None, None, section)
    if PRIORITY_RANK[Priority(priority)] > PRIORITY_RANK[Priority.HIGH]:
        priority = str(Priority.HIGH)
    manager = None
    if profile.get("manager"):
        manager = session.scalars(select(Agent).where(Agent.username == profile["manager"])).first()
    if manager is None or not _online(manager, clock=clock, settings=settings):
        return Routing(priority, None, None, {**section, "routing": ROUTE_POOL_MANAGER_AWAY})
    until = clock.now() + timedelta(seconds=settings.KEY_CUSTOMER_MANAGER_WAIT_S)
    return Routing(
        priority, manager.id, until,
        {**section, "routing": ROUTE_MANAGER_FIRST, "manager_agent_id": manager.id,
         "manager_until": until.isoformat()},
    )
