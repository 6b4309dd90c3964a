"""The actions this server runs, built with their dependencies (no module-level state)."""

from __future__ import annotations

from rasa_sdk import Action

from actions.faq import ActionAnswerFaq
from actions.feedback import ActionDeclineHuman, ActionDefaultFallback, ActionNegativeFeedback
from actions.handoff import ActionHandoff
from actions.kb import KnowledgeBaseProvider
from actions.session import ActionSessionStart


def build_actions(kb: KnowledgeBaseProvider) -> list[Action]:
    return [
        ActionSessionStart(),
        ActionAnswerFaq(kb),
        ActionNegativeFeedback(),
        ActionDeclineHuman(),
        ActionHandoff(),
        ActionDefaultFallback(),
    ]
