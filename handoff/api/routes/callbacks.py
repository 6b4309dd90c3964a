"""Callback work items (under /api/agent/callbacks): the list, taking one (the full contact is shown to
that agent only, and audited), and recording the outcome. The transcript is the chat view of the
ticket's conversation (`GET /api/agent/conversations/{id}`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from handoff.agents.operations import announce, me
from handoff.api.deps import ServicesDep
from handoff.api.deps_agent import AgentDep
from handoff.api.ids import PathId
from handoff.queue import callbacks

router = APIRouter(prefix="/callbacks", tags=["callbacks"])


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["reached", "no_answer", "wrong_number", "retry"]
    note: str = Field("", max_length=1000)


@router.get("")
async def work_list(svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    """Open callbacks (contacts masked), the most urgent due time first."""
    return {"callbacks": await svc.db(lambda s: callbacks.work_list(s, agent=agent), write=False)}


@router.get("/{ticket_id}")
async def view(ticket_id: PathId, svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    """The ticket; the full contact only for the agent working it (each showing is audited)."""
    return await svc.db(lambda s: callbacks.view(s, ticket_id=ticket_id, agent=agent, box=svc.secret_box))


@router.post("/{ticket_id}/start")
async def start(ticket_id: PathId, svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    """Take the callback: it is yours, and you see the full contact."""
    def work(session: Any) -> dict[str, Any]:
        found = callbacks.start_work(session, ticket_id=ticket_id, agent=me(session, agent), box=svc.secret_box)
        announce(session, clock=svc.clock)
        return found

    return await svc.db(work)


@router.post("/{ticket_id}/outcome")
async def outcome(ticket_id: PathId, body: OutcomeIn, svc: ServicesDep, agent: AgentDep) -> dict[str, Any]:
    """reached / wrong_number finish the callback; no_answer / retry schedule another attempt."""
    def work(session: Any) -> dict[str, Any]:
        found = callbacks.record_outcome(
            session, ticket_id=ticket_id, agent=me(session, agent), outcome=body.outcome, note=body.note,
            settings=svc.settings, clock=svc.clock,
        )
        announce(session, clock=svc.clock)
        return found

    return await svc.db(work)
