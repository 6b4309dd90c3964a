"""The conversation state machine shared by the borrower and the agent side.

A conversation is in exactly one of these states; every change goes through `check_transition`
so that no code path can put a conversation somewhere the design does not allow.
"""

from __future__ import annotations

from enum import StrEnum

from contract.codes import Priority


class ConversationState(StrEnum):
    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    CLOSED = "closed"


class QueueStatus(StrEnum):
    WAITING = "waiting"  # in the queue, nobody holds it
    ASSIGNED = "assigned"  # an agent holds it
    CALLBACK = "callback"  # replaced by a callback ticket; still visible to agents
    DONE = "done"  # closed, handed back to the bot, or the borrower left


# Queue order: lower first.
PRIORITY_RANK = {Priority.URGENT: 0, Priority.HIGH: 1, Priority.NORMAL: 2}


class Sender(StrEnum):
    BORROWER = "borrower"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    EDITOR = "editor"  # FAQ content: the unanswered-questions report only, no chats, no dashboard


ALLOWED_TRANSITIONS: dict[ConversationState, frozenset[ConversationState]] = {
    ConversationState.BOT: frozenset({ConversationState.QUEUED, ConversationState.CLOSED}),
    ConversationState.QUEUED: frozenset(
        {ConversationState.ASSIGNED, ConversationState.BOT, ConversationState.CLOSED}
    ),
    ConversationState.ASSIGNED: frozenset(
        {ConversationState.QUEUED, ConversationState.BOT, ConversationState.CLOSED}
    ),
    ConversationState.CLOSED: frozenset(),
}


class IllegalTransition(Exception):
    """Raised when an operation would move a conversation along an edge the machine does not have."""

    def __init__(self, conversation_id: str, current: str, target: str) -> None:
        super().__init__(f"conversation {conversation_id}: cannot go from {current!r} to {target!r}")
        self.conversation_id = conversation_id
        self.current = current
        self.target = target


def can_transition(current: ConversationState | str, target: ConversationState | str) -> bool:
    return ConversationState(target) in ALLOWED_TRANSITIONS[ConversationState(current)]


def check_transition(conversation_id: str, current: ConversationState | str, target: ConversationState | str) -> None:
    if not can_transition(current, target):
        raise IllegalTransition(conversation_id, str(current), str(target))
