"""Turn outcomes: what each bot turn ended in, and every "did this help?" answer, stored for the reports.

The action server says what a turn decided in a `turn_outcome` custom payload (answer + score, clarify +
options, none + the nearest FAQ, fallback, a negative feedback); a handoff is read from the handoff packet;
a turn Rasa did not answer is `bot_unavailable`. The positive answer to "did this help?" is a quick reply
whose reply is a plain response (no action runs), so the service recognises the pressed button itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from contract.codes import PayloadType, TurnOutcomeKind
from handoff.models import Conversation, TurnOutcome

# The quick replies under an FAQ answer (bot/domain/responses.yml utter_faq_answer).
HELPED_PAYLOADS: Final = frozenset({"/affirm"})
BOT_KINDS: Final = frozenset(TurnOutcomeKind) - {TurnOutcomeKind.FEEDBACK}
MAX_OPTIONS = 10


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _text(value: Any, limit: int = 128) -> str | None:
    return str(value)[:limit] if isinstance(value, str) and value else None


def outcome_payloads(reply: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `turn_outcome` custom payloads of one Rasa reply, in order."""
    found = []
    for element in reply:
        custom = element.get("custom")
        if isinstance(custom, dict) and custom.get("type") == PayloadType.TURN_OUTCOME:
            found.append(custom)
    return found


def previous_bot_outcome(session: Session, *, conversation_id: str) -> TurnOutcome | None:
    """The latest stored outcome of a bot decision in this conversation (what a feedback refers to)."""
    return session.scalars(
        select(TurnOutcome)
        .where(TurnOutcome.conversation_id == conversation_id, TurnOutcome.kind.in_(BOT_KINDS))
        .order_by(TurnOutcome.id.desc())
        .limit(1)
    ).first()


def _feedback(
    session: Session, *, conversation_id: str, lang: str, channel: str, seq: int, helped: bool, now: datetime
) -> TurnOutcome | None:
    """A "did this help?" answer about the previous answer or clarify (nothing to rate: no row)."""
    earlier = previous_bot_outcome(session, conversation_id=conversation_id)
    if earlier is None or earlier.kind not in (TurnOutcomeKind.ANSWER, TurnOutcomeKind.CLARIFY):
        return None
    return TurnOutcome(
        conversation_id=conversation_id, borrower_seq=seq, at=now, lang=lang, channel=channel, kind=TurnOutcomeKind.FEEDBACK, faq_id=earlier.faq_id,
        score=earlier.score, options=earlier.options, helped=helped, question=earlier.question,
    )


def _from_payload(custom: dict[str, Any], base: dict[str, Any]) -> TurnOutcome | None:
    kind = custom.get("outcome")
    if kind not in BOT_KINDS or kind == TurnOutcomeKind.HANDOFF:
        return None
    options = custom.get("options")
    kept = (
        {"faq_ids": [str(o) for o in options[:MAX_OPTIONS] if isinstance(o, str)]}
        if isinstance(options, list) else None
    )
    return TurnOutcome(
        **base, kind=str(kind), faq_id=_text(custom.get("faq_id")), score=_number(custom.get("score")),
        options=kept,
    )


def _from_packet(packet: dict[str, Any], base: dict[str, Any]) -> TurnOutcome:
    candidates = packet.get("faq_candidates")
    tried = candidates[0] if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict) else {}
    return TurnOutcome(
        **base, kind=TurnOutcomeKind.HANDOFF, reason=_text(packet.get("reason"), 32),
        faq_id=_text(tried.get("id")), score=_number(tried.get("score")),
    )


def turn_rows(
    session: Session,
    *,
    conversation_id: str,
    lang: str,
    channel: str,
    borrower_seq: int,
    question: str,
    reply: Sequence[dict[str, Any]] | None,
    packet: dict[str, Any] | None,
    now: datetime,
) -> list[TurnOutcome]:
    """The outcome rows of one bot turn (`question`: the borrower's masked text), not yet added to the
    session. Reads only to rate an earlier answer ("did this help?")."""
    base = {
        "conversation_id": conversation_id, "borrower_seq": borrower_seq, "at": now, "lang": lang,
        "channel": channel, "question": question,
    }
    rows: list[TurnOutcome] = []
    if reply is None:
        rows.append(TurnOutcome(**base, kind=TurnOutcomeKind.BOT_UNAVAILABLE))
    else:
        payloads = outcome_payloads(reply)
        negative = any(p.get("outcome") == TurnOutcomeKind.FEEDBACK and p.get("helped") is False for p in payloads)
        if negative or question.strip() in HELPED_PAYLOADS:
            feedback = _feedback(
                session, conversation_id=conversation_id, lang=lang, channel=channel, seq=borrower_seq,
                helped=not negative, now=now,
            )
            rows.extend([feedback] if feedback is not None else [])
        rows.extend(row for p in payloads if (row := _from_payload(p, base)) is not None)
        if packet is not None:
            rows.append(_from_packet(packet, base))
    return rows


def record_turn(
    session: Session,
    *,
    conversation: Conversation,
    borrower_seq: int,
    question: str,
    reply: Sequence[dict[str, Any]] | None,
    packet: dict[str, Any] | None,
    now: datetime,
) -> list[TurnOutcome]:
    """Store the outcomes of one bot turn (`question`: the borrower's masked text). Returns the rows."""
    rows = turn_rows(
        session, conversation_id=conversation.id, lang=conversation.lang, channel=conversation.channel,
        borrower_seq=borrower_seq, question=question, reply=reply, packet=packet, now=now,
    )
    session.add_all(rows)
    return rows
