"""Canned replies (under /api/agent): every agent reads them (`GET /canned-replies?lang=zh` adds `title` and
`text` in that language); supervisors and admins create, change and delete them under
`/supervisor/canned-replies` (audited). The data work is `handoff.agents.canned`."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from handoff.agents import canned
from handoff.agents.operations import me
from handoff.api.deps import ServicesDep
from handoff.api.deps_agent import AgentDep, SupervisorDep
from handoff.api.ids import PathId

router = APIRouter(tags=["canned replies"])


class CannedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shortcut: str = Field(min_length=1, max_length=32, description="lower-case key, e.g. 'late-fee'")
    title_en: str = Field(min_length=1, max_length=canned.MAX_TITLE)
    title_zh: str = Field(min_length=1, max_length=canned.MAX_TITLE)
    text_en: str = Field(min_length=1, max_length=canned.MAX_TEXT, description="'{agent}': the agent's name")
    text_zh: str = Field(min_length=1, max_length=canned.MAX_TEXT)


class CannedPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shortcut: str | None = Field(None, min_length=1, max_length=32)
    title_en: str | None = Field(None, min_length=1, max_length=canned.MAX_TITLE)
    title_zh: str | None = Field(None, min_length=1, max_length=canned.MAX_TITLE)
    text_en: str | None = Field(None, min_length=1, max_length=canned.MAX_TEXT)
    text_zh: str | None = Field(None, min_length=1, max_length=canned.MAX_TEXT)


@router.get("/canned-replies")
async def list_replies(svc: ServicesDep, _agent: AgentDep, lang: Literal["en", "zh"] | None = None) -> dict[str, Any]:
    """Every canned reply in both languages; with `lang`, also `title` and `text` in it."""
    return {"replies": await svc.db(lambda s: canned.list_replies(s, lang=lang), write=False)}


@router.post("/supervisor/canned-replies", status_code=201)
async def create_reply(body: CannedIn, svc: ServicesDep, sup: SupervisorDep) -> dict[str, Any]:
    return await svc.db(lambda s: canned.create_reply(s, actor=me(s, sup), values=body.model_dump(), clock=svc.clock))


@router.patch("/supervisor/canned-replies/{reply_id}")
async def update_reply(reply_id: PathId, body: CannedPatch, svc: ServicesDep, sup: SupervisorDep) -> dict[str, Any]:
    return await svc.db(lambda s: canned.update_reply(
        s, reply_id=reply_id, actor=me(s, sup), values=body.model_dump(exclude_none=True), clock=svc.clock))


@router.delete("/supervisor/canned-replies/{reply_id}", status_code=204)
async def delete_reply(reply_id: PathId, svc: ServicesDep, sup: SupervisorDep) -> Response:
    await svc.db(lambda s: canned.delete_reply(s, reply_id=reply_id, actor=me(s, sup)))
    return Response(status_code=204)
