"""`action_answer_account` called directly (tracker JSON as Rasa sends it) against the real conversation
service on a free port, with the reference loan system seeded with the demo borrowers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from action_helpers import make_tracker, run, slots_of, user
from loan_support import free_port, serve_app
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from actions.account import ActionAnswerAccount
from actions.account_client import AccountClient
from actions.metrics import ActionMetrics
from handoff.app import create_app
from handoff.config import Settings
from handoff.loans.demo import seed_demo_loans
from handoff.loans.http_adapter import HttpLoanSystem

TOKEN = "test-internal-token"


@pytest.fixture
def service(settings: Settings, engine: Engine) -> Iterator[str]:
    seed_demo_loans(engine)
    app = create_app(settings.model_copy(update={"INTERNAL_API_TOKEN": TOKEN}), engine)
    with serve_app(app) as url:
        yield url


def signed_in(url: str, borrower_id: str | None, lang: str = "en") -> str:
    with httpx.Client(base_url=url, trust_env=False) as client:
        body: dict[str, Any] = {"lang": lang}
        if borrower_id:
            token = client.post("/api/identity/demo/token", json={"borrower_id": borrower_id}).json()["token"]
            body["identity_token"] = token
        created = client.post("/api/conversations", json=body)
        assert created.status_code == 201, created.text
        return str(created.json()["id"])


async def ask(url: str, conversation_id: str, text: str, lang: str, token: str = TOKEN) -> tuple[list[Any], list[Any]]:
    tracker = make_tracker([user(text, "ask_account_specific", lang=lang)])
    tracker.sender_id = conversation_id
    client = AccountClient(base_url=url, token=token, timeout_s=5)
    try:
        return await run(ActionAnswerAccount(client), tracker)
    finally:
        await client.aclose()


def payoff_today(principal: str, rate: str, days: int) -> Decimal:
    p = Decimal(principal)
    return (p + p * Decimal(rate) / 100 / 365 * days).quantize(Decimal("0.01"), ROUND_HALF_UP)


async def test_a_verified_borrower_gets_the_payoff_in_english(service: str) -> None:
    cid = signed_in(service, "demo-alex")
    events, messages = await ask(service, cid, "what's my payoff amount", "en")
    (message,) = messages
    assert message["response"] == "utter_account_payoff"
    assert message["amount"] == f"${payoff_today('14250.00', '6.49', 10):,}"
    assert message["per_diem"] == "$2.53" and message["loan"] == "****8827"
    assert slots_of(events) == {"route": "answer"}  # no figure in any slot


async def test_a_verified_borrower_gets_the_payoff_in_chinese_formatted_for_chinese(service: str) -> None:
    cid = signed_in(service, "demo-wang", lang="zh")
    _, messages = await ask(service, cid, "我现在还清要多少钱", "zh")
    (message,) = messages
    expected = payoff_today("9870.55", "8.9", 42) + Decimal("25.00")
    assert message["response"] == "utter_account_payoff" and message["amount"] == f"US${expected:,}"
    today = date.today()
    assert message["date"] == f"{today.year}年{today.month}月{today.day}日"


@pytest.mark.parametrize(
    ("borrower", "text", "lang", "response", "fields"),
    [
        ("demo-alex", "when is my next payment", "en", "utter_account_next_payment_autopay", {"amount": "$412.37"}),
        ("demo-alex", "did you get my payment", "en", "utter_account_last_payment", {"amount": "$412.37"}),
        ("demo-alex", "how much do I still owe", "en", "utter_account_balance", {"amount": "$14,250.00"}),
        ("demo-wang", "我逾期了吗", "zh", "utter_account_past_due", {"days": 12, "amount": "US$298.10"}),
        ("demo-wang", "我下次还款是哪天", "zh", "utter_account_next_payment", {"amount": "US$298.10"}),
        ("demo-wang", "我的自动扣款设置好了吗", "zh", "utter_account_autopay_off", {"loan": "****3105"}),
        ("demo-chen", "can I get a paid in full letter", "en", "utter_account_letter_paid_in_full",
         {"loan": "****5501"}),
    ],
)
async def test_own_loan_questions_are_answered_from_the_loan_system(
    service: str, borrower: str, text: str, lang: str, response: str, fields: dict[str, Any]
) -> None:
    _, messages = await ask(service, signed_in(service, borrower, lang), text, lang)
    assert messages[0]["response"] == response
    assert {key: messages[0][key] for key in fields} == fields


async def test_a_payoff_on_a_later_day_adds_the_interest_up_to_that_day(service: str) -> None:
    later = date.today() + timedelta(days=20)
    cid = signed_in(service, "demo-alex")
    _, messages = await ask(service, cid, f"what is my payoff on {later.isoformat()}", "en")
    assert messages[0]["amount"] == f"${payoff_today('14250.00', '6.49', 30):,}"


async def test_an_unverified_borrower_is_told_about_sign_in_and_goes_to_a_person(service: str) -> None:
    events, messages = await ask(service, signed_in(service, None), "what's my payoff amount", "en")
    assert [m["response"] for m in messages] == ["utter_account_sign_in_hint"]
    assert slots_of(events)["route"] == "handoff"
    assert slots_of(events)["handoff_reason"] == "explicit_request:account_specific"


async def test_a_caller_without_the_internal_token_reads_nothing(service: str) -> None:
    cid = signed_in(service, "demo-alex")
    events, messages = await ask(service, cid, "what's my payoff amount", "en", token="wrong-token")
    assert messages == [] and slots_of(events)["route"] == "handoff"
    with httpx.Client(base_url=service, trust_env=False) as client:
        assert client.get(f"/internal/conversations/{cid}/account").status_code == 401


async def test_with_the_loan_system_down_the_bot_says_so_and_offers_a_person(
    settings: Settings, engine: Engine
) -> None:
    down = HttpLoanSystem(base_url=f"http://127.0.0.1:{free_port()}", api_key="k", timeout_s=0.5, read_attempts=1)
    app = create_app(settings.model_copy(update={"INTERNAL_API_TOKEN": TOKEN}), engine, loans=down)
    with serve_app(app) as url:
        cid = signed_in(url, "demo-alex")  # signs in without a profile: the lender vouched for the borrower
        events, messages = await ask(url, cid, "what's my payoff amount", "en")
    assert [m["response"] for m in messages] == ["utter_account_unavailable"]
    assert slots_of(events)["route"] == "offer"
    assert not any(ch.isdigit() for m in messages for ch in str(m.get("text") or ""))


async def test_account_look_ups_are_timed_as_the_accounts_adapter(service: str) -> None:
    """actions_adapter_seconds{adapter="accounts"} counts each call to the service, by result."""
    metrics = ActionMetrics()
    cid = signed_in(service, "demo-alex")
    tracker = make_tracker([user("what's my payoff amount", "ask_account_specific", lang="en")])
    tracker.sender_id = cid
    good = AccountClient(base_url=service, token=TOKEN, timeout_s=5, metrics=metrics)
    wrong = AccountClient(base_url=service, token="wrong-token", timeout_s=5, metrics=metrics)
    try:
        await run(ActionAnswerAccount(good), tracker)
        await run(ActionAnswerAccount(wrong), tracker)
    finally:
        await good.aclose()
        await wrong.aclose()
    counts = {
        sample.labels["result"]: sample.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples if sample.name == "actions_adapter_seconds_count"
    }
    assert counts == {"ok": 1, "error": 1}
