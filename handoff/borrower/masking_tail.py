"""A borrower message that finishes a number begun in their previous messages.

"my card is 4111 1111", then "1111 1111": neither message holds a whole card number, so each alone
is stored as it is. When the new message could continue a number (`masking.may_continue`: it
starts with a digit, `+`, or letters and a digit), the ends of the borrower's last
`masking.TAIL_MESSAGES` messages are read back from the database and masked together with it:
the new message is stored masked, and the part of the number in the earlier message is masked in
place as well.

The tail is the stored (already masked) text, not state kept in the process: every replica sees
the same messages, under the conversation's turn lock, and no raw personal data stays in memory.
What is not undone: Rasa's tracker keeps the earlier part (a fragment, never a whole number), and
screens that already show the earlier message keep showing it until they reload the transcript.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from handoff.masking import TAIL_MESSAGES, MaskPolicy, mask_continuing, may_continue
from handoff.models import Message
from handoff.states import Sender


def mask_next_message(
    session: Session, *, conversation_id: str, raw: str, masked: str, policy: MaskPolicy
) -> str:
    """The text to store for a new borrower message (`masked`: `raw` masked alone). Re-masks the
    earlier messages in this transaction when a number runs from one of them into `raw`."""
    if not may_continue(raw):
        return masked
    rows = session.execute(
        select(Message.seq, Message.text)
        .where(Message.conversation_id == conversation_id, Message.sender == Sender.BORROWER)
        .order_by(Message.seq.desc())
        .limit(TAIL_MESSAGES)
    ).all()
    if not rows:
        return masked
    rows = rows[::-1]
    result = mask_continuing(raw, earlier=[text for _, text in rows], policy=policy)
    for (seq, before), after in zip(rows, result.earlier, strict=True):
        if after != before:
            session.execute(
                update(Message)
                .where(Message.conversation_id == conversation_id, Message.seq == seq)
                .values(text=after)
            )
    return result.masked.text
