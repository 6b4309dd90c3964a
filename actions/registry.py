"""The actions this server runs, built with their dependencies (no module-level state)."""

from __future__ import annotations

from rasa_sdk import Action

from actions.account import ActionAnswerAccount
from actions.account_client import AccountClient
from actions.faq import ActionAnswerFaq
from actions.feedback import ActionDeclineHuman, ActionDefaultFallback, ActionNegativeFeedback
from actions.handoff import ActionHandoff
from actions.kb import KnowledgeBaseProvider
from actions.session import ActionSessionStart


def build_actions(kb: KnowledgeBaseProvider, accounts: AccountClient | None = None) -> list[Action]:
    """`accounts`: where verified borrowers' account data comes from (None: account questions go to a person)."""
    return [
        ActionSessionStart(),
        ActionAnswerFaq(kb),
        ActionAnswerAccount(accounts),
        ActionNegativeFeedback(),
        ActionDeclineHuman(),
        ActionHandoff(),
        ActionDefaultFallback(),
    ]
