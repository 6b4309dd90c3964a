"""The audit trail: one insert-only row per state change and per sensitive operation.

Rows are never updated or deleted through the ORM; a flush that tries is refused (see `_refuse_changes`).
The one exception is explicit and narrow: `anonymise_conversation`, called only by the erasure of a
conversation (`handoff.privacy.erasure`), rewrites that conversation's rows so that they no longer point at
the borrower, and records that it did.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from handoff.models import AuditEvent


class AuditImmutable(Exception):
    """Something tried to change or delete an audit row."""


def record(
    session: Session,
    *,
    actor_type: str,
    actor_id: str | int | None,
    conversation_id: str | None,
    action: str,
    from_state: str | None = None,
    to_state: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    row = AuditEvent(
        actor_type=str(actor_type),
        actor_id=None if actor_id is None else str(actor_id),
        conversation_id=conversation_id,
        action=action,
        from_state=None if from_state is None else str(from_state),
        to_state=None if to_state is None else str(to_state),
        detail=detail,
    )
    session.add(row)
    return row


@event.listens_for(Session, "before_flush")
def _refuse_changes(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditImmutable(f"audit event {obj.id} is append-only")


# Detail keys that describe the process, never the borrower; everything else is dropped on anonymisation
# (a hand-back note, say, is agent text about the borrower).
NEUTRAL_DETAIL_KEYS = frozenset({
    "reason", "priority", "waited_s", "queue_entry_id", "from_agent_id", "to_agent_id", "channel", "lang",
    "agent_id", "from", "to", "note_id",
})
ERASED_PREFIX = "erased-"


def anonymise_conversation(session: Session, *, conversation_id: str, actor_type: str,
                           actor_id: str | int | None) -> tuple[str, int]:
    """Point the conversation's audit rows at a random pseudonym (not derivable from the id) and keep only
    neutral detail keys; then record `conversation_erased` under the pseudonym. Returns (pseudonym, rows).

    A bulk UPDATE, on purpose outside the ORM's flush (which refuses any change to audit rows): the
    sequence of events, their times and the agents who acted stay, the link to the borrower goes."""
    pseudonym = ERASED_PREFIX + secrets.token_hex(12)
    rows = session.execute(
        select(AuditEvent.id, AuditEvent.detail).where(AuditEvent.conversation_id == conversation_id)
    ).all()
    for row_id, detail in rows:
        kept = {k: v for k, v in (detail or {}).items() if k in NEUTRAL_DETAIL_KEYS} or None
        session.execute(
            update(AuditEvent).where(AuditEvent.id == row_id).values(conversation_id=pseudonym, detail=kept)
            .execution_options(synchronize_session=False)
        )
    record(session, actor_type=actor_type, actor_id=actor_id, conversation_id=pseudonym,
           action="conversation_erased", detail={"rows": len(rows)})
    return pseudonym, len(rows)
