"""The audit trail: one insert-only row per state change and per sensitive operation.

Rows are never updated or deleted; a flush that tries is refused (see `_refuse_changes`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
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
