"""The supervisors' complaints page in headless Chromium against the real service process (issue 13, item 7):
reached from the console, open and overdue complaints first with the deadline in the business time zone, an
owner assigned and the status moved on, resolving refused until the outcome is written, the conversation
opened in the console from its link, the page closed to agents, and both languages. With COMPLAINT_SHOTS=<dir>
it saves desktop (1366x850) and phone (390x844) screenshots in English and Chinese there."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from service_process import ServiceProcess, create_agent, run_service
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from test_console_inbox_browser import PASSWORD, borrower_says, queued_borrower

from handoff.models import Complaint

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SHOTS = os.environ.get("COMPLAINT_SHOTS")
DESKTOP = {"width": 1366, "height": 850}
PHONE = {"width": 390, "height": 844}
LOOK = "(n) => { const s = getComputedStyle(n); return [s.backgroundColor, s.color, s.opacity]; }"
OFF = ["rgb(238, 241, 244)", "rgb(102, 115, 130)", "1"]  # the console's disabled look (4.3:1 text on its fill)
ON = ["rgb(15, 76, 129)", "rgb(255, 255, 255)", "1"]


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def logged_in(browser: Any, service: ServiceProcess, username: str, *, viewport: dict[str, int],
              locale: str = "en-US") -> Any:
    context = browser.new_context(locale=locale, viewport=viewport)
    page = context.new_page()
    page.goto(f"{service.url}/console")
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#connection[data-state=online]")
    return page


def complain(service: ServiceProcess, lang: str, text: str) -> str:
    conv_id, borrower = queued_borrower(service, lang=lang)
    borrower_says(service, conv_id, borrower, text)
    return conv_id


def make_overdue(service: ServiceProcess, conv_id: str) -> str:
    """Move one complaint's deadline two days into the past, as if 17 days had gone by."""
    engine = create_engine(service.env["DATABASE_URL"])
    try:
        with Session(engine) as session, session.begin():
            complaint = session.scalars(select(Complaint).where(Complaint.conversation_id == conv_id)).one()
            complaint.opened_at -= timedelta(days=17)
            complaint.due_at -= timedelta(days=17)
            return complaint.reference
    finally:
        engine.dispose()


def stored(service: ServiceProcess, reference: str) -> dict[str, Any]:
    login = httpx.post(f"{service.url}/api/agent/login", json={"username": "sue", "password": PASSWORD}, trust_env=False)
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    listed = httpx.get(f"{service.url}/api/agent/supervisor/complaints?which=all", headers=headers, trust_env=False)
    return next(c for c in listed.json()["complaints"] if c["reference"] == reference)


def test_a_supervisor_works_complaints_from_the_console_in_both_languages(browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with run_service(tmp_path / "svc", BUSINESS_TZ="Asia/Shanghai") as service:
        create_agent(service, username="sue", password=PASSWORD, role="supervisor", display_name="Sue Chen")
        create_agent(service, username="ann", password=PASSWORD, display_name="Ann Lee")
        fresh = complain(service, "zh", "我要投诉，这笔滞纳金收得不合理，我已经按时还款了")
        late = complain(service, "en", "I dispute this late fee and I want to file a complaint")
        late_ref = make_overdue(service, late)

        page = logged_in(browser, service, "sue", viewport=DESKTOP)
        expect(page.locator("#complaints-link")).to_be_visible()
        page.click("#complaints-link")
        page.wait_for_url("**/console/complaints")
        cards = page.locator("article.complaint")
        expect(cards).to_have_count(2)
        first = cards.nth(0)
        expect(first).to_have_attribute("data-reference", late_ref)  # the overdue one leads
        expect(first.locator(".badge.overdue")).to_have_text("Overdue")
        due = datetime.fromisoformat(stored(service, late_ref)["due_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
        expect(first.locator("time")).to_contain_text(f"{due.day} {due:%b %Y, %H:%M}")  # in Shanghai time
        expect(first.locator("time")).to_contain_text("GMT+8")
        expect(first.locator(".due.late")).to_have_text("2 days overdue")
        expect(page.locator("#summary")).to_have_text("2 open · 1 overdue")
        expect(page.locator("#tz-note")).to_contain_text("Asia/Shanghai")
        second = cards.nth(1)
        expect(second.locator(".lang-tag")).to_have_text("Chinese")
        expect(second.locator(".badge.overdue")).to_have_count(0)
        fresh_ref = second.get_attribute("data-reference")
        shot(page, "desktop-en")

        expect(second.locator(".due")).to_have_text("15 days left")
        expect(second.locator("button.save")).to_be_disabled()  # nothing to save yet
        assert second.locator("button.save").evaluate(LOOK) == OFF  # plainly disabled, not a faded brand blue
        second.locator("select[name=owner]").select_option(label="Ann Lee")
        assert second.locator("button.save").evaluate(LOOK) == ON
        second.locator("select[name=status]").select_option("in_progress")
        second.locator("button.save").click()
        expect(page.locator("#toast")).to_have_text(f"{fresh_ref} saved.")
        expect(cards.nth(1).locator(".fact", has_text="Owner")).to_contain_text("Ann Lee")
        assert stored(service, fresh_ref)["status"] == "in_progress"

        first.locator("select[name=status]").select_option("resolved")  # no outcome yet: refused in the page
        first.locator("button.save").click()
        expect(page.locator("#toast")).to_have_text(f"Write the outcome before resolving {late_ref}.")
        assert stored(service, late_ref)["status"] == "open"
        first.locator("textarea[name=outcome]").fill("Late fee refunded; apology sent by email.")
        first.locator("button.save").click()
        expect(cards).to_have_count(1)  # resolved: it leaves the open list
        page.select_option("#f-which", "all")
        expect(cards).to_have_count(2)
        expect(cards.nth(1).locator(".badge")).to_have_text(["Resolved"])
        expect(cards.nth(1).locator(".fact.wide")).to_contain_text("Late fee refunded; apology sent by email.")
        assert stored(service, late_ref)["outcome"] == "Late fee refunded; apology sent by email."

        page.click("[data-lang-toggle]")
        expect(page.locator("h1")).to_have_text("投诉")
        expect(page.locator("#summary")).to_have_text("未结 1 件 · 逾期 0 件 · 已解决 1 件")
        expect(cards.nth(0).locator(".badge")).to_have_text(["处理中"])
        shot(page, "desktop-zh-all")
        page.click("[data-lang-toggle]")

        cards.nth(0).locator("a.chat-link").click()  # the conversation, opened in the console
        page.wait_for_url("**/console")
        expect(page.locator("#chat-id")).to_contain_text(fresh[:8])
        shot(page, "console-opened-from-link-desktop-en")

        phone = logged_in(browser, service, "sue", viewport=PHONE, locale="zh-CN")
        expect(phone.locator("#complaints-link")).to_be_visible()
        shot(phone, "console-phone-zh")
        phone.goto(f"{service.url}/console/complaints?")
        phone.select_option("#f-which", "all")
        expect(phone.locator("article.complaint")).to_have_count(2)
        expect(phone.locator("h1")).to_have_text("投诉")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the phone page scrolls sideways ({width}px)"
        shot(phone, "phone-zh")
        phone.click("[data-lang-toggle]")
        expect(phone.locator("h1")).to_have_text("Complaints")
        shot(phone, "phone-en")

        agent = logged_in(browser, service, "ann", viewport=DESKTOP)
        expect(agent.locator("#complaints-link")).to_be_hidden()
        agent.goto(f"{service.url}/console/complaints")
        expect(agent.locator("#notice")).to_have_text("This page is for supervisors and admins.")
        expect(agent.locator("article.complaint")).to_have_count(0)


SHOWN = {"en": "Showing {shown} of {total}", "zh": "已显示 {shown} 件，共 {total} 件"}
MORE = {"en": "Show {n} more", "zh": "再显示 {n} 件"}


def many_complaints(service: ServiceProcess, *, open_: int, resolved: int) -> None:
    """Complaints from real borrower messages (the detector opens them), deadlines spread an hour apart so the
    list's order is the deadline's; the last `resolved` of them resolved a minute apart."""
    for i in range(open_ + resolved):
        complain(service, "zh" if i % 3 == 0 else "en",
                 "我要投诉，这笔滞纳金收得不合理" if i % 3 == 0 else "I dispute this late fee and I want to file a complaint")
    engine = create_engine(service.env["DATABASE_URL"])
    try:
        with Session(engine) as session, session.begin():
            rows = session.scalars(select(Complaint).order_by(Complaint.id)).all()
            for i, complaint in enumerate(rows):
                complaint.due_at -= timedelta(hours=len(rows) - i)
                if i >= open_:
                    complaint.status, complaint.outcome = "resolved", "Fee refunded."
                    complaint.resolved_at = complaint.opened_at + timedelta(minutes=i)
    finally:
        engine.dispose()


def listed_references(service: ServiceProcess, which: str) -> list[str]:
    login = httpx.post(f"{service.url}/api/agent/login", json={"username": "sue", "password": PASSWORD}, trust_env=False)
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    listed = httpx.get(f"{service.url}/api/agent/supervisor/complaints", params={"which": which, "limit": 200},
                       headers=headers, trust_env=False)
    return [c["reference"] for c in listed.json()["complaints"]]


@pytest.mark.parametrize(("lang", "locale", "viewport"), [("en", "en-US", DESKTOP), ("zh", "zh-CN", PHONE)])
def test_the_complaints_page_loads_more_than_a_page_with_the_apis_cursor(
    browser: Any, tmp_path: Path, lang: str, locale: str, viewport: dict[str, int]
) -> None:
    from playwright.sync_api import expect

    with run_service(tmp_path / "svc") as service:
        create_agent(service, username="sue", password=PASSWORD, role="supervisor", display_name="Sue Chen")
        create_agent(service, username="ann", password=PASSWORD, display_name="Ann Lee")
        many_complaints(service, open_=24, resolved=3)
        page = logged_in(browser, service, "sue", viewport=viewport, locale=locale)
        pages: list[str] = []
        page.on("request", lambda r: "/supervisor/complaints?" in r.url and pages.append(r.url))
        page.goto(f"{service.url}/console/complaints")
        cards = page.locator("article.complaint")
        expect(cards).to_have_count(20)  # one page
        expect(page.locator("#summary")).to_contain_text("24")  # the totals are the API's, not the page's
        expect(page.locator("#shown")).to_have_text(SHOWN[lang].format(shown=20, total=24))
        expect(page.locator("#more")).to_have_text(MORE[lang].format(n=4))
        shot(page, f"paging-first-{lang}")
        page.click("#more")
        expect(cards).to_have_count(24)
        expect(page.locator("#more")).to_be_hidden()
        expect(page.locator("#shown")).to_have_text(SHOWN[lang].format(shown=24, total=24))
        shown = [cards.nth(i).get_attribute("data-reference") for i in range(24)]
        assert shown == listed_references(service, "open")  # the pages follow on: nothing twice, nothing lost
        assert "cursor=" not in pages[0] and "cursor=" in pages[-1] and "limit=20" in pages[-1]

        last = cards.nth(23)  # a save on the second page keeps what was loaded
        last.locator("select[name=owner]").select_option(label="Ann Lee")
        last.locator("button.save").click()
        expect(page.locator("#toast")).to_contain_text(shown[23])
        expect(cards.nth(23).locator(".fact", has_text="Ann Lee")).to_have_count(1)
        expect(cards).to_have_count(24)

        page.select_option("#f-which", "all")  # open ones, then the resolved, across the page boundary
        expect(cards).to_have_count(20)
        expect(page.locator("#more")).to_have_text(MORE[lang].format(n=7))
        page.click("#more")
        expect(cards).to_have_count(27)
        assert [cards.nth(i).get_attribute("data-reference") for i in range(27)] == listed_references(service, "all")
        expect(cards.nth(26).locator(".badge").first).to_have_text("Resolved" if lang == "en" else "已解决")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"the page scrolls sideways ({width}px)"
        page.locator("#paging").scroll_into_view_if_needed()
        shot(page, f"paging-all-{lang}")
