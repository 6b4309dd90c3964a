"""Complaint records: recognised complaints and disputes get a reference, a deadline (COMPLAINT_DAYS, 15 by
default as Chinese regulators require; COMPLAINT_COMPLEX_DAYS, 30, for complex cases), an owner, a status
and an outcome. The borrower is told the reference, the deadline and the external channels; supervisors
list open and overdue ones. Functions run inside the caller's transaction and never commit.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from handoff import audit, texts
from handoff.conversations.records import append_message
from handoff.errors import InvalidInputError, NotFoundError
from handoff.infra.clock import Clock, as_utc
from handoff.infra.webhooks import queue_webhook
from handoff.models import Agent, Complaint, Conversation
from handoff.queue.callbacks import new_reference
from handoff.queue.hours import business_hours_of
from handoff.states import Sender

STATUSES = ("open", "in_progress", "resolved")
OPEN_STATUSES = ("open", "in_progress")
PAGE_LIMIT = 50
MAX_PAGE_LIMIT = 200
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _deadline(settings: Any, opened_at: datetime, *, complex_case: bool) -> datetime:
    days = settings.COMPLAINT_COMPLEX_DAYS if complex_case else settings.COMPLAINT_DAYS
    return opened_at + timedelta(days=days)


def channels_text(settings: Any, lang: str) -> str:
    return str(settings.COMPLAINT_CHANNELS_ZH if lang == "zh" else settings.COMPLAINT_CHANNELS_EN)


def open_complaint(session: Session, *, conversation_id: str) -> Complaint | None:
    return session.scalars(
        select(Complaint).where(Complaint.conversation_id == conversation_id, Complaint.status.in_(OPEN_STATUSES))
    ).first()


def record_complaint(
    session: Session, *, conversation: Conversation, summary: str, source: str, settings: Any, clock: Clock
) -> Complaint:
    """Open a complaint for the conversation (or return the one already open) and tell the borrower."""
    existing = open_complaint(session, conversation_id=conversation.id)
    if existing is not None:
        return existing
    now = clock.now()
    complaint = Complaint(
        reference=new_reference("CP"), conversation_id=conversation.id, lang=conversation.lang, status="open",
        complex=False, summary=summary[:1000], source=source, opened_at=now,
        due_at=_deadline(settings, now, complex_case=False),
    )
    session.add(complaint)
    session.flush()
    audit.record(
        session, actor_type="system", actor_id=None, conversation_id=conversation.id, action="complaint_opened",
        detail={"complaint_id": complaint.id, "reference": complaint.reference, "source": source},
    )
    hours = business_hours_of(settings)
    append_message(
        session, conversation_id=conversation.id, sender=Sender.SYSTEM,
        text=texts.text("complaint_opened", conversation.lang, reference=complaint.reference,
                        due=hours.describe_instant(complaint.due_at, conversation.lang),
                        channels=channels_text(settings, conversation.lang)),
        payload={"custom": {"type": "complaint", "reference": complaint.reference,
                            "due_at": as_utc(complaint.due_at).isoformat()}},
    )
    queue_webhook(session, settings=settings, clock=clock, event="complaint_opened", data=complaint_dict(complaint))
    return complaint


def complaint_dict(complaint: Complaint, *, now: datetime | None = None) -> dict[str, Any]:
    due = as_utc(complaint.due_at)
    return {
        "id": complaint.id, "reference": complaint.reference, "conversation_id": complaint.conversation_id,
        "lang": complaint.lang, "status": complaint.status, "complex": complaint.complex,
        "summary": complaint.summary, "source": complaint.source, "owner_agent_id": complaint.owner_agent_id,
        "outcome": complaint.outcome, "opened_at": as_utc(complaint.opened_at).isoformat(),
        "due_at": due.isoformat(),
        "overdue": now is not None and complaint.status in OPEN_STATUSES and due <= now,
        "resolved_at": None if complaint.resolved_at is None else as_utc(complaint.resolved_at).isoformat(),
    }


def list_complaints(
    session: Session, *, which: str, clock: Clock, limit: int = PAGE_LIMIT, cursor: str | None = None
) -> dict[str, Any]:
    """One page of `open` (open or in progress), `overdue` (open past the deadline) or `all`: open ones
    first, oldest deadline first (so the overdue lead), then the resolved ones, most recently resolved first.
    Each carries its owner's display name. `next_cursor` continues after the page's last row (None at the
    end); `counts` are the totals of open, overdue and resolved complaints, whatever the page."""
    now = clock.now()
    query = select(Complaint)
    if which in ("open", "overdue"):
        query = query.where(Complaint.status.in_(OPEN_STATUSES))
    if which == "overdue":
        query = query.where(Complaint.due_at <= now)
    if cursor:
        query = query.where(_after(decode_cursor(cursor)))
    is_open = Complaint.status.in_(OPEN_STATUSES)
    still_open = case((is_open, 0), else_=1)
    due_if_open = case((is_open, Complaint.due_at), else_=None)
    resolved_if_not = case((is_open, None), else_=_resolved_time())
    rows = session.scalars(
        query.order_by(still_open, due_if_open, resolved_if_not.desc(), Complaint.id).limit(limit + 1)
    ).all()
    found, more = rows[:limit], len(rows) > limit
    owner_ids = {c.owner_agent_id for c in found if c.owner_agent_id is not None}
    names = {a.id: a.display_name for a in session.scalars(select(Agent).where(Agent.id.in_(owner_ids)))} if owner_ids else {}
    return {
        "complaints": [{**complaint_dict(c, now=now), "owner_name": names.get(c.owner_agent_id or 0)} for c in found],
        "next_cursor": encode_cursor(found[-1]) if more else None,
        "counts": complaint_counts(session, now=now),
    }


def complaint_counts(session: Session, *, now: datetime) -> dict[str, int]:
    is_open = Complaint.status.in_(OPEN_STATUSES)
    open_, overdue, resolved = session.execute(select(
        func.count().filter(is_open), func.count().filter(is_open, Complaint.due_at <= now),
        func.count().filter(~is_open),
    ).select_from(Complaint)).one()
    return {"open": int(open_), "overdue": int(overdue), "resolved": int(resolved)}


def _resolved_time() -> Any:
    # A resolved complaint always has resolved_at; the opening time stands in for rows that predate it.
    return func.coalesce(Complaint.resolved_at, Complaint.opened_at)


def encode_cursor(complaint: Complaint) -> str:
    """Where the page ended, as the list's sort key: `o.<due_at>.<id>` or `r.<resolved_at>.<id>` (microseconds)."""
    if complaint.status in OPEN_STATUSES:
        return f"o.{_micros(complaint.due_at)}.{complaint.id}"
    return f"r.{_micros(complaint.resolved_at or complaint.opened_at)}.{complaint.id}"


def decode_cursor(cursor: str) -> tuple[str, datetime, int]:
    group, _, rest = cursor.partition(".")
    micros, _, row_id = rest.partition(".")
    if group not in ("o", "r") or not micros.isdigit() or not row_id.isdigit():
        raise InvalidInputError("cursor: pass the next_cursor of the previous page unchanged")
    return group, EPOCH + timedelta(microseconds=int(micros)), int(row_id)


def _micros(value: datetime) -> int:
    return (as_utc(value) - EPOCH) // timedelta(microseconds=1)


def _after(key: tuple[str, datetime, int]) -> Any:
    """Rows after the cursor's in the list's order: later deadlines (then higher ids) among the open ones and
    every resolved one; after a resolved row, earlier resolutions (then higher ids)."""
    group, moment, row_id = key
    is_open = Complaint.status.in_(OPEN_STATUSES)
    if group == "o":
        later = or_(Complaint.due_at > moment, and_(Complaint.due_at == moment, Complaint.id > row_id))
        return or_(~is_open, and_(is_open, later))
    resolved = _resolved_time()
    return and_(~is_open, or_(resolved < moment, and_(resolved == moment, Complaint.id > row_id)))


def update_complaint(
    session: Session, *, complaint_id: int, actor: Agent, settings: Any, clock: Clock,
    owner_agent_id: int | None = None, status: str | None = None, outcome: str | None = None,
    complex_case: bool | None = None,
) -> dict[str, Any]:
    """A supervisor assigns an owner, marks the case complex (30 days), or moves it on; resolving
    needs an outcome."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFoundError(f"complaint {complaint_id} does not exist", target_id=complaint_id)
    if owner_agent_id is None and status is None and outcome is None and complex_case is None:
        raise InvalidInputError("nothing to change: send owner_agent_id, status, outcome or complex")
    if outcome is not None and not outcome.strip():
        raise InvalidInputError("outcome: write what was done, or leave the field out")
    before = {"owner_agent_id": complaint.owner_agent_id, "status": complaint.status}
    changes: dict[str, Any] = {}
    if owner_agent_id is not None:
        owner = session.get(Agent, owner_agent_id)
        if owner is None:
            raise NotFoundError("agent not found", target_id=owner_agent_id)
        if owner.disabled_at is not None or owner.role == "editor":
            raise InvalidInputError(f"owner_agent_id: {owner.username} cannot own complaints (disabled or an editor)")
        complaint.owner_agent_id = changes["owner_agent_id"] = owner_agent_id
    if complex_case is not None and complex_case != complaint.complex:
        complaint.complex = changes["complex"] = complex_case
        complaint.due_at = _deadline(settings, as_utc(complaint.opened_at), complex_case=complex_case)
        complaint.overdue_notified_at = None
    if outcome is not None:
        complaint.outcome = changes["outcome"] = outcome.strip()[:2000]
    if status is not None:
        if status not in STATUSES:
            raise InvalidInputError(f"status must be one of {', '.join(STATUSES)}")
        if status == "resolved" and not complaint.outcome:
            raise InvalidInputError("outcome: say how the complaint was resolved before resolving it")
        complaint.status = changes["status"] = status
        complaint.resolved_at = clock.now() if status == "resolved" else None
    audit.record(
        session, actor_type="agent", actor_id=actor.id, conversation_id=complaint.conversation_id,
        action="complaint_updated", detail={"complaint_id": complaint.id, "reference": complaint.reference,
                                            "before": before, **changes},
        from_state=str(before["status"]), to_state=complaint.status,
    )
    owner = session.get(Agent, complaint.owner_agent_id) if complaint.owner_agent_id is not None else None
    return {**complaint_dict(complaint, now=clock.now()), "owner_name": owner.display_name if owner else None}


def notify_overdue(session: Session, *, settings: Any, clock: Clock) -> list[Complaint]:
    """Tell supervisors (once per deadline) about every open complaint past it."""
    now = clock.now()
    overdue = session.scalars(
        select(Complaint).where(
            Complaint.status.in_(OPEN_STATUSES), Complaint.due_at <= now, Complaint.overdue_notified_at.is_(None)
        )
    ).all()
    for complaint in overdue:
        complaint.overdue_notified_at = now
        audit.record(
            session, actor_type="system", actor_id=None, conversation_id=complaint.conversation_id,
            action="complaint_overdue", detail={"complaint_id": complaint.id, "reference": complaint.reference},
        )
        queue_webhook(session, settings=settings, clock=clock, event="complaint_overdue",
                      data=complaint_dict(complaint, now=now))
    return list(overdue)
