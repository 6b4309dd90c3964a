"""What an agent reads and writes in a chat: the handoff view, replies, private notes, queue views.

Functions take a session and keyword arguments and are called by the agent routes and WebSocket.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import audit
from handoff.agents import inbox
from handoff.conversations.pushes import AGENT_REPLY, PushContext, queue_live_push
from handoff.conversations.records import append_message, get_conversation, messages_after
from handoff.errors import ForbiddenError, InvalidInputError
from handoff.infra.clock import Clock, as_utc
from handoff.masking import DEFAULT_POLICY, MaskPolicy, mask
from handoff.models import Agent, CallbackTicket, Message, Note, QueueEntry
from handoff.queue import claims
from handoff.queue.entries import ACTIVE_STATUSES, active_entry
from handoff.queue.sla import entry_name, reply_pending_since
from handoff.states import QueueStatus, Sender

MAX_TEXT_CHARS = 4000


def _iso(value: Any) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def agent_dict(agent: Agent, *, load: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": agent.id, "username": agent.username, "display_name": agent.display_name, "role": agent.role,
        "team": agent.team, "languages": agent.languages.split(","), "status": agent.status, "max_concurrent": agent.max_concurrent,
        "last_seen_at": _iso(agent.last_seen_at),
    }
    if load is not None:
        data["load"] = load
    return data


def entry_dict(
    session: Session, entry: QueueEntry, *, clock: Clock, holder: Agent | None = None,
    ticket: CallbackTicket | None = None, preloaded: bool = False,
) -> dict[str, Any]:
    now = clock.now()
    if not preloaded:
        holder = session.get(Agent, entry.assigned_agent_id) if entry.assigned_agent_id is not None else None
        ticket = session.scalars(select(CallbackTicket).where(CallbackTicket.queue_entry_id == entry.id)).first()
    return {
        "id": entry.id,
        "conversation_id": entry.conversation_id,
        "status": entry.status,
        "reason": entry.reason,
        "priority": entry.priority,
        "lang": entry.lang,
        "summary": entry.summary,
        "borrower_name": entry_name(entry),
        "waiting_s": max(0, int((now - as_utc(entry.enqueued_at)).total_seconds())),
        "enqueued_at": _iso(entry.enqueued_at),
        "assigned_agent": None if holder is None else {"id": holder.id, "display_name": holder.display_name},
        "assigned_at": _iso(entry.assigned_at),
        "sla": "breached" if entry.sla_breached_at else ("warning" if entry.sla_warned_at else "ok"),
        "requeue_count": entry.requeue_count,
        "preferred_agent_id": entry.preferred_agent_id,
        "preferred_until": _iso(entry.preferred_until),
        "callback": None if ticket is None else {
            "ticket_id": ticket.id, "contact_method": ticket.contact_method, "contact": ticket.contact,
            "preferred_time": ticket.preferred_time, "status": ticket.status, "reference": ticket.reference,
            "due_at": _iso(ticket.due_at), "escalated": ticket.escalated_at is not None,
            "worked_by_agent_id": ticket.worked_by_agent_id, "outcome": ticket.outcome, "attempts": ticket.attempts,
        },
    }


def queue_view(session: Session, *, agent: Agent, clock: Clock) -> list[dict[str, Any]]:
    """Active entries in queue order (priority, then waiting time). Agents see their languages;
    supervisors see every queue. Each entry carries `last_message` (a preview, or None); the chats
    `agent` holds also carry `unanswered_seqs` (borrower messages after the last answer) and
    `reply_pending_since` (the idle requeue comes AGENT_RESPONSE_TARGET_S after it; None: no reply owed)."""
    languages = None if claims.is_supervisor(agent) else claims.agent_languages(agent)
    return active_entries(session, clock=clock, languages=languages, viewer=agent)


def sees_entry(agent: Agent, entry: dict[str, Any]) -> bool:
    """Whether `agent` sees this `entry_dict` in its queue (the filter of `queue_view`)."""
    return claims.is_supervisor(agent) or entry["lang"] in claims.agent_languages(agent)


def active_entries(
    session: Session, *, clock: Clock, languages: list[str] | None = None, viewer: Agent | None = None
) -> list[dict[str, Any]]:
    """Active entries in queue order, of `languages` only unless None; held chats (only `viewer`'s, when
    given) carry their unanswered messages and reply clock."""
    query = select(QueueEntry).where(QueueEntry.status.in_([str(s) for s in ACTIVE_STATUSES]))
    if languages is not None:
        query = query.where(QueueEntry.lang.in_(languages))
    entries = session.scalars(query.order_by(QueueEntry.priority_rank, QueueEntry.enqueued_at, QueueEntry.id)).all()
    holders = {a.id: a for a in session.scalars(
        select(Agent).where(Agent.id.in_({e.assigned_agent_id for e in entries if e.assigned_agent_id})))}
    tickets = {t.queue_entry_id: t for t in session.scalars(
        select(CallbackTicket).where(CallbackTicket.queue_entry_id.in_(
            [e.id for e in entries if e.status == QueueStatus.CALLBACK])))}
    # The reply clock of held chats; for the shared queue feed (no viewer) of every held chat, since each
    # console picks its own chats out of the same entries.
    held = [e for e in entries if e.status == QueueStatus.ASSIGNED
            and (viewer is None or e.assigned_agent_id == viewer.id)]
    previews = inbox.last_messages(session, conversation_ids=[e.conversation_id for e in entries])
    unanswered = inbox.unanswered_seqs(session, conversation_ids=[e.conversation_id for e in held])
    views = []
    for entry in entries:
        view = entry_dict(session, entry, clock=clock, holder=holders.get(entry.assigned_agent_id or 0),
                          ticket=tickets.get(entry.id), preloaded=True)
        view["last_message"] = previews.get(entry.conversation_id)
        if entry in held:
            view["unanswered_seqs"] = unanswered.get(entry.conversation_id, [])
            view["reply_pending_since"] = _iso(reply_pending_since(entry))
        views.append(view)
    return views


def agents_view(session: Session) -> list[dict[str, Any]]:
    """Every agent with status and current load, for supervisors."""
    return [
        agent_dict(agent, load=claims.load_count(session, agent_id=agent.id))
        for agent in session.scalars(select(Agent).order_by(Agent.username))
    ]


def _latest_entry(session: Session, conversation_id: str) -> QueueEntry | None:
    return session.scalars(
        select(QueueEntry).where(QueueEntry.conversation_id == conversation_id).order_by(QueueEntry.id.desc())
    ).first()


def _check_can_view(session: Session, *, conversation_id: str, agent: Agent) -> QueueEntry | None:
    entry = active_entry(session, conversation_id=conversation_id)
    if claims.is_supervisor(agent):
        return entry
    if entry is not None and entry.status == QueueStatus.ASSIGNED and entry.assigned_agent_id == agent.id:
        return entry
    if entry is not None and entry.status in (QueueStatus.WAITING, QueueStatus.CALLBACK) and (
        entry.lang in claims.agent_languages(agent)
    ):
        return entry  # preview before claiming
    if entry is None:
        latest = _latest_entry(session, conversation_id)
        if latest is not None and latest.assigned_agent_id == agent.id:
            return None  # a chat this agent finished (closed or handed back)
    raise ForbiddenError("you can open chats you hold or that wait in your languages", target_id=conversation_id)


def can_view(session: Session, *, conversation_id: str, agent: Agent) -> None:
    get_conversation(session, conversation_id=conversation_id)
    _check_can_view(session, conversation_id=conversation_id, agent=agent)


WATCH_FORBIDDEN = "forbidden"  # someone else holds it now, or it left this agent's languages
WATCH_FINISHED = "finished"  # closed or handed back to the bot: its transcript stays readable by API


def watch_refusal(session: Session, *, conversation_id: str, agent: Agent) -> str | None:
    """Why this agent may not receive the chat live (None: it may). Live is narrower than `can_view`:
    a chat that is waiting in the agent's languages, held by the agent, or any open chat for a
    supervisor. A finished chat can still be read, but nothing more of it is streamed."""
    get_conversation(session, conversation_id=conversation_id)
    try:
        entry = _check_can_view(session, conversation_id=conversation_id, agent=agent)
    except ForbiddenError:
        return WATCH_FORBIDDEN
    return WATCH_FINISHED if entry is None else None


def chat_detail(session: Session, *, conversation_id: str, agent: Agent, clock: Clock) -> dict[str, Any]:
    """The handoff packet on top, then the full (masked) transcript including the bot's part, and notes."""
    conversation = get_conversation(session, conversation_id=conversation_id)
    entry = _check_can_view(session, conversation_id=conversation_id, agent=agent)
    if entry is None:  # a finished chat: show its latest entry
        entry = _latest_entry(session, conversation_id)
    notes = session.execute(
        select(Note, Agent.display_name).join(Agent, Agent.id == Note.agent_id)
        .where(Note.conversation_id == conversation_id).order_by(Note.id)
    ).all()
    packet = dict(entry.packet or {}) if entry is not None else {}
    packet.pop("transcript", None)  # the live transcript below supersedes the copy taken at handoff
    return {
        "conversation": {"id": conversation.id, "state": conversation.state, "lang": conversation.lang,
                         "channel": conversation.channel, "last_seq": conversation.last_seq},
        "entry": None if entry is None else entry_dict(session, entry, clock=clock),
        "packet": packet,
        "messages": messages_after(session, conversation_id=conversation_id, after=0, limit=10_000),
        "notes": [{"id": n.id, "text": n.text, "agent": name, "created_at": _iso(n.created_at)} for n, name in notes],
        "holder": entry is not None and entry.status == QueueStatus.ASSIGNED and entry.assigned_agent_id == agent.id,
    }


def _clean(text: str, policy: MaskPolicy = DEFAULT_POLICY) -> str:
    text = text.strip()
    if not text:
        raise InvalidInputError("text: must not be empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidInputError(f"text: at most {MAX_TEXT_CHARS} characters")
    return mask(text, policy).text


def reply(
    session: Session, *, conversation_id: str, agent: Agent, text: str, clock: Clock,
    client_message_id: str | None = None, mask_policy: MaskPolicy = DEFAULT_POLICY, push: PushContext | None = None,
) -> Message:
    """An agent message to the borrower; only the holder of the chat may send one. `mask_policy`
    leaves the lender's own numbers readable (an FAQ answer inserted from the console); `push` also pushes
    it to the borrower's devices (handoff.conversations.pushes; a retried client_message_id is not pushed
    again)."""
    entry = claims.held_entry(session, conversation_id=conversation_id, agent=agent, holder_only=True)
    if client_message_id:
        earlier = session.scalars(
            select(Message).where(
                Message.conversation_id == conversation_id, Message.client_message_id == client_message_id
            )
        ).first()
        if earlier is not None:
            return earlier
    message = append_message(
        session, conversation_id=conversation_id, sender=Sender.AGENT, text=_clean(text, mask_policy),
        agent_id=agent.id,
        client_message_id=client_message_id,
    )
    now = clock.now()
    entry.first_agent_reply_at = entry.first_agent_reply_at or now
    entry.answered_at = entry.answered_at or now
    entry.last_agent_reply_at = now
    entry.agent_read_seq = message.seq  # whoever replies has read the chat
    queue_live_push(session, push=push, conversation_id=conversation_id, event=AGENT_REPLY,
                    agent_name=agent.display_name, message=message)
    return message


def add_note(session: Session, *, conversation_id: str, agent: Agent, text: str, clock: Clock) -> Note:
    """A private note, never shown to the borrower; anyone who may open the chat may add one."""
    can_view(session, conversation_id=conversation_id, agent=agent)
    note = Note(conversation_id=conversation_id, agent_id=agent.id, text=_clean(text), created_at=clock.now())
    session.add(note)
    session.flush()
    audit.record(
        session, actor_type="agent", actor_id=agent.id, conversation_id=conversation_id, action="note_added",
        detail={"note_id": note.id},
    )
    return note
