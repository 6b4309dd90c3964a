"""Each dashboard figure on the hand-made Monday of dashboard_fixture.py (real rows, a temporary database).

The expected values are worked out by hand in the comments; nothing is computed by the code under test."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from agent_support import make_settings
from dashboard_fixture import NOW, build
from sqlalchemy import Engine, select, update

from handoff.analytics import dashboard, flow, live, quality, speed, staffing
from handoff.analytics.filters import TEAM_SCOPED, Filters, percentile
from handoff.errors import InvalidInputError
from handoff.infra.clock import FakeClock
from handoff.infra.db import session_scope
from handoff.models import Agent, QueueEntry
from handoff.queue import sla

MONDAY = date(2026, 1, 5)


def monday(lang: str | None = None, channel: str | None = None, team: str | None = None) -> Filters:
    return dashboard.make_filters(start=MONDAY, end=MONDAY, tz="UTC", today=MONDAY, lang=lang, channel=channel,
                                  team=team)


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


def test_first_response_and_breaches_survive_a_requeue(engine: Engine, ids: dict[str, int]) -> None:
    # Alice vanishes: the SLA pass at noon takes c7 back (agent_offline) and its SLA clock starts again. The
    # borrower was still answered at 11:41 (660 s) and the 11:32 breach still happened: the figures keep both.
    run(engine, lambda s: s.execute(update(Agent).where(Agent.id == ids["alice"]).values(status="offline")))
    report = run(engine, lambda s: sla.check(s, clock=FakeClock(NOW), settings=make_settings()))
    assert report.requeued == ["c7"]
    entry = run(engine, lambda s: s.scalars(select(QueueEntry).where(QueueEntry.conversation_id == "c7")).one())
    assert (entry.status, entry.first_agent_reply_at, entry.sla_breached_at) == ("waiting", None, None)
    got = run(engine, lambda s: speed.first_response(s, filters=monday(), sla_s=120))
    assert (got["answered"], got["p50_s"], got["p90_s"], got["breaches"]) == (3, 420.0, 660.0, 3)


def test_team_filter_narrows_the_chats_of_the_teams_agents(engine: Engine, ids: dict[str, int]) -> None:
    # east = Alice: c3 (zh, anger, 120 s to the first reply) and c7 (repeated_fallback, 660 s, breached 11:32).
    east, west = monday(team="east"), monday(team="west")
    assert run(engine, lambda s: flow.handoffs_by_reason(s, filters=east)) == [
        {"reason": "anger", "count": 1}, {"reason": "repeated_fallback", "count": 1}]
    # Nearest rank of [120, 660]: p50 = rank 1, p90 = rank ceil(1.8) = 2.
    assert run(engine, lambda s: speed.first_response(s, filters=east, sla_s=120)) == {
        "sla_s": 120, "answered": 2, "p50_s": 120.0, "p90_s": 660.0, "within_sla": 1, "within_sla_rate": 0.5,
        "breaches": 1}
    # west = Bob: c4 only (420 s, breached).
    assert run(engine, lambda s: speed.first_response(s, filters=west, sla_s=120)) == {
        "sla_s": 120, "answered": 1, "p50_s": 420.0, "p90_s": 420.0, "within_sla": 0, "within_sla_rate": 0.0,
        "breaches": 1}
    # Callbacks: c3's (done, requested Monday) is east's; c4's (in progress, overdue since 11:30) is west's;
    # c9's and c5's belong to conversations no person took.
    assert run(engine, lambda s: flow.callbacks(s, filters=east, now=NOW)) == {
        "open": 0, "overdue": 0, "requested": 1, "overdue_after_h": 24}
    assert run(engine, lambda s: flow.callbacks(s, filters=west, now=NOW)) == {
        "open": 1, "overdue": 1, "requested": 1, "overdue_after_h": 24}
    # Complaints: C-1 (c3, open) is east's; C-3 (c4, resolved, opened Monday) is west's; C-2 (c9) nobody's.
    assert run(engine, lambda s: flow.complaints(s, filters=east, now=NOW)) == {"open": 1, "overdue": 0, "opened": 1}
    assert run(engine, lambda s: flow.complaints(s, filters=west, now=NOW)) == {"open": 0, "overdue": 0, "opened": 1}
    assert run(engine, lambda s: quality.satisfaction(s, filters=east))["average"] == 5.0
    assert run(engine, lambda s: quality.satisfaction(s, filters=west))["average"] == 2.0
    assert [r["name"] for r in run(engine, lambda s: speed.per_agent(s, filters=east))] == ["Alice"]
    assert [r["name"] for r in run(engine, lambda s: speed.per_agent(s, filters=west))] == ["Bob"]


def test_team_filter_on_staffing_counts_the_teams_chats_and_agents(engine: Engine, ids: dict[str, int]) -> None:
    by_slot = {(r["weekday"], r["hour"]): r for r in run(
        engine, lambda s: staffing.by_hour_of_week(s, filters=monday(team="east"), now=NOW))}
    # 09: c3 (waited 60 s = 0.02), Alice online all hour, Bob not counted. 10: c4 is Bob's; Alice until 10:30.
    # 11: c7 waited 11:30-11:40 (600 s = 0.17); c5 and c6 were taken by nobody; Alice away since 10:30.
    assert [(by_slot[(0, h)]["arrivals"], by_slot[(0, h)]["queue_depth"], by_slot[(0, h)]["agents_online"])
            for h in (9, 10, 11)] == [(1, 0.02, 1.0), (0, 0.0, 0.5), (1, 0.17, 0.0)]


def test_team_filter_leaves_what_no_team_owns_alone(engine: Engine, ids: dict[str, int]) -> None:
    # The bot's figures, the live counter and the borrowers who left the queue are the same for any team.
    for team in ("east", "nobody"):
        overview = run(engine, lambda s, t=team: dashboard.overview(s, filters=monday(team=t), now=NOW, sla_s=120))
        assert overview["containment"]["conversations"] == 7 and overview["waiting"]["count"] == 2
        assert overview["abandonment"] == {"handoffs": 5, "abandoned": 1, "rate": 0.2}
        assert overview["helpfulness"]["answers"] == 2 and overview["range"]["team"] == team
        assert overview["teams"] == ["east", "west"] and overview["team_scoped"] == list(TEAM_SCOPED)
    nobody = run(engine, lambda s: dashboard.overview(s, filters=monday(team="nobody"), now=NOW, sla_s=120))
    assert nobody["first_response"]["answered"] == 0 and nobody["agents"] == [] and nobody["handoffs_by_reason"] == []
    assert nobody["satisfaction"]["responses"] == 0 and sum(r["arrivals"] for r in nobody["hours"]) == 0


def test_csv_follows_the_team_filter(engine: Engine, ids: dict[str, int]) -> None:
    text = run(engine, lambda s: dashboard.table_csv(s, name="reasons", filters=monday(team="west"), now=NOW))
    assert text.splitlines() == ["reason,count", "explicit_request,1"]
