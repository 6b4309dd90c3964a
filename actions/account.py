"""`action_answer_account`: a verified borrower's question about their own loan, answered from the loan
system at any hour; an unverified borrower is told that signing in gets these answers and goes to a
person as before (so does everyone when the service cannot be asked); when the loan system cannot give
the figures the bot says so and offers a person, never a guess.

No figure is put in a slot or a log: the answer text is the only place they appear.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import account_topics as topics
from actions.account_client import AccountClient, AccountUnavailable
from actions.account_format import day, money, percent
from actions.constants import ROUTE_ANSWER, ROUTE_OFFER
from actions.decisions import encode_reason, route_to_handoff
from actions.tracker_view import conversation_lang, latest_turn
from contract.codes import HandoffReason, Trigger
from contract.slots import Slot

REASON_EXPLICIT = HandoffReason.EXPLICIT_REQUEST
TRIGGER_ACCOUNT = Trigger.ACCOUNT_SPECIFIC

log = logging.getLogger(__name__)
LETTER_TOPICS = {topics.TOPIC_LETTER_PAYOFF: "payoff", topics.TOPIC_LETTER_PAID_IN_FULL: "paid_in_full"}


class ActionAnswerAccount(Action):
    def __init__(self, accounts: AccountClient | None = None) -> None:
        self._accounts = accounts

    def name(self) -> str:
        return "action_answer_account"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if self._accounts is None:  # no service to ask: a person answers, as before sign-in existed
            return route_to_handoff(REASON_EXPLICIT, TRIGGER_ACCOUNT)
        text = latest_turn(tracker).text
        topic = topics.account_topic(text)
        lang = conversation_lang(tracker)
        try:
            if topic in LETTER_TOPICS:
                data = await self._accounts.letter(self.name(), conversation_id=tracker.sender_id,
                                                   kind=LETTER_TOPICS[topic])
            else:
                on = topics.payoff_day(text, today=date.today()) if topic == topics.TOPIC_PAYOFF else None
                data = await self._accounts.account(self.name(), conversation_id=tracker.sender_id, payoff_on=on)
        except AccountUnavailable as exc:
            # Without the service we cannot tell whether the borrower signed in: a person answers.
            log.warning("%s: %s", exc.action_name, exc.message)
            return route_to_handoff(REASON_EXPLICIT, TRIGGER_ACCOUNT)
        if not data.get("verified"):
            dispatcher.utter_message(response="utter_account_sign_in_hint")
            return route_to_handoff(REASON_EXPLICIT, TRIGGER_ACCOUNT)
        if not data.get("available"):
            dispatcher.utter_message(response="utter_account_unavailable")
            return [SlotSet(Slot.ROUTE, ROUTE_OFFER),
                    SlotSet(Slot.HANDOFF_REASON, encode_reason(REASON_EXPLICIT, TRIGGER_ACCOUNT))]
        if topic in LETTER_TOPICS:
            _letter(dispatcher, data, topic)
        else:
            _answer(dispatcher, data, topic, lang)
        return [SlotSet(Slot.ROUTE, ROUTE_ANSWER)]


def _letter(dispatcher: CollectingDispatcher, data: dict[str, Any], topic: str) -> None:
    letter = data.get("letter")
    if not letter:
        dispatcher.utter_message(response="utter_account_letter_none")
        return
    dispatcher.utter_message(response=f"utter_account_{topic}", loan=letter["masked_number"])


def _answer(dispatcher: CollectingDispatcher, data: dict[str, Any], topic: str, lang: str) -> None:
    loans = [loan for loan in data.get("loans") or [] if loan.get("status") == "active"]
    payoffs = {quote["loan_id"]: quote for quote in data.get("payoffs") or []}
    if not loans:
        dispatcher.utter_message(response="utter_account_no_loans")
        return
    if topic == topics.TOPIC_PAYOFF and data.get("payoff_error") == "invalid_date":
        dispatcher.utter_message(response="utter_account_payoff_past_day")
    for loan in loans:
        _one_loan(dispatcher, loan, payoffs.get(loan["loan_id"]), topic, lang)


def _one_loan(
    dispatcher: CollectingDispatcher, loan: dict[str, Any], quote: dict[str, Any] | None, topic: str, lang: str
) -> None:
    cur, number = loan["currency"], loan["masked_number"]
    if topic == topics.TOPIC_PAYOFF and quote is None:
        topic = topics.TOPIC_BALANCE
    if topic == topics.TOPIC_PAYOFF and quote is not None:
        dispatcher.utter_message(
            response="utter_account_payoff", loan=number, amount=money(quote["amount"], cur, lang),
            date=day(quote["as_of"], lang), per_diem=money(quote["per_diem"], cur, lang),
        )
    elif topic == topics.TOPIC_LAST_PAYMENT:
        payments = loan.get("last_payments") or []
        if payments:
            dispatcher.utter_message(response="utter_account_last_payment", loan=number,
                                     amount=money(payments[0]["amount"], cur, lang), date=day(payments[0]["posted_on"], lang))
        else:
            dispatcher.utter_message(response="utter_account_no_payments", loan=number)
    elif topic == topics.TOPIC_PAST_DUE:
        if loan["days_past_due"] > 0:
            dispatcher.utter_message(response="utter_account_past_due", loan=number, days=loan["days_past_due"],
                                     amount=money(loan["amount_past_due"], cur, lang))
        else:
            dispatcher.utter_message(response="utter_account_current", loan=number)
    elif topic == topics.TOPIC_AUTOPAY:
        dispatcher.utter_message(response="utter_account_autopay_on" if loan["autopay"] else "utter_account_autopay_off",
                                 loan=number)
    elif topic == topics.TOPIC_RATE:
        dispatcher.utter_message(response="utter_account_rate", loan=number, rate=percent(loan["rate"], lang))
    elif topic in (topics.TOPIC_NEXT_PAYMENT, topics.TOPIC_SUMMARY) and loan.get("next_due_date"):
        dispatcher.utter_message(
            response="utter_account_next_payment_autopay" if loan["autopay"] else "utter_account_next_payment",
            loan=number, amount=money(loan["next_due_amount"], cur, lang), date=day(loan["next_due_date"], lang),
        )
        if topic == topics.TOPIC_SUMMARY:
            _balance(dispatcher, loan, quote, lang)
    elif topic == topics.TOPIC_NEXT_PAYMENT:
        dispatcher.utter_message(response="utter_account_no_next_payment", loan=number)
    else:
        _balance(dispatcher, loan, quote, lang)


def _balance(dispatcher: CollectingDispatcher, loan: dict[str, Any], quote: dict[str, Any] | None, lang: str) -> None:
    cur = loan["currency"]
    if quote is not None:
        dispatcher.utter_message(response="utter_account_balance", loan=loan["masked_number"],
                                 amount=money(loan["balance"], cur, lang), payoff=money(quote["amount"], cur, lang))
    else:
        dispatcher.utter_message(response="utter_account_balance_only", loan=loan["masked_number"],
                                 amount=money(loan["balance"], cur, lang))
