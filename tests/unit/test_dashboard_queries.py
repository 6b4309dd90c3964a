"""Each dashboard figure on the hand-made Monday of dashboard_fixture.py (real rows, a temporary database).

The expected values are worked out by hand in the comments; nothing is computed by the code under test."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from dashboard_fixture import NOW, build
from sqlalchemy import Engine

from handoff.analytics import dashboard, flow, live, quality, speed, staffing
from handoff.analytics.filters import Filters, percentile
from handoff.errors import InvalidInputError
from handoff.infra.db import session_scope

MONDAY = date(2026, 1, 5)


def monday(lang: str | None = None, channel: str | None = None) -> Filters:
    return dashboard.make_filters(start=MONDAY, end=MONDAY, tz="UTC", today=MONDAY, lang=lang, channel=channel)


@pytest.fixture
def ids(engine: Engine) -> dict[str, int]:
    return build(engine)


def run(engine: Engine, work: Any) -> Any:
    with session_scope(engine) as s:
        return work(s)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([660, 120, 420], 0.5) == 420  # rank ceil(1.5) = 2 of 120, 420, 660
    assert percentile([660, 120, 420], 0.9) == 660  # rank ceil(2.7) = 3
    assert percentile([5.0], 0.9) == 5.0


def test_containment_counts_conversations_where_something_was_said(engine: Engine, ids: dict[str, int]) -> None:
    # c1..c7 on Monday (c8 said nothing, c9 is Sunday); c3..c7 were handed off: 2 of 7 contained.
    got = run(engine, lambda s: flow.containment(s, filters=monday()))
    assert got == {"conversations": 7, "contained": 2, "handed_off": 5, "rate": 0.2857}
    # Chinese only: c3 and c6, both handed off.
    zh = run(engine, lambda s: flow.containment(s, filters=monday(lang="zh")))
    assert zh == {"conversations": 2, "contained": 0, "handed_off": 2, "rate": 0.0}


def test_handoffs_by_reason_most_first(engine: Engine, ids: dict[str, int]) -> None:
    got = run(engine, lambda s: flow.handoffs_by_reason(s, filters=monday()))
    assert got == [{"reason": "explicit_request", "count": 2}, {"reason": "anger", "count": 1},
                   {"reason": "low_confidence", "count": 1}, {"reason": "repeated_fallback", "count": 1}]
    app = run(engine, lambda s: flow.handoffs_by_reason(s, filters=monday(channel="app")))
    assert app == [{"reason": "anger", "count": 1}]


def test_first_response_against_the_sla(engine: Engine, ids: dict[str, int]) -> None:
    # Handoff to first reply: c3 09:00->09:02 = 120 s, c4 10:00->10:07 = 420 s, c7 11:30->11:41 = 660 s.
    # Within 120 s: c3 only. Breaches recorded: c4, c6, c7.
    got = run(engine, lambda s: speed.first_response(s, filters=monday(), sla_s=120))
    assert got == {"sla_s": 120, "answered": 3, "p50_s": 420.0, "p90_s": 660.0, "within_sla": 1,
                   "within_sla_rate": 0.3333, "breaches": 3}


def test_abandonment_and_callbacks(engine: Engine, ids: dict[str, int]) -> None:
    # 5 handoffs, c5 left before anyone answered.
    assert run(engine, lambda s: flow.abandonment(s, filters=monday())) == {
        "handoffs": 5, "abandoned": 1, "rate": 0.2}
    # Open now: c9's (Sunday 09:00, no due date, older than 24 h: overdue), c5's, and c4's being worked (due
    # 11:30: overdue at noon); requested on Monday: c5's, c3's and c4's.
    assert run(engine, lambda s: flow.callbacks(s, filters=monday(), now=NOW)) == {
        "open": 3, "overdue": 2, "requested": 3, "overdue_after_h": 24}
    # Unresolved: C-1 (due in 15 days) and C-2 (due five days before Sunday: overdue); opened on Monday: C-1, C-3.
    assert run(engine, lambda s: flow.complaints(s, filters=monday(), now=NOW)) == {
        "open": 2, "overdue": 1, "opened": 2}
    assert run(engine, lambda s: flow.complaints(s, filters=monday(lang="zh"), now=NOW)) == {
        "open": 1, "overdue": 0, "opened": 1}


def test_satisfaction_and_helpfulness(engine: Engine, ids: dict[str, int]) -> None:
    got = run(engine, lambda s: quality.satisfaction(s, filters=monday()))
    assert got == {"responses": 2, "average": 3.5, "distribution": [
        {"rating": 1, "count": 0}, {"rating": 2, "count": 1}, {"rating": 3, "count": 0}, {"rating": 4, "count": 0},
        {"rating": 5, "count": 1}]}
    helped = run(engine, lambda s: quality.helpfulness(s, filters=monday()))
    assert helped == {"answers": 2, "helped": 1, "rate": 0.5, "faqs": [
        {"faq_id": "late-fee", "answers": 1, "helped": 0, "rate": 0.0},
        {"faq_id": "payoff-quote", "answers": 1, "helped": 1, "rate": 1.0}]}
    assert run(engine, lambda s: quality.bot_outcomes(s, filters=monday())) == [
        {"kind": "answer", "count": 2}, {"kind": "none", "count": 1}]


def test_per_agent_table(engine: Engine, ids: dict[str, int]) -> None:
    # Alice: c3 (taken 09:01, first reply 09:02 = 60 s, closed 09:30 = 1740 s) and c7 (60 s, still open);
    # rated 5. Bob: c4 (10:05 -> 10:07 = 120 s, closed 10:20 = 900 s); rated 2.
    got = run(engine, lambda s: speed.per_agent(s, filters=monday()))
    assert got == [
        {"agent_id": ids["alice"], "name": "Alice", "chats": 2, "first_response_p50_s": 60.0,
         "handle_time_p50_s": 1740.0, "satisfaction": 5.0, "ratings": 1},
        {"agent_id": ids["bob"], "name": "Bob", "chats": 1, "first_response_p50_s": 120.0,
         "handle_time_p50_s": 900.0, "satisfaction": 2.0, "ratings": 1},
    ]


def test_live_counter_of_borrowers_waiting_without_an_answer(engine: Engine, ids: dict[str, int]) -> None:
    # c6 in the queue since 11:50 (600 s); c7 with Alice, who answered at 11:41, but the borrower wrote at 11:55.
    got = run(engine, lambda s: live.unanswered(s, filters=monday(), now=NOW))
    assert got == {"count": 2, "in_queue": 1, "with_agent": 1, "oldest_wait_s": 600,
                   "oldest_entry_id": ids["c6_entry"], "at": NOW.isoformat()}
    english = run(engine, lambda s: live.unanswered(s, filters=monday(lang="en"), now=NOW))
    assert (english["count"], english["oldest_wait_s"]) == (1, 300)


def test_staffing_by_hour_of_week(engine: Engine, ids: dict[str, int]) -> None:
    rows = run(engine, lambda s: staffing.by_hour_of_week(s, filters=monday(), now=NOW))
    assert len(rows) == 168
    by_slot = {(r["weekday"], r["hour"]): r for r in rows}
    # Monday 09: c3 arrived and waited 1 min (60/3600 = 0.017); Alice online all hour, Bob from 09:30.
    assert by_slot[(0, 9)] == {"weekday": 0, "hour": 9, "hours": 1.0, "arrivals": 1, "arrivals_per_hour": 1.0,
                               "queue_depth": 0.02, "agents_online": 1.5}
    # Monday 10: c4 waited 5 min (0.083); Alice until 10:30 (0.5) + Bob (1).
    assert (by_slot[(0, 10)]["arrivals"], by_slot[(0, 10)]["queue_depth"], by_slot[(0, 10)]["agents_online"]) == (
        1, 0.08, 1.5)
    # Monday 11: c5 (3 min), c6 (10 min until now), c7 (10 min) = 1380 s = 0.383; Bob until 11:30.
    assert (by_slot[(0, 11)]["arrivals"], by_slot[(0, 11)]["queue_depth"], by_slot[(0, 11)]["agents_online"]) == (
        3, 0.38, 0.5)
    assert by_slot[(0, 8)]["agents_online"] == 1.0 and by_slot[(0, 8)]["arrivals"] == 0
    assert by_slot[(1, 9)]["hours"] == 0.0 and by_slot[(1, 9)]["queue_depth"] is None  # Tuesday: not in range


def test_hour_of_week_is_counted_in_the_business_time_zone(engine: Engine, ids: dict[str, int]) -> None:
    # Asia/Shanghai is UTC+8: c3's 09:00 UTC arrival is Monday 17:00 there; the range is Shanghai's Monday
    # (Sunday 16:00 UTC to Monday 16:00 UTC), so it still holds every Monday arrival.
    shanghai = dashboard.make_filters(start=MONDAY, end=MONDAY, tz="Asia/Shanghai", today=MONDAY, lang=None,
                                      channel=None)
    rows = run(engine, lambda s: staffing.by_hour_of_week(s, filters=shanghai, now=NOW))
    assert {(r["weekday"], r["hour"]): r["arrivals"] for r in rows if r["arrivals"]} == {
        (0, 17): 1, (0, 18): 1, (0, 19): 3}


def test_filters_refuse_a_backwards_or_huge_range() -> None:
    with pytest.raises(InvalidInputError, match="start date"):
        dashboard.make_filters(start=date(2026, 1, 6), end=MONDAY, tz="UTC", today=MONDAY, lang=None, channel=None)
    with pytest.raises(InvalidInputError, match="at most"):
        dashboard.make_filters(start=date(2024, 1, 1), end=MONDAY, tz="UTC", today=MONDAY, lang=None, channel=None)
    default = dashboard.make_filters(start=None, end=None, tz="UTC", today=MONDAY, lang="", channel=None)
    assert (default.start.date(), default.end.date(), default.lang) == (date(2025, 12, 30), date(2026, 1, 6), None)


def test_every_table_exports_as_csv(engine: Engine, ids: dict[str, int]) -> None:
    agents = run(engine, lambda s: dashboard.table_csv(s, name="agents", filters=monday(), now=NOW))
    assert agents.splitlines() == [
        "agent_id,name,chats,first_response_p50_s,handle_time_p50_s,satisfaction,ratings",
        f"{ids['alice']},Alice,2,60.0,1740.0,5.0,1", f"{ids['bob']},Bob,1,120.0,900.0,2.0,1"]
    for name in dashboard.TABLES:
        text = run(engine, lambda s, n=name: dashboard.table_csv(s, name=n, filters=monday(), now=NOW))
        assert text.count("\r\n") >= 2, name  # a header and at least one row on this day
    with pytest.raises(InvalidInputError, match="table must be one of"):
        run(engine, lambda s: dashboard.table_csv(s, name="secrets", filters=monday(), now=NOW))
