"""What a finished borrower turn came to, for the turn-latency metric (`handoff_turn_seconds`)."""

from __future__ import annotations

from typing import Any

from handoff.states import ConversationState, Sender

ANSWERED = "answered"  # the bot answered and stays in charge
FALLBACK = "fallback"  # the bot could not answer: the honest fallback with the offer of a person
HANDOFF = "handoff"  # the bot handed the conversation to the queue in this turn
TO_AGENT = "to_agent"  # a person was already in charge; the message went to them
ERROR = "error"  # the turn raised (rate limit, conflict, database down)


def turn_outcome(result: dict[str, Any]) -> str:
    """One of the names above, read from the turn's result (its messages and the state after it)."""
    messages = result.get("messages") or []
    replies = [m for m in messages if m.get("sender") in (Sender.BOT, Sender.SYSTEM)]
    for message in replies:
        custom = (message.get("payload") or {}).get("custom") or {}
        if isinstance(custom, dict) and custom.get("type") == "bot_unavailable":
            return FALLBACK
    if result.get("state") == ConversationState.BOT:
        return ANSWERED
    return HANDOFF if replies else TO_AGENT
