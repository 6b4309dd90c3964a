"""Callback tickets as work: a reference and a due time, the full contact only for the agent working the
ticket (decrypted on demand and audited), outcomes, escalation when overdue, purge after retention.

The borrower side creates tickets (`handoff.borrower.waiting`); agents work them through the routes in
`handoff.api.routes.callbacks`; the SLA loop escalates and purges (`escalate_overdue`, `purge_expired`).
Functions run inside the caller's transaction and never commit.
"""

from __future__ import annotations

import functools
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from handoff import audit
from handoff.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from handoff.infra.clock import Clock, as_utc
from handoff.infra.secretbox import SecretBox
from handoff.models import Agent, CallbackTicket, QueueEntry
from handoff.queue import claims
from handoff.queue.hours import business_hours_of
from handoff.states import QueueStatus

OPEN_STATUSES = ("open", "in_progress")
OUTCOMES = ("reached", "no_answer", "wrong_number", "retry")
FINAL_OUTCOMES = ("reached", "wrong_number")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone


def new_reference(prefix: str) -> str:
    return f"{prefix}-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))


def _open(*columns: Any, conversation_id: Any) -> Any:
    return select(*columns).where(
        CallbackTicket.conversation_id == conversation_id, CallbackTicket.status.in_(OPEN_STATUSES)
    ).order_by(CallbackTicket.id.desc()).limit(1)


def open_callback(session: Session, *, conversation_id: str) -> CallbackTicket | None:
    """The conversation's callback request that is not done yet, if any."""
    return session.scalars(_open(CallbackTicket, conversation_id=conversation_id)).first()


@functools.cache  # built once: every bot turn runs it
def _open_reference() -> Any:
    return _open(CallbackTicket.id, CallbackTicket.reference, conversation_id=bindparam("p_conversation_id"))


@functools.cache
def open_callback_columns() -> tuple[Any, Any]:
    """The open callback's id and reference (NULL when there is none) as two columns another statement
    reads along, bound by `p_conversation_id`: a bot turn's one-statement write (turn_writes) reads them
    instead of a query of its own (`open_callback_of`)."""
    return (
        _open(CallbackTicket.id, conversation_id=bindparam("p_conversation_id")).scalar_subquery()
        .label("open_callback_id"),
        _open(CallbackTicket.reference, conversation_id=bindparam("p_conversation_id")).scalar_subquery()
        .label("open_callback_reference"),
    )


def open_callback_of(values: tuple[Any, ...]) -> tuple[bool, str | None]:
    """`open_callback_reference`'s answer from the values of `open_callback_columns`."""
    ticket_id, reference = values
    return ticket_id is not None, reference


def open_callback_reference(session: Session, *, conversation_id: str) -> tuple[bool, str | None]:
    """Whether there is an `open_callback`, and its reference: what every borrower view shows, read
    without loading the ticket (every bot turn reads it)."""
    row = session.execute(_open_reference(), {"p_conversation_id": conversation_id}).first()
    return (False, None) if row is None else (True, row.reference)


def due_time(settings: Any, now: datetime, *, business_hours: float) -> datetime:
    """`business_hours` of business time after the next opening (or after now, while open)."""
    hours = business_hours_of(settings)
    start = hours.next_opening(now) or now
    return hours.add_business_seconds(max(start, now), business_hours * 3600)


def _ticket(session: Session, ticket_id: int) -> CallbackTicket:
    ticket = session.get(CallbackTicket, ticket_id)
    if ticket is None:
        raise NotFoundError(f"callback {ticket_id} does not exist", target_id=ticket_id)
    return ticket


def _iso(value: datetime | None) -> str | None:
    return None if value is None else as_utc(value).isoformat()


def ticket_dict(ticket: CallbackTicket, *, contact: str | None = None) -> dict[str, Any]:
    """A ticket as agents see it: the masked contact unless `contact` (the full one) is given."""
    return {
        "ticket_id": ticket.id, "reference": ticket.reference, "conversation_id": ticket.conversation_id,
        "queue_entry_id": ticket.queue_entry_id, "contact_method": ticket.contact_method,
        "contact": contact or ticket.contact, "contact_full": contact is not None,
        "preferred_time": ticket.preferred_time, "lang": ticket.lang, "status": ticket.status,
        "due_at": _iso(ticket.due_at), "escalated": ticket.escalated_at is not None,
        "worked_by_agent_id": ticket.worked_by_agent_id, "attempts": ticket.attempts, "outcome": ticket.outcome,
        "created_at": _iso(ticket.created_at), "completed_at": _iso(ticket.completed_at),
        "purged": ticket.purged_at is not None,
    }


def _reveal(session: Session, ticket: CallbackTicket, *, agent: Agent, box: SecretBox) -> str | None:
    if ticket.contact_encrypted is None:
        return None
    contact = box.decrypt(ticket.contact_encrypted)
    audit.record(
        session, actor_type="agent", actor_id=agent.id, conversation_id=ticket.conversation_id,
        action="callback_contact_revealed", detail={"ticket_id": ticket.id},
    )
    return contact


def start_work(session: Session, *, ticket_id: int, agent: Agent, box: SecretBox) -> dict[str, Any]:
    """The agent takes the callback: from now on only they see the full contact (audited each time)."""
    ticket = _ticket(session, ticket_id)
    if ticket.status not in OPEN_STATUSES:
        raise ConflictError(f"callback {ticket_id} is {ticket.status}", target_id=ticket_id)
    if ticket.worked_by_agent_id not in (None, agent.id):
        raise ConflictError(f"callback {ticket_id} is being worked by another agent", target_id=ticket_id)
    ticket.status = "in_progress"
    ticket.worked_by_agent_id = agent.id
    audit.record(
        session, actor_type="agent", actor_id=agent.id, conversation_id=ticket.conversation_id,
        action="callback_started", detail={"ticket_id": ticket.id},
    )
    return ticket_dict(ticket, contact=_reveal(session, ticket, agent=agent, box=box))


def view(session: Session, *, ticket_id: int, agent: Agent, box: SecretBox) -> dict[str, Any]:
    """The ticket; the full contact only for the agent working it, masked for everyone else."""
    ticket = _ticket(session, ticket_id)
    if ticket.status == "in_progress" and ticket.worked_by_agent_id == agent.id:
        return ticket_dict(ticket, contact=_reveal(session, ticket, agent=agent, box=box))
    return ticket_dict(ticket)


def record_outcome(
    session: Session, *, ticket_id: int, agent: Agent, outcome: str, note: str, settings: Any, clock: Clock
) -> dict[str, Any]:
    """reached / wrong_number finish the ticket (and its queue entry); no_answer / retry put it back
    in the list, due again CALLBACK_RETRY_BUSINESS_HOURS later."""
    if outcome not in OUTCOMES:
        raise InvalidInputError(f"outcome must be one of {', '.join(OUTCOMES)}")
    ticket = _ticket(session, ticket_id)
    if ticket.status != "in_progress" or ticket.worked_by_agent_id != agent.id:
        raise ForbiddenError("record the outcome of a callback you are working", target_id=ticket_id)
    now = clock.now()
    ticket.attempts += 1
    ticket.outcome = outcome
    if outcome in FINAL_OUTCOMES:
        entry = session.get(QueueEntry, ticket.queue_entry_id) if ticket.queue_entry_id else None
        if entry is not None and entry.status == QueueStatus.CALLBACK:
            claims.complete_callback(session, entry_id=entry.id, actor=agent, clock=clock)
        ticket.status = "done"
        ticket.completed_at = now
    else:
        ticket.status = "open"
        ticket.worked_by_agent_id = None
        ticket.escalated_at = None
        ticket.due_at = due_time(settings, now, business_hours=settings.CALLBACK_RETRY_BUSINESS_HOURS)
    audit.record(
        session, actor_type="agent", actor_id=agent.id, conversation_id=ticket.conversation_id,
        action="callback_outcome", detail={"ticket_id": ticket.id, "outcome": outcome, "note": note[:500]},
    )
    return ticket_dict(ticket)


def work_list(session: Session, *, agent: Agent) -> list[dict[str, Any]]:
    """Open callbacks, most overdue first (agents: in their languages)."""
    query = select(CallbackTicket).where(CallbackTicket.status.in_(OPEN_STATUSES))
    if not claims.is_supervisor(agent):
        query = query.where(CallbackTicket.lang.in_(claims.agent_languages(agent)))
    return [ticket_dict(t) for t in session.scalars(query.order_by(CallbackTicket.due_at, CallbackTicket.id))]


def escalate_overdue(session: Session, *, clock: Clock) -> list[CallbackTicket]:
    """Mark (once) every open callback past its due time; the caller tells supervisors."""
    now = clock.now()
    overdue = session.scalars(
        select(CallbackTicket).where(
            CallbackTicket.status.in_(OPEN_STATUSES), CallbackTicket.escalated_at.is_(None),
            CallbackTicket.due_at.is_not(None), CallbackTicket.due_at <= now,
        )
    ).all()
    for ticket in overdue:
        ticket.escalated_at = now
        audit.record(
            session, actor_type="system", actor_id=None, conversation_id=ticket.conversation_id,
            action="callback_overdue", detail={"ticket_id": ticket.id, "reference": ticket.reference},
        )
    return list(overdue)


def purge_expired(session: Session, *, clock: Clock, retention_days: int) -> int:
    """Delete the encrypted contact of callbacks completed more than `retention_days` ago."""
    cutoff = clock.now() - timedelta(days=retention_days)
    done = session.scalars(
        select(CallbackTicket).where(
            CallbackTicket.status == "done", CallbackTicket.contact_encrypted.is_not(None),
            CallbackTicket.completed_at.is_not(None), CallbackTicket.completed_at <= cutoff,
        )
    ).all()
    for ticket in done:
        ticket.contact_encrypted = None
        ticket.purged_at = clock.now()
        audit.record(
            session, actor_type="system", actor_id=None, conversation_id=ticket.conversation_id,
            action="callback_contact_purged", detail={"ticket_id": ticket.id},
        )
    return len(done)


def rotate_keys(session: Session, *, box: SecretBox) -> int:
    """Re-encrypt every stored contact with the current (first) key; returns how many."""
    tickets = session.scalars(select(CallbackTicket).where(CallbackTicket.contact_encrypted.is_not(None))).all()
    for ticket in tickets:
        ticket.contact_encrypted = box.rotate(ticket.contact_encrypted or "")
    return len(tickets)
