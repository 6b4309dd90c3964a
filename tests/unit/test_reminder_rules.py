"""Issue 16: the reminder rules on their own - which kinds a loan is due on a local day, quiet hours in the
borrower's time zone (a window across midnight, an unknown zone), and the frequency cap's release time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from handoff.loans.types import ReminderAccount
from handoff.reminder_settings import ReminderSettings
from handoff.reminders import timing
from handoff.reminders.kinds import due_reminders, idempotency_key

ALL = ReminderSettings.model_construct().kinds
DUE = date(2026, 12, 10)


def account(**extra: object) -> ReminderAccount:
    values: dict[str, object] = {
        "loan_id": "L-1", "borrower_id": "b", "masked_number": "****0001", "currency": "USD", "language": "en",
        "time_zone": "Asia/Shanghai", "next_due_date": DUE, "next_due_amount": Decimal("100.00"), "autopay": False,
        "past_due_since": None, "amount_past_due": Decimal(0), "autopay_failed_on": None,
        "payoff_letter_ready_on": None, **extra,
    }
    return ReminderAccount(**values)  # type: ignore[arg-type]


def kinds_on(day: date, **extra: object) -> list[str]:
    return [d.kind for d in due_reminders(account(**extra), today=day, due_soon_days=3, kinds=ALL)]


def test_due_soon_from_three_days_before_and_due_today_only_without_autopay() -> None:
    assert kinds_on(DUE - timedelta(days=4)) == []
    assert kinds_on(DUE - timedelta(days=3)) == ["due_soon"] == kinds_on(DUE - timedelta(days=1))
    assert kinds_on(DUE) == ["due_today"]
    assert kinds_on(DUE, autopay=True) == []
    assert kinds_on(DUE + timedelta(days=1)) == []


def test_missed_payments_at_one_and_seven_days_and_the_events() -> None:
    since = date(2026, 11, 30)
    assert kinds_on(since + timedelta(days=1), past_due_since=since, next_due_date=None) == ["missed_1"]
    assert kinds_on(since + timedelta(days=6), past_due_since=since, next_due_date=None) == ["missed_1"]
    assert kinds_on(since + timedelta(days=7), past_due_since=since, next_due_date=None) == ["missed_7"]
    assert kinds_on(since + timedelta(days=14), past_due_since=since, next_due_date=None) == []
    failed = date(2026, 12, 2)
    assert kinds_on(failed, autopay=True, autopay_failed_on=failed, next_due_date=DUE + timedelta(days=20)) == ["autopay_failed"]
    assert kinds_on(failed, autopay=False, autopay_failed_on=failed, next_due_date=DUE + timedelta(days=20)) == []  # autopay since turned off
    assert kinds_on(failed + timedelta(days=6), payoff_letter_ready_on=failed, next_due_date=None) == ["payoff_letter_ready"]
    (due,) = due_reminders(account(past_due_since=since, next_due_date=None), today=since + timedelta(days=7), due_soon_days=3,
                           kinds=ALL)
    assert idempotency_key("L-1", due.about, due.kind) == "L-1:2026-11-30:missed_7"
    assert due.data == {"loan": "****0001", "currency": "USD", "amount_past_due": "0", "past_due_since":
                        "2026-11-30", "days_past_due": "7"}


def test_a_disabled_kind_is_never_due() -> None:
    only = frozenset({"due_today"})
    assert due_reminders(account(), today=DUE - timedelta(days=1), due_soon_days=3, kinds=only) == []


@pytest.mark.parametrize(("utc_hour", "quiet"), [(12, False), (13, True), (23, True), (0, False), (4, False)])
def test_quiet_hours_are_the_borrowers_own_and_wrap_midnight(utc_hour: int, quiet: bool) -> None:
    at = datetime(2026, 12, 1, utc_hour, tzinfo=UTC)  # Shanghai is UTC+8: 20:00, 21:00, 07:00 (+1), 08:00, 12:00
    expected = {12: False, 13: True, 23: True, 0: False, 4: False}[utc_hour]
    assert timing.in_quiet_hours(at, "Asia/Shanghai", start=time(21), end=time(8)) is quiet is expected
    if quiet:
        assert timing.quiet_until(at, "Asia/Shanghai", start=time(21), end=time(8)) == datetime(
            2026, 12, 2, 0, tzinfo=UTC)  # 08:00 in Shanghai
    else:
        assert timing.quiet_until(at, "Asia/Shanghai", start=time(21), end=time(8)) == at


def test_an_unknown_time_zone_counts_as_utc_and_local_days_follow_the_zone() -> None:
    at = datetime(2026, 12, 1, 22, tzinfo=UTC)
    assert timing.in_quiet_hours(at, "Mars/Olympus", start=time(21), end=time(8))
    assert timing.local_day(at, "Asia/Shanghai") == date(2026, 12, 2)
    assert timing.local_day(at, "America/Los_Angeles") == date(2026, 12, 1)
    assert timing.start_of_day(date(2026, 12, 2), "Asia/Shanghai") == datetime(2026, 12, 1, 16, tzinfo=UTC)


def test_the_cap_releases_when_the_oldest_reminder_leaves_the_24_hours() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    sent = [now - timedelta(hours=20), now - timedelta(hours=2)]
    assert timing.cap_until(sent, now=now, max_per_day=3) is None
    assert timing.cap_until(sent, now=now, max_per_day=2) == now + timedelta(hours=4)
    assert timing.cap_until(sent, now=now, max_per_day=1) == now + timedelta(hours=22)
    assert timing.cap_until([now - timedelta(hours=25)], now=now, max_per_day=1) is None
