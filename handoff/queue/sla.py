"""The SLA clock: first-reply warnings and breaches, idle or vanished agents, the callback offer.

`check` runs one pass inside a transaction (all times from the injected clock) and queues the
bus events it causes; `run_forever` repeats it in the service's lifespan. Each step is guarded by a
conditional write or a marker column, so running passes twice (or on two replicas) does nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, undefer

from contract.codes import PayloadType
from handoff import audit
from handoff.conversations import place
from handoff.conversations.records import append_message
from handoff.errors import DATABASE_DOWN_ERRORS
from handoff.infra.bus import AGENTS_TOPIC
from handoff.infra.clock import Clock, as_utc
from handoff.infra.leader import LostLeadership
from handoff.infra.outbox import publish_after_commit
from handoff.infra.webhooks import queue_webhook
from handoff.models import Agent, Conversation, QueueEntry
from handoff.notices import notice
from handoff.queue import callbacks, claims, entries
from handoff.queue.errors import NotAssignedError, NotHolderError
from handoff.queue.hours import BusinessHours, business_hours_of, closed_until
from handoff.services import Services
from handoff.states import PRIORITY_RANK, QueueStatus, Sender
from handoff.texts import button

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 5.0
RANK_PRIORITY = {rank: priority for priority, rank in PRIORITY_RANK.items()}


@dataclass
class SlaReport:
    warned: list[str] = field(default_factory=list)
    breached: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)
    callback_offered: list[str] = field(default_factory=list)
    agents_gone: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any((self.warned, self.breached, self.requeued, self.callback_offered, self.agents_gone))


def _business_elapsed(hours: BusinessHours, entry: QueueEntry, now: datetime) -> timedelta:
    """Business time since the entry's SLA clock started (its enqueue, or its latest requeue)."""
    started = as_utc(entry.sla_clock_started_at or entry.enqueued_at)
    return timedelta(seconds=hours.business_seconds(started, now))


def _conversation_lang(session: Session, conversation_id: str) -> str:
    conversation = session.get(Conversation, conversation_id)
    return conversation.lang if conversation is not None else "en"


def _mark_absent_agents(session: Session, *, clock: Clock, settings: Any, report: SlaReport) -> None:
    cutoff = entries.presence_cutoff(clock, settings)
    for agent in session.scalars(
        select(Agent).where(
            Agent.status != "offline", or_(Agent.last_seen_at.is_(None), Agent.last_seen_at < cutoff)
        )
    ):
        audit.record(
            session, actor_type="system", actor_id=None, conversation_id=None, action="agent_status",
            detail={"agent_id": agent.id, "from": agent.status, "to": "offline", "reason": "not_seen"},
        )
        agent.status = "offline"
        report.agents_gone.append(agent.id)


def reply_pending_since(entry: QueueEntry) -> datetime | None:
    """Since when the holder of an assigned entry owes the borrower a reply: the claim (no reply yet,
    or only the previous holder's), or the borrower's latest message after the holder's last reply;
    None while nothing is owed. The idle requeue comes `AGENT_RESPONSE_TARGET_S` after it."""
    if entry.assigned_at is None:
        return None
    assigned_at = as_utc(entry.assigned_at)
    last_reply = entry.last_agent_reply_at and as_utc(entry.last_agent_reply_at)
    if last_reply is None or last_reply < assigned_at:
        return assigned_at
    borrower = entry.last_borrower_msg_at and as_utc(entry.last_borrower_msg_at)
    return borrower if borrower is not None and borrower > last_reply else None


def _idle_reason(entry: QueueEntry, holder: Agent | None, *, now: datetime, settings: Any) -> str | None:
    """Why the holder of an assigned entry should lose it, or None."""
    if holder is None or holder.status == "offline":
        return "agent_offline"
    pending_since = reply_pending_since(entry)
    if pending_since is not None and now - pending_since >= timedelta(seconds=settings.AGENT_RESPONSE_TARGET_S):
        return "agent_idle"
    return None


def _warn_idle(session: Session, entry: QueueEntry, *, now: datetime, settings: Any) -> None:
    """Once per pending borrower message: tell the holder the chat goes back to the queue soon."""
    pending_since = reply_pending_since(entry)
    if pending_since is None or entry.assigned_agent_id is None:
        return
    target = timedelta(seconds=settings.AGENT_RESPONSE_TARGET_S)
    warned = entry.idle_warned_at and as_utc(entry.idle_warned_at)
    if now - pending_since < target * settings.AGENT_IDLE_WARNING_FRACTION or (warned and warned >= pending_since):
        return
    entry.idle_warned_at = now
    publish_after_commit(session, AGENTS_TOPIC, {
        "type": "idle_warning", "for_agent_id": entry.assigned_agent_id, "conversation_id": entry.conversation_id,
        "entry_id": entry.id, "requeue_at": (pending_since + target).isoformat(),
    })


def _requeue_idle(session: Session, *, clock: Clock, settings: Any, report: SlaReport) -> None:
    now = clock.now()
    for entry in session.scalars(select(QueueEntry).where(QueueEntry.status == QueueStatus.ASSIGNED)).all():
        holder = session.get(Agent, entry.assigned_agent_id) if entry.assigned_agent_id is not None else None
        reason = _idle_reason(entry, holder, now=now, settings=settings)
        if reason is None:
            _warn_idle(session, entry, now=now, settings=settings)
            continue
        former = entry.assigned_agent_id
        try:
            claims.release(
                session, entry_id=entry.id, actor_type="system", actor_id=None,
                holder_id=entry.assigned_agent_id, reason=reason, clock=clock,
            )
        except (NotAssignedError, NotHolderError):
            continue  # changed meanwhile
        lang = _conversation_lang(session, entry.conversation_id)
        append_message(
            session, conversation_id=entry.conversation_id, sender=Sender.SYSTEM,
            text=notice("agent_unavailable", lang), payload={"custom": {"type": PayloadType.REQUEUED, "reason": reason}},
        )
        entry.idle_warned_at = None
        publish_after_commit(session, AGENTS_TOPIC, {
            "type": "chat_requeued", "for_agent_id": former, "conversation_id": entry.conversation_id,
            "entry_id": entry.id, "reason": reason,
        })
        report.requeued.append(entry.conversation_id)


def entry_name(entry: QueueEntry) -> str | None:
    """A signed-in borrower's name from the packet (None for a guest)."""
    borrower = (entry.packet or {}).get("borrower")
    name = borrower.get("name") if isinstance(borrower, dict) else None
    return str(name) if name else None


def _sla_fields(entry: QueueEntry, level: str) -> dict[str, Any]:
    """The `sla` frame's fields, and what a gateway's message needs to be readable: the card's number,
    language, reason and summary, not just a 32-character id."""
    return {"level": level, "conversation_id": entry.conversation_id, "entry_id": entry.id,
            "priority": entry.priority, "lang": entry.lang, "reason": entry.reason,
            "summary": (entry.summary or "")[:200], "label": f"#{entry.id} · {entry.lang} · {entry.reason}",
            "borrower_name": entry_name(entry)}


def _first_reply_clock(session: Session, *, clock: Clock, settings: Any, report: SlaReport) -> None:
    """Warn and breach on business time: a chat that arrives after hours starts its clock at the next
    opening instead of "breaching" 120 s after it arrived."""
    now = clock.now()
    hours = business_hours_of(settings)
    target = timedelta(seconds=settings.SLA_FIRST_REPLY_S)
    warn_after = target * settings.SLA_WARNING_FRACTION
    due = session.scalars(
        select(QueueEntry).where(
            QueueEntry.status.in_([QueueStatus.WAITING, QueueStatus.ASSIGNED]),
            QueueEntry.first_agent_reply_at.is_(None),
            QueueEntry.sla_breached_at.is_(None),
        )
    ).all()
    for entry in due:
        elapsed = _business_elapsed(hours, entry, now)
        if elapsed >= warn_after:
            claims.lock_conversation(session, conversation_id=entry.conversation_id)
            session.refresh(entry)  # as of now that we hold the lock
            if entry.first_agent_reply_at is not None or entry.status not in (QueueStatus.WAITING,
                                                                                QueueStatus.ASSIGNED):
                continue
            elapsed = _business_elapsed(hours, entry, now)  # released meanwhile?
        if elapsed >= target and entry.sla_breached_at is None:
            entry.sla_breached_at = now
            entry.first_breach_at = entry.first_breach_at or now
            entry.sla_warned_at = entry.sla_warned_at or now
            entries.set_priority(entry, RANK_PRIORITY[max(0, entry.priority_rank - 1)])
            audit.record(
                session, actor_type="system", actor_id=None, conversation_id=entry.conversation_id,
                action="sla_breach", detail={"waited_s": int(elapsed.total_seconds()), "priority": entry.priority},
            )
            lang = _conversation_lang(session, entry.conversation_id)
            append_message(
                session, conversation_id=entry.conversation_id, sender=Sender.SYSTEM,
                text=notice("sla_breach", lang), payload={"custom": {"type": PayloadType.SLA_BREACH}},
            )
            publish_after_commit(
                session, AGENTS_TOPIC,
                {"type": "sla", **_sla_fields(entry, "breach")},
            )
            queue_webhook(session, settings=settings, clock=clock, event="sla_breach",
                          data={"type": "sla", **_sla_fields(entry, "breach")})
            report.breached.append(entry.conversation_id)
        elif elapsed >= warn_after and entry.sla_warned_at is None:
            entry.sla_warned_at = now
            audit.record(
                session, actor_type="system", actor_id=None, conversation_id=entry.conversation_id,
                action="sla_warning", detail={"waited_s": int(elapsed.total_seconds())},
            )
            publish_after_commit(
                session, AGENTS_TOPIC, {"type": "sla", **_sla_fields(entry, "warning")}
            )
            queue_webhook(session, settings=settings, clock=clock, event="sla_warning",
                          data={"type": "sla", **_sla_fields(entry, "warning")})
            report.warned.append(entry.conversation_id)


def _offer_callbacks(session: Session, *, clock: Clock, settings: Any, report: SlaReport) -> None:
    now = clock.now()
    offer_after = timedelta(seconds=settings.CALLBACK_OFFER_AFTER_S)
    available: dict[str, bool] = {}
    due = select(QueueEntry).where(
        QueueEntry.status == QueueStatus.WAITING, QueueEntry.enqueued_at <= now - offer_after
    ).options(undefer(QueueEntry.packet))
    for entry in session.scalars(due).all():
        if (entry.packet or {}).get("callback_offered_at") or now - as_utc(entry.enqueued_at) < offer_after:
            continue
        if entry.lang not in available:
            available[entry.lang] = entries.agents_available(session, lang=entry.lang, clock=clock, settings=settings)
        if available[entry.lang]:
            continue
        claims.lock_conversation(session, conversation_id=entry.conversation_id)
        session.refresh(entry)
        if entry.status != QueueStatus.WAITING or callbacks.open_callback(
            session, conversation_id=entry.conversation_id
        ) is not None:
            continue  # a callback request made once is not offered again
        entry.packet = {**(entry.packet or {}), "callback_offered_at": now.isoformat()}
        lang = _conversation_lang(session, entry.conversation_id)
        append_message(
            session, conversation_id=entry.conversation_id, sender=Sender.SYSTEM, text=notice("no_agents", lang),
            payload={"buttons": [button("button_callback", lang, "callback")], "custom": {"type": "callback_offer"}},
        )
        audit.record(
            session, actor_type="system", actor_id=None, conversation_id=entry.conversation_id,
            action="callback_offered",
        )
        report.callback_offered.append(entry.conversation_id)


def check(session: Session, *, clock: Clock, settings: Any) -> SlaReport:
    """One pass of the SLA clock. Order matters: vanished agents first, so their chats are requeued
    in the same pass; requeued chats then count towards the first-reply clock again."""
    report = SlaReport()
    _mark_absent_agents(session, clock=clock, settings=settings, report=report)
    _requeue_idle(session, clock=clock, settings=settings, report=report)
    _first_reply_clock(session, clock=clock, settings=settings, report=report)
    _offer_callbacks(session, clock=clock, settings=settings, report=report)
    if report.changed:
        publish_after_commit(session, AGENTS_TOPIC, {"type": "queue_changed"})
        place.notify_positions(session, clock=clock, opens_at=closed_until(settings, clock.now()))
    return report


def _count(svc: Services, report: SlaReport) -> None:
    events = svc.metrics.sla_events
    for name, items in (("warning", report.warned), ("breach", report.breached), ("requeued", report.requeued),
                        ("callback_offer", report.callback_offered), ("agent_gone", report.agents_gone)):
        if items:
            events.labels(event=name).inc(len(items))


async def run_forever(
    svc: Services, *, interval_s: float = DEFAULT_INTERVAL_S, fence: Callable[[Session], None] | None = None
) -> None:
    """Run `check` every `interval_s` until cancelled; a failing pass is logged and retried.

    `fence` (the leader's, `handoff.infra.leader`) runs first in each pass's transaction and raises
    `LostLeadership` when another replica took over; that ends the loop."""

    def one_pass(session: Session) -> SlaReport:
        if fence is not None:
            fence(session)
        return check(session, clock=svc.clock, settings=svc.settings)

    passes = svc.metrics.periodic_passes
    while True:
        try:
            report = await svc.db(one_pass)
            passes.labels(job="sla", result="ok").inc()
            _count(svc, report)
            if report.changed:
                log.info("sla: %s", report)
        except (asyncio.CancelledError, LostLeadership):
            raise
        except DATABASE_DOWN_ERRORS as exc:  # an outage is expected; one line per pass, not a traceback
            passes.labels(job="sla", result="skipped").inc()
            log.warning("sla pass skipped: database unavailable (%s)", type(exc).__name__)
        except Exception:  # one bad pass must not stop the clock; the next one retries
            passes.labels(job="sla", result="failed").inc()
            log.exception("sla pass failed")
        await asyncio.sleep(interval_s)
