"""Typed errors of the action server; each carries the name of the action that failed."""

from __future__ import annotations


class ActionError(Exception):
    """Base error: `action_name` is reported back to Rasa, the message never contains borrower text."""

    code = "action_failed"

    def __init__(self, action_name: str, message: str) -> None:
        super().__init__(f"{action_name}: {message}")
        self.action_name = action_name
        self.message = message


class KnowledgeBaseUnavailable(ActionError):
    code = "knowledge_base_unavailable"


class ActionTimeout(ActionError):
    code = "action_timeout"
