"""A borrower turn: mask, store, then route - to Rasa while the bot is in charge, else to the agent.

Order of events for one borrower message (one turn per conversation at a time, `TurnLocks`):
1. mask the text; a `client_message_id` seen before returns the earlier result, nothing else;
2. store the masked message (committed, published) before anything is forwarded;
3. in the bot state, ask Rasa; store each reply element as a bot message; a `handoff` element puts
   the conversation in the queue; a failure (timeout, error, `[]`) becomes an honest system
   message with an offer of a person - never silence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contract.codes import HandoffReason, PayloadType
from handoff import texts
from handoff.borrower import queued
from handoff.borrower.handoffs import put_in_queue
from handoff.borrower.masking_tail import mask_next_message
from handoff.borrower.outcome import ERROR, turn_outcome
from handoff.borrower.packets import history, service_packet
from handoff.borrower.replies import visible_replies
from handoff.borrower.views import announced_place, turn_result
from handoff.conversations import outcomes, turn_writes
from handoff.conversations.records import append_message, get_conversation, message_dict
from handoff.conversations.turn_writes import Reply, StoredBorrower
from handoff.errors import BotUnavailableError, ConflictError
from handoff.infra.bus import agent_topic, conversation_topic
from handoff.infra.outbox import publish_after_commit
from handoff.masking import mask, may_continue
from handoff.models import Conversation, Message, QueueEntry
from handoff.queue import callbacks, entries, unread
from handoff.services import Services
from handoff.states import ConversationState, Sender
from handoff.triage.detector import Detection, detect

log = logging.getLogger(__name__)

BOT_TYPING_AFTER_S = 0.3  # a bot answer slower than this shows "typing" meanwhile


def _previous(
    session: Session,
    *,
    conversation_id: str,
    client_message_id: str,
    svc: Services,
    finish_abandoned: bool = False,
) -> dict[str, Any] | None:
    """The result of an earlier turn with this `client_message_id`, or None when there was none.

    `finish_abandoned` (only while holding the turn lock): a message stored without a reply belongs
    to a turn that died half-way - its replica lost the database or stopped after storing it - and
    is completed now instead of being reported "still being processed" to every retry forever."""
    earlier = session.scalars(
        select(Message).where(
            Message.conversation_id == conversation_id, Message.client_message_id == client_message_id
        )
    ).first()
    if earlier is not None and earlier.reply_to_seq is None and finish_abandoned:
        return finish_stuck_turn(session, message=earlier, svc=svc)
    if earlier is None or earlier.reply_to_seq is None:
        return None
    conversation = get_conversation(session, conversation_id=conversation_id)
    return turn_result(
        session, conversation=conversation, first_seq=earlier.seq, last_seq=earlier.reply_to_seq, svc=svc
    )


def finish_stuck_turn(session: Session, *, message: Message, svc: Services) -> dict[str, Any]:
    """End a turn that died after its borrower message was stored. Whether Rasa saw the message is
    unknown, and asking it again could make the bot process it twice, so the turn ends as any
    failed bot turn does: with the honest fallback and the offer of a person."""
    conversation = get_conversation(session, conversation_id=message.conversation_id)
    if conversation.state != ConversationState.BOT:  # a person has taken over since; nothing to add
        message.reply_to_seq = message.seq
        return turn_result(
            session, conversation=conversation, first_seq=message.seq, last_seq=message.seq, svc=svc
        )
    log.warning("conversation %s: finishing turn %s left without a reply", conversation.id, message.seq)
    return _store_replies(
        session, conversation_id=conversation.id, borrower_seq=message.seq, reply=None, svc=svc,
        detected=detect(message.text), question=message.text,
    )


def _store_borrower(
    session: Session, *, conversation_id: str, text: str, client_message_id: str | None, svc: Services
) -> tuple[StoredBorrower, str]:
    """Store the masked borrower message. Returns it and the conversation's state."""
    conversation = get_conversation(session, conversation_id=conversation_id)
    if conversation.state == ConversationState.CLOSED:
        raise ConflictError("this conversation is closed; start a new one", target_id=conversation_id)
    message = append_message(
        session,
        conversation_id=conversation_id,
        sender=Sender.BORROWER,
        text=text,
        client_message_id=client_message_id,
    )
    if conversation.state != ConversationState.BOT:
        message.reply_to_seq = message.seq  # routed to the agent; no bot reply will follow
        session.execute(
            update(QueueEntry)
            .where(
                QueueEntry.conversation_id == conversation_id, QueueEntry.status.in_(entries.ACTIVE_STATUSES)
            )
            .values(last_borrower_msg_at=svc.clock.now())
            .execution_options(synchronize_session=False)  # not loaded in this session
        )
        queued.score_message(session, conversation=conversation, message=message, svc=svc)
        unread.borrower_wrote(session, conversation_id=conversation_id, message=message)
        if conversation.state == ConversationState.ASSIGNED and conversation.assigned_agent_id is not None:
            # The holder's console hears of it even when this chat is not the one open on screen.
            publish_after_commit(
                session,
                agent_topic(conversation.assigned_agent_id),
                {"type": "held_message", "conversation_id": conversation_id, "message": message_dict(message)},
            )
    stored = StoredBorrower(
        seq=message.seq, lang=conversation.lang, channel=conversation.channel, message=message_dict(message)
    )
    return stored, conversation.state


def _store_answer(
    session: Session,
    *,
    conversation_id: str,
    borrower: StoredBorrower,
    replies: list[Reply],
    reply: list[dict[str, Any]],
    question: str,
    svc: Services,
) -> dict[str, Any]:
    """A bot turn without a handoff, written in one statement (`turn_writes`). The turn's messages are the
    ones just written, unless another message (a reminder) came in between: then they are read."""
    seq = borrower.seq
    rows = outcomes.turn_rows(
        session, conversation_id=conversation_id, lang=borrower.lang, channel=borrower.channel, borrower_seq=seq,
        question=question, reply=reply, packet=None, now=svc.clock.now(),
    )
    conversation, shown, read = turn_writes.store_bot_replies(
        session, conversation_id=conversation_id, borrower_seq=seq, replies=replies, outcomes=rows,
        read_along=callbacks.open_callback_columns(),  # what the answer's view shows, in the same statement
    )
    written = [borrower.message, *shown]
    return turn_result(
        session, conversation=conversation, first_seq=seq, last_seq=conversation.last_seq, svc=svc,
        messages=written if conversation.last_seq == seq + len(shown) else None,
        callback=None if read is None else callbacks.open_callback_of(read),
    )


def _queue_without_bot(session: Session, *, conversation: Conversation, detected: Detection,
                       callback: tuple[bool, str | None], svc: Services) -> None:
    """The bot could not answer, but the borrower asked for a person, is upset or complains: queue now."""
    if conversation.state != ConversationState.BOT:
        return
    found = history(session, conversation_id=conversation.id)
    packet = service_packet(
        found, conversation=conversation, reason=str(HandoffReason.BOT_UNAVAILABLE),
        trigger=None if detected.reason is None else str(detected.reason), rasa_turns=[], detected=detected,
    )
    put_in_queue(session, conversation=conversation, packet=packet, svc=svc, notice_key="queued_bot_down",
                 callback=callback, history=found)


def _store_replies(
    session: Session,
    *,
    conversation_id: str,
    borrower_seq: int,
    reply: list[dict[str, Any]] | None,
    svc: Services,
    detected: Detection | None = None,
    question: str = "",
    borrower_message: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A turn's replies (a handoff too), its outcome and result. `borrower_message`: as the first transaction
    stored it (`message_dict`), so that the result need not read the turn's messages back."""
    # The open callback is read along: nothing in this transaction opens or closes one, and both the
    # notice that nobody can pick up and the turn's view show it.
    conversation, callback = callbacks.conversation_with_callback(session, conversation_id=conversation_id)
    lang = conversation.lang
    packet: dict[str, Any] | None = None
    entry: QueueEntry | None = None
    if reply is None and detected is not None and detected.reason is not None:
        _queue_without_bot(session, conversation=conversation, detected=detected, callback=callback, svc=svc)
    elif reply is None:
        turn_writes.append_message(
            session,
            conversation_id=conversation_id,
            sender=Sender.SYSTEM,
            text=texts.text("bot_unavailable", lang),
            payload={
                "buttons": [texts.button("button_person", lang, "handoff")],
                "custom": {"type": PayloadType.BOT_UNAVAILABLE},
            },
        )
    else:
        replies, packet = visible_replies(reply)
        for element in replies:
            turn_writes.append_message(
                session, conversation_id=conversation_id, sender=Sender.BOT, text=element.text,
                payload=element.payload or {},
            )
        said_something = any(element.text for element in replies)
        # The queue entry (and our notices) come after everything the bot said in this turn.
        if packet is not None and conversation.state == ConversationState.BOT:
            entry = put_in_queue(
                session, conversation=conversation, packet=packet, svc=svc, announce=not said_something,
                callback=callback,
            )
    outcomes.record_turn(
        session, conversation=conversation, borrower_seq=borrower_seq, question=question, reply=reply,
        packet=packet, now=svc.clock.now(),
    )
    session.execute(
        update(Message)
        .where(Message.conversation_id == conversation_id, Message.seq == borrower_seq)
        .values(reply_to_seq=conversation.last_seq)
        .execution_options(synchronize_session=False)  # nothing read later needs reply_to_seq in step
    )
    return turn_result(
        session, conversation=conversation, first_seq=borrower_seq, last_seq=conversation.last_seq, svc=svc,
        known_place=announced_place(session, conversation_id=conversation_id), entry=entry, callback=callback,
        known_messages=None if borrower_message is None else [borrower_message],
    )


def _begin_turn(
    session: Session,
    *,
    conversation_id: str,
    text: str,
    raw: str,
    client_message_id: str | None,
    svc: Services,
) -> dict[str, Any] | StoredBorrower:
    """Under the turn lock, in one transaction: the earlier result when this `client_message_id` was
    seen before (a retry); else store the borrower message (`text`: `raw` masked; masked again with
    the borrower's previous messages, `masking_tail`) and either return the turn's result (a person
    is in charge, the message goes to them) or the stored message for the bot to answer."""
    if client_message_id:
        earlier = _previous(
            session, conversation_id=conversation_id, client_message_id=client_message_id, svc=svc,
            finish_abandoned=True,
        )
        if earlier is not None:
            return earlier
    text = mask_next_message(
        session, conversation_id=conversation_id, raw=raw, masked=text, policy=svc.mask_policy
    )
    stored, state = _store_borrower(
        session, conversation_id=conversation_id, text=text, client_message_id=client_message_id, svc=svc
    )
    if state != ConversationState.BOT:  # routed to the agent: the turn ends here
        conversation = get_conversation(session, conversation_id=conversation_id)
        return turn_result(
            session, conversation=conversation, first_seq=stored.seq, last_seq=stored.seq, svc=svc,
            messages=[stored.message],
        )
    return stored


@contextlib.asynccontextmanager
async def _bot_typing(svc: Services, conversation_id: str) -> AsyncIterator[None]:
    """"The assistant is typing" for a bot turn that takes longer than `BOT_TYPING_AFTER_S`; a quicker
    answer arrives without the indicator flickering on and off (and without two extra events)."""
    topic = conversation_topic(conversation_id)
    shown = False

    async def show() -> None:
        nonlocal shown
        await asyncio.sleep(BOT_TYPING_AFTER_S)
        shown = True
        await svc.bus.publish(topic, {"type": "typing", "sender": "bot", "on": True})

    task = asyncio.create_task(show())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        if shown:
            await svc.bus.publish(topic, {"type": "typing", "sender": "bot", "on": False})


async def borrower_message(
    svc: Services, *, conversation_id: str, text: str, client_message_id: str | None
) -> dict[str, Any]:
    """`_borrower_message`, timed by outcome (`handoff_turn_seconds`)."""
    started = time.perf_counter()
    outcome = ERROR
    try:
        with svc.tracer.start_as_current_span("handoff.turn", attributes={"conversation.id": conversation_id}):
            result = await _borrower_message(
                svc, conversation_id=conversation_id, text=text, client_message_id=client_message_id
            )
        outcome = turn_outcome(result)
        return result
    finally:
        svc.metrics.turn_seconds.labels(outcome=outcome).observe(time.perf_counter() - started)


async def _borrower_message(
    svc: Services, *, conversation_id: str, text: str, client_message_id: str | None
) -> dict[str, Any]:
    """Handle one borrower message end to end; returns the stored messages of this turn and the state.

    A retry (same `client_message_id`) waits for the turn lock like any message and then gets the
    earlier result: the first transaction of a turn both checks for the earlier message and stores
    the new one, so a turn costs two write transactions around the Rasa call and nothing more."""
    masked = mask(text, svc.mask_policy).text
    async with svc.locks.hold(conversation_id):
        begun = await _store_first(
            svc, conversation_id=conversation_id, text=masked, raw=text, client_message_id=client_message_id
        )
        if isinstance(begun, dict):
            return begun
        seq, lang, masked = begun.seq, begun.lang, str(begun.message["text"])
        # A message that needs a person anyway gets a shorter budget: a frozen Rasa must not keep a
        # borrower who asked for a person (or is upset) waiting for the full RASA_TIMEOUT_S.
        detected = detect(masked)
        budget = svc.settings.RASA_HANDOFF_BUDGET_S if detected.reason is not None else None
        reply: list[dict[str, Any]] | None
        async with _bot_typing(svc, conversation_id):
            try:
                with svc.tracer.start_as_current_span("rasa.turn"):
                    reply = await svc.rasa.send(
                        conversation_id=conversation_id, text=masked, lang=lang, budget_s=budget
                    )
            except BotUnavailableError as exc:
                log.warning("conversation %s: bot unavailable: %s", conversation_id, exc.message)
                reply = None
        if reply is not None:
            replies, packet = visible_replies(reply)
            if packet is None:  # the common turn: one statement (no handoff, nothing else changes)
                answered = reply
                with contextlib.suppress(IntegrityError):  # the conversation has gone: the ORM path says so
                    return await svc.db(
                        lambda s: _store_answer(
                            s, conversation_id=conversation_id, borrower=begun, replies=replies,
                            reply=answered, question=masked, svc=svc,
                        ),
                        single_statement=True,
                    )
        return await svc.db(
            lambda s: _store_replies(
                s, conversation_id=conversation_id, borrower_seq=seq, reply=reply, svc=svc, detected=detected,
                question=masked, borrower_message=begun.message,
            )
        )


async def _store_first(
    svc: Services, *, conversation_id: str, text: str, raw: str, client_message_id: str | None
) -> dict[str, Any] | StoredBorrower:
    """The first transaction of a turn (`_begin_turn`). In the bot state, when no earlier message is
    re-masked (`may_continue`), one statement (`turn_writes`); a retried `client_message_id` makes it
    fail without writing anything, and the ORM path then finds the earlier turn."""
    if not may_continue(raw):
        try:
            stored = await svc.db(
                lambda s: turn_writes.store_borrower_message(
                    s, conversation_id=conversation_id, text=text, client_message_id=client_message_id
                ),
                single_statement=True,
            )
        except IntegrityError:
            stored = None
        if stored is not None:
            return stored
    try:
        return await svc.db(
            lambda s: _begin_turn(
                s, conversation_id=conversation_id, text=text, raw=raw, client_message_id=client_message_id, svc=svc,
            )
        )
    except IntegrityError:  # the same client_message_id stored by another replica just now
        earlier = await svc.db(
            lambda s: _previous(s, conversation_id=conversation_id, client_message_id=client_message_id or "", svc=svc)
        )
        if earlier is None:
            raise ConflictError(
                "this message is still being processed; retry shortly", target_id=conversation_id
            ) from None
        return earlier
