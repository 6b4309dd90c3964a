"""The loan-system adapter contract, run against both implementations: the reference one on our tables
and the HTTP adapter talking to a real HTTP server that implements docs/loan-system-api.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from loan_support import API_KEY, TODAY, lender_api, seeded_reference
from sqlalchemy import Engine

from handoff.loans.http_adapter import HttpLoanSystem
from handoff.loans.system import BorrowerNotFound, InvalidLoanRequest, LoanNotFound, LoanSystem


@pytest.fixture(params=["reference", "http"])
def system(request: pytest.FixtureRequest, engine: Engine) -> Iterator[LoanSystem]:
    reference = seeded_reference(engine)
    if request.param == "reference":
        yield reference
        return
    with lender_api(reference) as (url, _app):
        adapter = HttpLoanSystem(base_url=url, api_key=API_KEY, timeout_s=5)
        yield adapter
        adapter.close()


def expected_payoff(principal: str, rate: str, fees: str, days: int) -> Decimal:
    """Actual/365 simple interest on the principal, worked out here independently of the code."""
    p, r = Decimal(principal), Decimal(rate)
    return (p + Decimal(fees) + p * r / 100 / 365 * days).quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_profile_has_name_language_contact_tier_manager_and_time_zone(system: LoanSystem) -> None:
    alex = system.profile("demo-alex")
    assert (alex.name, alex.language, alex.tier, alex.manager) == ("Alex Morgan", "en", "standard", None)
    assert alex.email == "demo-alex@example.com" and alex.phone and alex.time_zone == "America/Los_Angeles"
    chen = system.profile("demo-chen")
    assert (chen.name, chen.language, chen.tier, chen.manager, chen.time_zone) == (
        "陈静", "zh", "vip", "manager", "Asia/Shanghai"
    )


def test_unknown_borrower_is_not_found(system: LoanSystem) -> None:
    with pytest.raises(BorrowerNotFound):
        system.profile("nobody")
    with pytest.raises(BorrowerNotFound):
        system.loans("nobody")


def test_loans_show_masked_numbers_figures_and_the_last_payments_newest_first(system: LoanSystem) -> None:
    (loan,) = system.loans("demo-alex")
    assert loan.masked_number == "****8827" and "00418827" not in repr(loan)
    assert (loan.balance, loan.rate, loan.currency) == (Decimal("14250.00"), Decimal("6.490"), "USD")
    assert (loan.next_due_date, loan.next_due_amount) == (TODAY + timedelta(days=12), Decimal("412.37"))
    assert (loan.days_past_due, loan.amount_past_due, loan.autopay) == (0, Decimal("0.00"), True)
    assert [p.posted_on for p in loan.last_payments] == [TODAY - timedelta(days=d) for d in (18, 48, 79)]
    (wang,) = system.loans("demo-wang")
    assert (wang.days_past_due, wang.amount_past_due, wang.autopay) == (12, Decimal("298.10"), False)
    assert [loan.status for loan in system.loans("demo-chen")] == ["paid_off", "active"]


def test_payoff_today_and_on_a_later_day_with_the_per_diem(system: LoanSystem) -> None:
    today = system.payoff_quote("demo-alex", "L-ALEX-1")
    assert today.as_of == TODAY and today.masked_number == "****8827"
    assert today.amount == expected_payoff("14250.00", "6.49", "0", 10)
    assert today.per_diem == Decimal("2.53")
    later = system.payoff_quote("demo-alex", "L-ALEX-1", on=TODAY + timedelta(days=20))
    assert later.amount == expected_payoff("14250.00", "6.49", "0", 30)
    # the per-diem is rounded to the cent, so 20 of them may be off by up to 20 half-cents
    assert abs(later.amount - today.amount - today.per_diem * 20) <= Decimal("0.10")
    wang = system.payoff_quote("demo-wang", "L-WANG-1")  # late fees are part of the payoff
    assert wang.amount == expected_payoff("9870.55", "8.9", "25.00", 42)


def test_payoff_refuses_a_past_day_and_a_paid_off_loan(system: LoanSystem) -> None:
    with pytest.raises(InvalidLoanRequest):
        system.payoff_quote("demo-alex", "L-ALEX-1", on=TODAY - timedelta(days=1))
    with pytest.raises(InvalidLoanRequest):
        system.payoff_quote("demo-chen", "L-CHEN-1")


@pytest.mark.parametrize("loan_id", ["L-ALEX-1", "L-NONE", "..", "L-ALEX-1/../L-WANG-1"])
def test_a_borrower_never_reaches_another_borrowers_loan(system: LoanSystem, loan_id: str) -> None:
    with pytest.raises((LoanNotFound, InvalidLoanRequest)):
        system.payoff_quote("demo-wang", loan_id)
    with pytest.raises((LoanNotFound, InvalidLoanRequest)):
        system.request_letter("demo-wang", loan_id, kind="payoff", idempotency_key="key-00000001")


def test_letter_requests_are_idempotent_and_paid_in_full_needs_a_paid_off_loan(system: LoanSystem) -> None:
    first = system.request_letter("demo-alex", "L-ALEX-1", kind="payoff", idempotency_key="conv-1:payoff")
    again = system.request_letter("demo-alex", "L-ALEX-1", kind="payoff", idempotency_key="conv-1:payoff")
    other = system.request_letter("demo-alex", "L-ALEX-1", kind="payoff", idempotency_key="conv-2:payoff")
    assert (first.kind, first.status, first.loan_id) == ("payoff", "requested", "L-ALEX-1")
    assert again.request_id == first.request_id != other.request_id
    with pytest.raises(InvalidLoanRequest):
        system.request_letter("demo-alex", "L-ALEX-1", kind="paid_in_full", idempotency_key="conv-1:pif")
    done = system.request_letter("demo-chen", "L-CHEN-1", kind="paid_in_full", idempotency_key="conv-3:pif")
    assert done.kind == "paid_in_full"


def test_reminder_accounts_page_through_the_open_loans_with_what_reminders_need(system: LoanSystem) -> None:
    first = system.reminder_accounts(limit=2)
    rest = system.reminder_accounts(after=first[-1].loan_id, limit=10)
    assert [a.loan_id for a in first + rest] == ["L-ALEX-1", "L-CHEN-2", "L-JORDAN-1", "L-WANG-1"]  # not paid off
    assert system.reminder_accounts(after="L-WANG-1") == []
    wang = rest[-1]
    assert (wang.borrower_id, wang.language, wang.time_zone) == ("demo-wang", "zh", "Asia/Shanghai")
    assert (wang.past_due_since, wang.amount_past_due, wang.autopay) == (
        TODAY - timedelta(days=12), Decimal("298.10"), False)
    assert wang.masked_number == "****3105" and "00733105" not in repr(wang)
    alex = first[0]
    assert (alex.next_due_date, alex.next_due_amount, alex.autopay, alex.past_due_since) == (
        TODAY + timedelta(days=12), Decimal("412.37"), True, None)
    assert alex.autopay_failed_on is None and alex.payoff_letter_ready_on is None


def test_payments_between_two_days_list_every_borrower_oldest_first(system: LoanSystem) -> None:
    found = system.payments_between(start=TODAY - timedelta(days=30), end=TODAY)
    assert [(p.loan_id, p.borrower_id, (TODAY - p.posted_on).days) for p in found] == [
        ("L-JORDAN-1", "demo-jordan", 27), ("L-CHEN-2", "demo-chen", 23), ("L-ALEX-1", "demo-alex", 18)]
    assert found[-1].amount == Decimal("412.37")
    assert system.payments_between(start=TODAY + timedelta(days=1), end=TODAY + timedelta(days=9)) == []
