"""Dependencies of the agent routes: the logged-in agent (session cookie or bearer token) and roles.

The console authenticates with an HttpOnly, SameSite=Strict cookie (so other sites cannot make the
browser act for the agent); API clients may send the same token as `Authorization: Bearer`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from handoff.agents.accounts import agent_for_token, touch
from handoff.agents.kb import KBUnavailableError, LazyKnowledgeBase
from handoff.api.deps import ServicesDep, bearer_token
from handoff.errors import ForbiddenError, UnauthorizedError
from handoff.infra.clock import Clock
from handoff.models import Agent
from handoff.states import Role

SESSION_COOKIE = "agent_session"


def request_token(request: Request) -> str | None:
    return bearer_token(request.headers.get("authorization")) or request.cookies.get(SESSION_COOKIE) or None


def resolve_agent(session: Session, *, token: str | None, clock: Clock) -> Agent:
    """The agent of a live session (seen now), or UnauthorizedError."""
    agent = agent_for_token(session, token=token, clock=clock) if token else None
    if agent is None:
        raise UnauthorizedError("log in first (the session is missing or has expired)")
    touch(agent=agent, clock=clock)
    return agent


def check_role(agent: Agent, roles: tuple[str, ...]) -> None:
    if agent.role not in roles:
        raise ForbiddenError(f"this needs the role {' or '.join(roles)}", target_id=agent.id)


def console_kb(request: Request) -> LazyKnowledgeBase:
    """The app's knowledge base (`create_app(kb_settings=...)`); 503 when the app was built without one."""
    kb: LazyKnowledgeBase | None = request.app.state.agent_kb
    if kb is None:
        raise KBUnavailableError("the FAQ search is not configured in this service")
    return kb


async def current_agent(request: Request, svc: ServicesDep) -> Agent:
    token = request_token(request)
    return await svc.db(lambda s: resolve_agent(s, token=token, clock=svc.clock))


def require_role(*roles: str) -> Callable[..., Awaitable[Agent]]:
    async def dependency(agent: Annotated[Agent, Depends(current_agent)]) -> Agent:
        check_role(agent, roles)
        return agent

    return dependency


STAFF = (Role.AGENT.value, Role.SUPERVISOR.value, Role.ADMIN.value)
SUPERVISORS = (Role.SUPERVISOR.value, Role.ADMIN.value)
EVERYONE = (*STAFF, Role.EDITOR.value)  # who may see themselves and log out
REPORT_READERS = (Role.EDITOR.value, Role.SUPERVISOR.value, Role.ADMIN.value)  # the unanswered questions
EDITORS = (Role.EDITOR.value, Role.ADMIN.value)  # who may file them as an FAQ's test questions

AgentDep = Annotated[Agent, Depends(require_role(*STAFF))]
SupervisorDep = Annotated[Agent, Depends(require_role(*SUPERVISORS))]
AdminDep = Annotated[Agent, Depends(require_role(Role.ADMIN.value))]
AccountDep = Annotated[Agent, Depends(require_role(*EVERYONE))]
ReportReaderDep = Annotated[Agent, Depends(require_role(*REPORT_READERS))]
EditorDep = Annotated[Agent, Depends(require_role(*EDITORS))]
