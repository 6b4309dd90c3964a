"""Conversation-level frustration: repeated negative turns, even when no single one is angry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from actions.constants import INTENT_ANGER, INTENT_DENY, INTENT_NEGATIVE_FEEDBACK
from actions.tracker_view import UserTurn

# Mirrors bot/anger.py NEGATIVE_THRESHOLD: a message this angry counts as a negative turn.
NEGATIVE_TURN_SCORE: Final = 0.25
# A turn whose intent is a complaint about the bot adds this much on top of its anger score.
NEGATIVE_INTENT_BONUS: Final = 0.4
NEGATIVE_INTENTS: Final = frozenset({INTENT_NEGATIVE_FEEDBACK, INTENT_ANGER, INTENT_DENY})
WINDOW: Final = 5
FRUSTRATION_THRESHOLD: Final = 1.0
MIN_NEGATIVE_TURNS: Final = 2


def turn_negativity(turn: UserTurn) -> float:
    bonus = NEGATIVE_INTENT_BONUS if turn.intent in NEGATIVE_INTENTS else 0.0
    return min(1.0, turn.anger_score + bonus)


def frustration_score(turns: Sequence[UserTurn]) -> float:
    """Sum of the negativity of the last WINDOW turns (0 for a calm conversation)."""
    return round(sum(turn_negativity(t) for t in turns[-WINDOW:]), 3)


def is_frustrated(turns: Sequence[UserTurn]) -> bool:
    recent = turns[-WINDOW:]
    negative = sum(1 for t in recent if turn_negativity(t) >= NEGATIVE_TURN_SCORE)
    return negative >= MIN_NEGATIVE_TURNS and frustration_score(recent) >= FRUSTRATION_THRESHOLD
