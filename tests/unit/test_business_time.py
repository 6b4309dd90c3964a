"""Issue 13, item 5: business time. The SLA clock counts only business hours, borrowers are told the real
next opening, waits read well ("about 2 h 5 min", never "about less than a minute"), the time zone is
named in words in both languages, and BUSINESS_TZ agrees with the hours the FAQs state."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from agent_support import make_agent, make_settings, tx, waiting_chat
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from handoff import texts
from handoff.app import create_app
from handoff.config import Settings
from handoff.conversations import place
from handoff.infra.clock import FakeClock
from handoff.models import Message
from handoff.queue import sla
from handoff.queue.hours import parse_business_hours

ROOT = Path(__file__).resolve().parents[2]
HOURS = "mon-fri 08:00-20:00, sat 09:00-13:00"
NY = "America/New_York"
SETTINGS = make_settings(BUSINESS_HOURS=HOURS, BUSINESS_TZ=NY, SLA_FIRST_REPLY_S=120)
SATURDAY_14_NY = datetime(2026, 1, 10, 19, 0, tzinfo=UTC)  # closed until Monday 08:00 (13:00 UTC)
MONDAY_8_NY = datetime(2026, 1, 12, 13, 0, tzinfo=UTC)


def test_business_seconds_next_opening_and_due_times() -> None:
    hours = parse_business_hours(HOURS, NY)
    friday_18 = datetime(2026, 1, 9, 23, 0, tzinfo=UTC)
    assert hours.business_seconds(friday_18, datetime(2026, 1, 12, 14, 0, tzinfo=UTC)) == 7 * 3600
    assert hours.next_opening(SATURDAY_14_NY) == MONDAY_8_NY
    assert hours.next_opening(MONDAY_8_NY) == MONDAY_8_NY  # open now
    assert hours.add_business_seconds(friday_18, 4 * 3600) == datetime(2026, 1, 10, 16, 0, tzinfo=UTC)
    # The DST change (8 March 2026) moves the opening by an hour in UTC, not in New York.
    assert hours.next_opening(datetime(2026, 3, 7, 19, 0, tzinfo=UTC)) == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    assert parse_business_hours("always", NY).business_seconds(friday_18, MONDAY_8_NY) == 62 * 3600


def test_an_after_hours_chat_breaches_only_after_business_time_has_passed(engine: Engine) -> None:
    clock = FakeClock(SATURDAY_14_NY)
    conv_id, _ = waiting_chat(engine, clock)
    make_agent(engine, clock, "ann")
    clock.set(datetime(2026, 1, 12, 12, 59, tzinfo=UTC))  # 47 hours later, still closed
    report = tx(engine, lambda s: sla.check(s, clock=clock, settings=SETTINGS))
    assert not report.warned and not report.breached
    clock.set(datetime(2026, 1, 12, 13, 1, 31, tzinfo=UTC))  # 91 s into Monday
    assert tx(engine, lambda s: sla.check(s, clock=clock, settings=SETTINGS)).warned == [conv_id]
    clock.set(datetime(2026, 1, 12, 13, 2, 0, tzinfo=UTC))
    assert tx(engine, lambda s: sla.check(s, clock=clock, settings=SETTINGS)).breached == [conv_id]


def test_borrowers_are_told_the_real_next_opening(engine: Engine) -> None:
    clock = FakeClock(SATURDAY_14_NY)
    settings = SETTINGS.model_copy(update={"DATABASE_URL": str(engine.url)})
    with TestClient(create_app(settings, engine, clock=clock)) as client:
        for lang, opening, zone in (("en", "Monday 12 Jan 08:00", "(Eastern Time, US)"),
                                    ("zh", "1月12日 周一 08:00", "（美国东部时间）")):
            created = client.post("/api/conversations", json={"lang": lang}).json()
            auth = {"Authorization": f"Bearer {created['token']}"}
            view = client.post(f"/api/conversations/{created['id']}/handoff", headers=auth).json()
            assert view["opens_at"] == "2026-01-12T13:00:00+00:00"
            assert view["estimated_wait_s"] >= 42 * 3600  # Saturday 14:00 to Monday 08:00, not "about 1 min"
            assert opening in view["wait_text"] and zone in view["wait_text"]
            assert zone in view["business_hours"]
            notices = tx(engine, lambda s, c=created["id"]: s.scalars(
                select(Message.text).where(Message.conversation_id == c, Message.sender == "system")).all())
            assert any(opening in n and zone in n for n in notices), notices


def test_waits_are_formatted_in_hours_and_never_about_less_than_a_minute() -> None:
    assert texts.wait_text(20, "en") == "less than a minute"
    assert texts.wait_text(20, "zh") == "不到 1 分钟"
    assert texts.wait_text(300, "en") == "about 5 min"
    assert texts.wait_text(2 * 3600 + 300, "en") == "about 2 h 5 min"
    assert texts.wait_text(3 * 3600, "zh") == "约 3 小时"
    assert place.WaitStats(pickup_s=60, handling_s=300, slots=1).estimate(
        position=1, waited_s=0, closed_for_s=3600) == 3660


def test_business_tz_agrees_with_the_hours_the_faqs_state() -> None:
    """The English FAQs say "Mon-Fri 8am-8pm, Sat 9am-1pm ET"; the defaults must say the same."""
    stated = set()
    for path in (ROOT / "knowledge_base" / "faq" / "en").glob("*.md"):
        stated |= set(re.findall(r"Mon-Fri (\d+)am-(\d+)pm, Sat (\d+)am-(\d+)pm (ET|CT|PT)", path.read_text()))
    assert stated == {("8", "8", "9", "1", "ET")}
    defaults = Settings()
    assert defaults.BUSINESS_TZ == NY and defaults.BUSINESS_HOURS == HOURS
    chinese = (ROOT / "knowledge_base" / "faq" / "zh" / "contact-agent-zh.md").read_text()
    assert "周一至周五 8:00-20:00、周六 9:00-13:00" in chinese and "美国东部时间" in chinese
