"""Supervisor and admin routes: every queue, agents' load and status, SLA breaches, reassignment,
and (admin) creating, disabling, enabling accounts, revoking their sessions and resetting passwords."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from handoff.agents import accounts, admin, chat, operations
from handoff.api.deps import ServicesDep
from handoff.api.deps_agent import AdminDep, SupervisorDep
from handoff.api.ids import BodyId, PathId
from handoff.conversations.pushes import PushContext
from handoff.errors import ConflictError, InvalidInputError
from handoff.queue import complaints

router = APIRouter(tags=["supervisor"])


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssignIn(Strict):
    agent_id: BodyId


class PasswordIn(Strict):
    password: str = Field(min_length=8, max_length=256)


class AgentIn(Strict):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=256)
    role: Literal["agent", "supervisor", "admin", "editor"] = "agent"
    display_name: str | None = Field(None, max_length=64)
    languages: str = Field("en,zh", max_length=16)
    max_concurrent: int | None = Field(None, ge=1, le=20)
    team: str | None = Field(None, max_length=32, description="the dashboard's team filter")


class TeamIn(Strict):
    team: str | None = Field(None, max_length=32, description="null or blank: no team")


@router.get("/supervisor/agents")
async def agents_view(svc: ServicesDep, _sup: SupervisorDep) -> dict[str, Any]:
    return {"agents": await svc.db(chat.agents_view, write=False)}


@router.get("/supervisor/breaches")
async def breaches(svc: ServicesDep, sup: SupervisorDep) -> dict[str, Any]:
    entries = await svc.db(lambda s: chat.queue_view(s, agent=sup, clock=svc.clock), write=False)
    return {"entries": [e for e in entries if e["sla"] != "ok"]}


@router.post("/queue/{entry_id}/assign")
async def assign(entry_id: PathId, body: AssignIn, svc: ServicesDep, sup: SupervisorDep) -> dict[str, Any]:
    """Assign a waiting chat to an agent, or move a held one to another agent."""
    return await svc.db(
        lambda s: operations.assign_chat(s, entry_id=entry_id, to_agent_id=body.agent_id, actor=sup,
                                            clock=svc.clock, push=PushContext.of(svc))
    )


class ComplaintIn(Strict):
    owner_agent_id: BodyId | None = None
    status: Literal["open", "in_progress", "resolved"] | None = None
    outcome: str | None = Field(None, min_length=1, max_length=2000)
    complex: bool | None = Field(None, description="complex cases get COMPLAINT_COMPLEX_DAYS (30) days")


@router.get("/supervisor/complaints")
async def complaint_list(
    svc: ServicesDep, _sup: SupervisorDep, which: Literal["open", "overdue", "all"] = "open",
    limit: Annotated[int, Query(ge=1, le=complaints.MAX_PAGE_LIMIT, description="complaints per page")] = (
        complaints.PAGE_LIMIT
    ),
    cursor: Annotated[str | None, Query(max_length=64, description="the previous page's `next_cursor`")] = None,
) -> dict[str, Any]:
    """Complaint records, one page at a time: `open` (default), `overdue` (open past the deadline) or `all`
    (open ones first). `next_cursor` fetches the next page (null on the last); `counts` has the totals
    (open, overdue, resolved). `tz` is the business time zone that deadlines are stated in to borrowers."""
    page = await svc.db(
        lambda s: complaints.list_complaints(s, which=which, clock=svc.clock, limit=limit, cursor=cursor), write=False
    )
    return {**page, "tz": svc.settings.BUSINESS_TZ}


@router.patch("/supervisor/complaints/{complaint_id}")
async def complaint_update(
    complaint_id: PathId, body: ComplaintIn, svc: ServicesDep, sup: SupervisorDep
) -> dict[str, Any]:
    """Assign an owner, mark complex, record the outcome, move the status on (resolving needs an outcome).
    Audited as `complaint_updated`, with the status and owner before the change."""
    return await svc.db(lambda s: complaints.update_complaint(
        s, complaint_id=complaint_id, actor=sup, settings=svc.settings, clock=svc.clock,
        owner_agent_id=body.owner_agent_id, status=body.status, outcome=body.outcome, complex_case=body.complex,
    ))


@router.post("/admin/agents", status_code=201)
async def create_agent(body: AgentIn, svc: ServicesDep, _admin: AdminDep) -> dict[str, Any]:
    def work(session: Any) -> dict[str, Any]:
        try:
            agent = accounts.create_agent(
                session, username=body.username, password=body.password, role=body.role,
                display_name=body.display_name, languages=body.languages,
                max_concurrent=body.max_concurrent or svc.settings.AGENT_MAX_CONCURRENT, team=body.team,
            )
        except accounts.AgentAccountError as exc:
            error = ConflictError if "already exists" in str(exc) else InvalidInputError
            raise error(str(exc)) from None
        return chat.agent_dict(agent)

    return await svc.db(work, offload=True)  # hashes the password: not on the event loop


def _account_error(exc: accounts.AgentAccountError) -> InvalidInputError:
    return InvalidInputError(str(exc))


@router.post("/admin/agents/{agent_id}/disable")
async def disable_agent(agent_id: PathId, svc: ServicesDep, admin_agent: AdminDep) -> dict[str, Any]:
    """No more logins or sessions for the agent; the chats it held go back to the queue."""
    def work(session: Any) -> dict[str, Any]:
        agent = admin.find_agent(session, agent_id=agent_id)
        try:
            requeued = admin.disable_agent(session, agent=agent, actor_id=admin_agent.id, clock=svc.clock)
        except accounts.AgentAccountError as exc:
            raise _account_error(exc) from None
        operations.announce(session, clock=svc.clock)
        return {**chat.agent_dict(agent), "disabled": True, "requeued": requeued}

    return await svc.db(work)


@router.post("/admin/agents/{agent_id}/enable")
async def enable_agent(agent_id: PathId, svc: ServicesDep, admin_agent: AdminDep) -> dict[str, Any]:
    def work(session: Any) -> dict[str, Any]:
        agent = admin.find_agent(session, agent_id=agent_id)
        admin.enable_agent(session, agent=agent, actor_id=admin_agent.id)
        return {**chat.agent_dict(agent), "disabled": False}

    return await svc.db(work)


@router.post("/admin/agents/{agent_id}/revoke-sessions")
async def revoke_sessions(agent_id: PathId, svc: ServicesDep, admin_agent: AdminDep) -> dict[str, Any]:
    def work(session: Any) -> dict[str, Any]:
        agent = admin.find_agent(session, agent_id=agent_id)
        return {"revoked": admin.revoke_sessions(session, agent=agent, actor_id=admin_agent.id)}

    return await svc.db(work)


@router.post("/admin/agents/{agent_id}/password")
async def reset_password(agent_id: PathId, body: PasswordIn, svc: ServicesDep, admin_agent: AdminDep) -> dict[str, Any]:
    """Set a new password; every session of the agent ends."""
    def work(session: Any) -> dict[str, Any]:
        agent = admin.find_agent(session, agent_id=agent_id)
        try:
            admin.reset_password(session, agent=agent, password=body.password, actor_id=admin_agent.id)
        except accounts.AgentAccountError as exc:
            raise _account_error(exc) from None
        return {"ok": True}

    return await svc.db(work, offload=True)  # hashes the password: not on the event loop


@router.post("/admin/agents/{agent_id}/team")
async def set_team(agent_id: PathId, body: TeamIn, svc: ServicesDep, admin_agent: AdminDep) -> dict[str, Any]:
    """Move the agent to a team (the dashboard's team filter), or to none."""
    def work(session: Any) -> dict[str, Any]:
        agent = admin.find_agent(session, agent_id=agent_id)
        try:
            admin.set_team(session, agent=agent, team=body.team, actor_id=admin_agent.id)
        except accounts.AgentAccountError as exc:
            raise _account_error(exc) from None
        return chat.agent_dict(agent)

    return await svc.db(work)
