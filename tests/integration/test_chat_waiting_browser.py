"""The borrower's page while waiting, in headless Chromium against the real service process, in English and
Chinese: with nobody on shift the queue panel says when the team is next there (the service's words, never
"about less than a minute"); a number the service refuses is explained in the borrower's language;
once a callback is requested, the page offers no second one (also after a reload
and when the borrower asks for a person again, who is then told the callback's reference)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from service_process import ServiceProcess, run_service

pytestmark = [pytest.mark.integration, pytest.mark.browser]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NEXT_SHIFT = {"en": "when our team is next on shift", "zh": "届时客服上班"}
CONTACT = "+1 212 555 0188"
# A number the service refuses: the dialog says so in the borrower's language, not the service's English.
BAD_NUMBER = {"en": "Please check the phone number", "zh": "请检查手机号码"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    # Open only on the day after tomorrow: closed now, whatever the time of day the test runs.
    closed_day = DAYS[(datetime.now(UTC) + timedelta(days=2)).weekday()]
    with run_service(tmp_path_factory.mktemp("svc"), BUSINESS_HOURS=f"{closed_day} 09:00-17:00",
                     CALLBACK_OFFER_AFTER_S="0") as svc:
        yield svc


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_waiting_shows_the_next_opening_and_one_callback_request_only(
    service: ServiceProcess, browser: Any, lang: str
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(locale="zh-CN" if lang == "zh" else "en-US", viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(f"{service.url}/")
        page.wait_for_function("() => localStorage.getItem('carloan.chat.conversation') !== null")
        page.click("#person-btn")
        detail = page.locator("#queue-detail")
        expect(detail).to_contain_text(NEXT_SHIFT[lang], timeout=10000)
        expect(page.locator("#callback-offer")).to_be_visible()
        assert "less than a minute" not in detail.inner_text() and "不到" not in detail.inner_text()

        page.click("#callback-offer")
        page.fill("#contact", "12")
        page.click("#callback-submit")
        expect(page.locator("#callback-error")).to_contain_text(BAD_NUMBER[lang], timeout=10000)
        assert "contact:" not in page.inner_text("#callback-error")
        page.fill("#contact", CONTACT)
        page.click("#callback-submit")
        # The chat leaves the queue (we call back); the reference is in the confirmation.
        expect(page.locator("#queue-panel")).to_be_hidden(timeout=10000)
        conv = page.evaluate("JSON.parse(localStorage.getItem('carloan.chat.conversation'))")
        view = page.evaluate("""async (c) => (await fetch(`/api/conversations/${c.id}/messages?after=0`,
            { headers: { Authorization: `Bearer ${c.token}` } })).json()""", conv)
        assert view["callback_requested"] is True and view["callback_reference"]
        expect(page.locator(".system .note", has_text=view["callback_reference"])).to_have_count(1)
        offers = page.locator(".quick .chip[data-action='callback']")
        expect(offers.first).to_be_attached()  # the service offered one while nobody was on shift
        for n in range(offers.count()):  # ... and it is spent now
            expect(offers.nth(n)).to_be_disabled()

        page.reload()  # asking for a person again: queued, told the reference, and no second callback offer
        page.click("#person-btn")
        expect(detail).to_contain_text(view["callback_reference"], timeout=10000)
        page.wait_for_timeout(1500)  # the offer's clock ticks every second: it must stay hidden
        expect(page.locator("#callback-offer")).to_be_hidden()
        for n in range(offers.count()):
            expect(offers.nth(n)).to_be_disabled()
    finally:
        context.close()
