"""Finishes borrower messages whose bot turn died - the replica crashed or lost the database between
storing the message and storing the bot's reply - so that the borrower gets the honest fallback (or a
person, when the local detector hears one asked for) without having to retry from the page.

A turn holds the conversation's turn lock for its whole life, and a message is only "stuck" when it has
had no reply for STUCK_TURN_AFTER_S; the sweeper then takes the same lock and finishes it exactly as a
client retry would (`turns.finish_stuck_turn`), so a live turn and the sweeper never both answer.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff.borrower.turns import finish_stuck_turn
from handoff.errors import DATABASE_DOWN_ERRORS
from handoff.models import Message
from handoff.services import Services
from handoff.states import Sender

log = logging.getLogger(__name__)
BATCH = 50
DEFAULT_INTERVAL_S = 10.0


def _stuck(session: Session, *, svc: Services) -> list[tuple[str, int]]:
    cutoff = svc.clock.now() - timedelta(seconds=svc.settings.STUCK_TURN_AFTER_S)
    rows = session.execute(
        select(Message.conversation_id, Message.id).where(
            Message.sender == Sender.BORROWER, Message.reply_to_seq.is_(None), Message.created_at <= cutoff
        ).order_by(Message.id).limit(BATCH)
    ).all()
    return [(conversation_id, message_id) for conversation_id, message_id in rows]


def _finish(session: Session, *, message_id: int, svc: Services) -> bool:
    message = session.get(Message, message_id)
    if message is None or message.reply_to_seq is not None:  # answered meanwhile
        return False
    finish_stuck_turn(session, message=message, svc=svc)
    return True


async def sweep_once(svc: Services) -> int:
    """Finish every stuck message found now; returns how many were finished."""
    finished = 0
    for conversation_id, message_id in await svc.db(lambda s: _stuck(s, svc=svc), write=False):

        def finish(session: Session, message_id: int = message_id) -> bool:
            return _finish(session, message_id=message_id, svc=svc)

        async with svc.locks.hold(conversation_id):
            if await svc.db(finish):
                finished += 1
                log.warning("conversation %s: swept message %s whose bot turn died", conversation_id, message_id)
    return finished


async def run_forever(svc: Services, *, interval_s: float = DEFAULT_INTERVAL_S) -> None:
    while True:
        try:
            await sweep_once(svc)
        except asyncio.CancelledError:
            raise
        except DATABASE_DOWN_ERRORS as exc:
            log.warning("sweep skipped: database unavailable (%s)", type(exc).__name__)
        except Exception:  # one bad pass must not stop the sweeper; the next one retries
            log.exception("sweep failed")
        await asyncio.sleep(interval_s)
