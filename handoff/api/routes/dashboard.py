"""The supervisor dashboard's API: every figure for a date range and filters, and each table as CSV.
Supervisors and admins only."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response

from handoff.analytics import dashboard, live
from handoff.analytics.filters import Filters
from handoff.api.deps import ServicesDep
from handoff.api.deps_agent import SupervisorDep
from handoff.api.errors import error_responses
from handoff.api.headers import PAGE_HEADERS
from handoff.services import Services

router = APIRouter(prefix="/api/agent/dashboard", tags=["dashboard"], responses=error_responses(401, 403, 422))
page_router = APIRouter(include_in_schema=False)
PAGE = Path(__file__).resolve().parents[2] / "static" / "dashboard" / "index.html"
COMPLAINTS_PAGE = PAGE.parents[1] / "complaints" / "index.html"

From = Annotated[date | None, Query(alias="from", description="first day (business time zone); default 7 days ago")]
To = Annotated[date | None, Query(alias="to", description="last day, inclusive; default today")]
Lang = Annotated[Literal["en", "zh"] | None, Query()]
Channel = Annotated[Literal["web", "app"] | None, Query()]
Team = Annotated[str | None, Query(max_length=32, description="agents' team: the chats its agents took (figures "
                                   "listed in `team_scoped`)")]


def _filters(svc: Services, start: date | None, end: date | None, lang: str | None, channel: str | None,
             team: str | None = None) -> Filters:
    tz = svc.settings.BUSINESS_TZ
    today = svc.clock.now().astimezone(ZoneInfo(tz)).date()
    return dashboard.make_filters(start=start, end=end, lang=lang, channel=channel, tz=tz, today=today, team=team)


@router.get("")
async def overview(svc: ServicesDep, _sup: SupervisorDep, start: From = None, end: To = None, lang: Lang = None,
                   channel: Channel = None, team: Team = None) -> dict[str, Any]:
    filters = _filters(svc, start, end, lang, channel, team)
    return await svc.db(lambda s: dashboard.overview(
        s, filters=filters, now=svc.clock.now(), sla_s=svc.settings.SLA_FIRST_REPLY_S), write=False)


@router.get("/waiting")
async def waiting(svc: ServicesDep, _sup: SupervisorDep, lang: Lang = None, channel: Channel = None) -> dict[str, Any]:
    """Only the live counter (cheap: the console polls it every few seconds)."""
    filters = _filters(svc, None, None, lang, channel)
    return await svc.db(lambda s: live.unanswered(s, filters=filters, now=svc.clock.now()), write=False)


@router.get("/{table}.csv", response_class=Response)
async def table_csv(table: str, svc: ServicesDep, _sup: SupervisorDep, start: From = None, end: To = None,
                    lang: Lang = None, channel: Channel = None, team: Team = None) -> Response:
    filters = _filters(svc, start, end, lang, channel, team)
    body = await svc.db(lambda s: dashboard.table_csv(s, name=table, filters=filters, now=svc.clock.now()),
                        write=False)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="dashboard-{table}.csv"'})


@page_router.get("/console/dashboard")
async def dashboard_page() -> FileResponse:
    """The page; its data needs a supervisor's session (the console's login cookie)."""
    return FileResponse(PAGE, headers=PAGE_HEADERS)


@page_router.get("/console/complaints")
async def complaints_page() -> FileResponse:
    """The supervisors' complaints page; its data (`/api/agent/supervisor/complaints`) needs a supervisor."""
    return FileResponse(COMPLAINTS_PAGE, headers=PAGE_HEADERS)
