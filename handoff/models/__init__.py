"""SQLAlchemy 2 models: conversations, messages, the agent queue, agents, and the audit trail (the
declarative `base` and further tables live in this package's modules; every one is imported here, so
`Base.metadata` always holds them all).

Shared by the borrower side and the agent side. Alembic migrations in `handoff/migrations/` mirror
these tables; change both together.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from handoff.models.base import Base as Base
from handoff.models.base import new_id, utcnow
from handoff.models.canned import CannedReply as CannedReply
from handoff.models.devices import PushDevice as PushDevice


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(64))
    lang: Mapped[str] = mapped_column(String(8), default="en")
    channel: Mapped[str] = mapped_column(String(16), default="web")
    state: Mapped[str] = mapped_column(String(16), default="bot", index=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    assigned_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    agent_helped: Mapped[bool] = mapped_column(Boolean, default=False)
    client_addr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Set when the lender's site vouched for the borrower (handoff.identity); the profile fields are a
    # snapshot from the loan system at sign-in, read by queue routing without a network call.
    borrower_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    verified_at: Mapped[datetime | None] = mapped_column(nullable=True)
    borrower_profile: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ConversationDevice(Base):
    """A further bearer token of a conversation: a verified borrower resumed it on another device."""

    __tablename__ = "conversation_devices"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IdentityNonce(Base):
    """A sign-in token's nonce, kept until the token expires so that the token cannot sign in twice."""

    __tablename__ = "identity_nonces"

    nonce: Mapped[str] = mapped_column(String(128), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Message(Base):
    """One stored message. `seq` is per conversation, gap-free, assigned under the turn lock."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_message_seq"),
        UniqueConstraint("conversation_id", "client_message_id", name="uq_message_client_id"),
        # Borrower messages still waiting for their bot turn: what the stuck-turn sweeper reads.
        Index(
            "ix_messages_unanswered",
            "created_at",
            sqlite_where=text("sender = 'borrower' AND reply_to_seq IS NULL"),
            postgresql_where=text("sender = 'borrower' AND reply_to_seq IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    client_message_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # For a borrower message: the seq of the last reply produced for it, so a retried
    # client_message_id can return the same result.
    reply_to_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QueueEntry(Base):
    """A handed-off conversation waiting for, or held by, a person.

    At most one *active* entry (waiting/assigned/callback) per conversation: a partial unique index,
    so two concurrent handoffs of the same conversation cannot both insert.
    """

    __tablename__ = "queue_entries"
    __table_args__ = (
        Index(
            "uq_queue_active_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("status IN ('waiting', 'assigned', 'callback')"),
            postgresql_where=text("status IN ('waiting', 'assigned', 'callback')"),
        ),
        Index("ix_queue_order", "status", "priority_rank", "enqueued_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    reason: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16), default="normal")
    priority_rank: Mapped[int] = mapped_column(Integer, default=2)
    lang: Mapped[str] = mapped_column(String(8), default="en")
    summary: Mapped[str] = mapped_column(Text, default="")
    # Deferred: the packet carries the transcript at handoff and is read only by the console's chat view and
    # the callback offer; loading it with every queue lookup of a borrower turn cost a JSON parse each time.
    packet: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, deferred=True)
    enqueued_at: Mapped[datetime] = mapped_column(default=utcnow)
    assigned_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    assigned_at: Mapped[datetime | None] = mapped_column(nullable=True)
    first_agent_reply_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # History for the dashboard, never reset: the first person's reply to this handoff and its first SLA
    # breach. `first_agent_reply_at` / `sla_breached_at` are the SLA clock's and start again on a requeue or
    # transfer, which erased an answered chat's first response (and its breach) from the figures.
    answered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    first_breach_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # When the first-reply SLA clock last started: NULL = at enqueued_at; set again when the chat goes
    # back to the queue (released, requeued for an idle agent), so a requeued chat is clocked anew.
    sla_clock_started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_agent_reply_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_borrower_msg_at: Mapped[datetime | None] = mapped_column(nullable=True)
    sla_warned_at: Mapped[datetime | None] = mapped_column(nullable=True)
    sla_breached_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The borrower's page was last seen polling or connected (throttled); a waiting chat whose borrower
    # left is closed as abandoned.
    borrower_seen_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The holder has read the chat up to this seq (unread counts); the holder was warned of an idle requeue.
    agent_read_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    idle_warned_at: Mapped[datetime | None] = mapped_column(nullable=True)
    requeue_count: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    resolution_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    # Key customers: their own manager may take the chat first, until `preferred_until`; then anyone.
    preferred_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    preferred_until: Mapped[datetime | None] = mapped_column(nullable=True)


class CallbackTicket(Base):
    """A callback request. `contact` is the masked form shown everywhere; the full contact exists only
    encrypted (`contact_encrypted`, Fernet) and is purged after completion plus the retention period."""

    __tablename__ = "callback_tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    queue_entry_id: Mapped[int | None] = mapped_column(ForeignKey("queue_entries.id"), nullable=True)
    contact_method: Mapped[str] = mapped_column(String(16))  # phone | email
    contact: Mapped[str] = mapped_column(String(128))  # masked before storage
    preferred_time: Mapped[str] = mapped_column(String(128), default="")
    lang: Mapped[str] = mapped_column(String(8), default="en")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | in_progress | done
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reference: Mapped[str | None] = mapped_column(String(24), unique=True, nullable=True)
    contact_encrypted: Mapped[str | None] = mapped_column(Text, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    escalated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    worked_by_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)  # reached | no_answer | ...
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    purged_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Complaint(Base):
    """A complaint or dispute, with a reference, a deadline (15 days, 30 for complex cases), an owner,
    a status and an outcome."""

    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    lang: Mapped[str] = mapped_column(String(8), default="en")
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)  # open | in_progress | resolved
    complex: Mapped[bool] = mapped_column(Boolean, default=False)
    summary: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="detector")  # detector | bot | agent
    owner_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True)
    outcome: Mapped[str | None] = mapped_column(Text, nullable=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column()
    overdue_notified_at: Mapped[datetime | None] = mapped_column(nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)


class WebhookDelivery(Base):
    """One outbound supervisor notification, stored with the change that caused it and sent (signed,
    retried with back-off) by `handoff.infra.webhooks`."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), default="agent")  # agent | supervisor | admin | editor
    team: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)  # the dashboard's team filter
    languages: Mapped[str] = mapped_column(String(32), default="en,zh")  # comma-separated
    max_concurrent: Mapped[int] = mapped_column(Integer, default=3)
    status: Mapped[str] = mapped_column(String(16), default="offline")  # online | away | offline
    last_seen_at: Mapped[datetime | None] = mapped_column(nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(nullable=True)  # set: cannot log in or act
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentSession(Base):
    __tablename__ = "agent_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class Note(Base):
    """A private agent note on a conversation; never shown to the borrower."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Append-only: rows are inserted, never updated or deleted (enforced in `handoff/audit.py`)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_type: Mapped[str] = mapped_column(String(16))  # borrower | bot | agent | system
    actor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(48))
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class LeaderLease(Base):
    """The fencing token of the periodic work's leader (`handoff/infra/leader.py`): each new leader
    increments `token`, and every pass checks it still holds the newest one."""

    __tablename__ = "leader_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    token: Mapped[int] = mapped_column(Integer, default=1)
    holder: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TurnOutcome(Base):
    """What one bot turn ended in, or a "did this help?" answer (`contract.codes.TurnOutcomeKind`).

    Written with the bot's replies (`handoff/conversations/outcomes.py`); read by the dashboard and the
    editors' unanswered-questions report. `question` is the borrower's masked text of that turn."""

    __tablename__ = "turn_outcomes"
    __table_args__ = (Index("ix_turn_outcomes_kind_at", "kind", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    borrower_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    lang: Mapped[str] = mapped_column(String(8), default="en")
    channel: Mapped[str] = mapped_column(String(16), default="web")
    kind: Mapped[str] = mapped_column(String(16))
    faq_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    helped: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    question: Mapped[str] = mapped_column(Text, default="")


class SurveyResponse(Base):
    """The borrower's 1-5 rating (and optional masked comment) after an agent closed the chat; one per
    conversation, since a closed conversation never reopens."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), unique=True)
    queue_entry_id: Mapped[int | None] = mapped_column(ForeignKey("queue_entries.id"), nullable=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), nullable=True, index=True)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    lang: Mapped[str] = mapped_column(String(8), default="en")
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Notification(Base):
    """One borrower notification for the lender's push/SMS/WeChat gateway (`handoff.infra.notifier`):
    status queued -> sent, or failed (retrying) -> dead after NOTIFY_MAX_ATTEMPTS."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event: Mapped[str] = mapped_column(String(48))
    borrower_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(8), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    dead_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)


class Reminder(Base):
    """One repayment reminder (`handoff.reminders`). The unique `idempotency_key` (loan:due date:kind) is
    stored when it is planned, before anything is sent; status planned -> sent | suppressed | expired."""

    __tablename__ = "reminders"
    __table_args__ = (Index("ix_reminders_due", "status", "not_before"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    borrower_id: Mapped[str] = mapped_column(String(64), index=True)
    loan_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(24))
    due_on: Mapped[date] = mapped_column(Date)
    lang: Mapped[str] = mapped_column(String(8), default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    data: Mapped[dict[str, Any]] = mapped_column(JSON)  # the template's placeholders
    status: Mapped[str] = mapped_column(String(12), default="planned")
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)  # why suppressed or expired
    planned_at: Mapped[datetime] = mapped_column(default=utcnow)
    not_before: Mapped[datetime] = mapped_column(default=utcnow)  # quiet hours and caps move it later
    expires_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True, index=True)
    channels: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # {"used": [...]}
    conversation_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    message_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    notification_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class ReminderConsent(Base):
    """A borrower's opt-in or opt-out of one reminder channel, with when and through what it was given."""

    __tablename__ = "reminder_consents"

    borrower_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(32))
