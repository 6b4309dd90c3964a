"""The editors' unanswered-questions report: the clusters of a date range, the FAQs to file them under, and
"answered by FAQ X", which adds a cluster's wordings to X's test questions. Editors and admins may file;
supervisors may read the report too; agents may do neither (and editors see none of the agents' pages)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from pydantic import Field

from handoff import audit
from handoff.analytics import dashboard, unanswered
from handoff.api.deps import ServicesDep
from handoff.api.deps_agent import EditorDep, ReportReaderDep, console_kb
from handoff.api.errors import error_responses
from handoff.api.headers import PAGE_HEADERS
from handoff.api.schemas.messages import Strict
from handoff.errors import InvalidInputError
from handoff.masking import mask_text, policy_from_settings

router = APIRouter(prefix="/api/agent/unanswered", tags=["editor"], responses=error_responses(401, 403, 422, 503))
page_router = APIRouter(include_in_schema=False)
PAGE = Path(__file__).resolve().parents[2] / "static" / "editor" / "index.html"

From = Annotated[date | None, Query(alias="from", description="first day (business time zone); default 7 days ago")]
To = Annotated[date | None, Query(alias="to", description="last day, inclusive; default today")]
Lang = Annotated[Literal["en", "zh"] | None, Query()]


class AnsweredIn(Strict):
    lang: Literal["en", "zh"]
    faq_id: str = Field(min_length=1, max_length=80, description="the FAQ that answers these questions")
    wordings: list[Annotated[str, Field(max_length=2000)]] = Field(
        min_length=1, max_length=unanswered.MAX_MARK, description="the cluster's wordings, as the report gave them")


@router.get("")
async def unanswered_report(svc: ServicesDep, request: Request, _reader: ReportReaderDep, start: From = None,
                            end: To = None, lang: Lang = None) -> dict[str, Any]:
    """Clusters of the questions that ended in none, clarify, fallback, "didn't help" or a handoff after a
    KB attempt, largest first: count, examples, the nearest FAQ and its score, the trend (first half of the
    range against the second), and whether editors already filed them as an FAQ's test questions."""
    tz = svc.settings.BUSINESS_TZ
    now = svc.clock.now()
    filters = dashboard.make_filters(start=start, end=end, lang=lang, channel=None, tz=tz,
                                     today=now.astimezone(ZoneInfo(tz)).date())
    until = min(filters.end, now)
    asked = await svc.db(lambda s: unanswered.questions(s, filters=filters, now=now), write=False)
    kb = console_kb(request)

    def grouped() -> dict[str, Any]:
        clusters = kb.clusters(asked, start=filters.start, end=until)
        return unanswered.report(clusters, asked=sum(a.count for a in asked), filed=kb.test_questions(), filters=filters,
                                 until=until)

    return await anyio.to_thread.run_sync(grouped)  # the embedder and the linkage: not on the event loop


@router.get("/faqs")
async def faqs(request: Request, _reader: ReportReaderDep, lang: Lang = None) -> dict[str, Any]:
    """The FAQs of the source folder an editor may file questions under."""
    kb = console_kb(request)
    found = await anyio.to_thread.run_sync(kb.faqs)
    return {"faqs": [f for f in found if not lang or f["lang"] == lang]}


@router.post("/answered")
async def answered(body: AnsweredIn, svc: ServicesDep, request: Request, editor: EditorDep) -> dict[str, Any]:
    """Mark a cluster "answered by FAQ X": its wordings (only those borrowers really asked, masked again)
    are appended to X's test questions in knowledge_base/faq/test-questions.tsv."""
    policy = policy_from_settings(svc.settings)
    asked = await svc.db(lambda s: unanswered.asked_wordings(s, lang=body.lang, wordings=body.wordings), write=False)
    if not asked:
        raise InvalidInputError("wordings: none of them is an unanswered question borrowers asked")
    kb = console_kb(request)
    masked = [mask_text(w, policy) for w in asked]
    added = await anyio.to_thread.run_sync(lambda: kb.add_test_questions(faq_id=body.faq_id, lang=body.lang,
                                                                          questions=masked))

    def record(session: Any) -> None:
        audit.record(session, actor_type="agent", actor_id=str(editor.id), conversation_id=None,
                     action="test_questions_added",
                     detail={"faq_id": body.faq_id, "lang": body.lang, "added": len(added), "offered": len(asked)})

    await svc.db(record)
    return {"faq_id": body.faq_id, "lang": body.lang, "added": [q.question for q in added],
            "already_filed": len(masked) - len(added), "file": kb.test_questions_path().name}


@page_router.get("/console/unanswered")
async def unanswered_page() -> FileResponse:
    """The page; its data needs an editor's, a supervisor's or an admin's session (the console's cookie)."""
    return FileResponse(PAGE, headers=PAGE_HEADERS)
