"""The console's layout in headless Chromium against the real service process, in English and Chinese: the
top bar is one row on a desktop (1280x800) and two at most on a phone (390x844), nothing in it wraps, and the
secondary controls (alerts, sound, shortcuts, language, log out) sit in the account menu; the handoff packet
lists the FAQs the bot tried one per line, with the title, whether the bot answered with it, and the score."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import httpx
import pytest
from service_process import ServiceProcess, create_agent, run_service
from sqlalchemy import select

from handoff.conversations.records import append_message
from handoff.infra.db import make_engine, session_scope
from handoff.models import QueueEntry

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PASSWORD = "console-test-password"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LOCALES = {"en": "en-US", "zh": "zh-CN"}
FAQS = {  # what the bot tried, most recent last as actions/packet.py merges them; the first one it answered with
    "en": [("grace-period", "Is there a grace period after my due date?", 0.6418),
           ("payoff-good-through-date", "What happens if my payoff quote expires before I pay?", 0.3871),
           ("late-fee", "How much is the late fee?", 0.8123)],
    "zh": [("prepayment-penalty-zh", "提前还款要收违约金或手续费吗？", 0.553),
           ("late-fee-grace-period-zh", "逾期了会收滞纳金吗？有没有宽限期？", 0.7712)],
}
ANSWERED = {"en": "late-fee", "zh": "late-fee-grace-period-zh"}
TAG = {"en": "answered", "zh": "已回答"}

# The bar's rows (its items grouped by their top edge) and any text in it that runs over more than one line.
BAR = """() => {
  const bar = document.querySelector('.topbar');
  const items = [...bar.querySelectorAll('.top-title, .top-links a, .status-select, .menu-button')]
    .filter((n) => n.getClientRects().length);
  const tops = items.map((n) => n.getBoundingClientRect().top).sort((a, b) => a - b);
  const rows = tops.filter((top, i) => i === 0 || top - tops[i - 1] > 12).length;
  const wrapped = [...bar.querySelectorAll('h1, #connection, .top-links a, .status-select > span, #me-name, #me-role')]
    .filter((n) => n.getClientRects().length && n.textContent.trim())
    .filter((n) => { const r = document.createRange(); r.selectNodeContents(n); return r.getClientRects().length > 1; })
    .map((n) => n.id || n.className || n.tagName);
  const right = Math.max(...items.map((n) => n.getBoundingClientRect().right));
  return { rows, wrapped, right, height: bar.getBoundingClientRect().height, scroll: document.documentElement.scrollWidth };
}"""


def waiting_with_faqs(service: ServiceProcess, lang: str, *, candidates: bool = True) -> str:
    """A borrower the bot answered with an FAQ, then handed over; the packet carries the FAQs it tried."""
    created = httpx.post(f"{service.url}/api/conversations", json={"lang": lang}, trust_env=False).json()
    answered = next(f for f in FAQS[lang] if f[0] == ANSWERED[lang])
    engine = make_engine(service.env["DATABASE_URL"])
    try:
        with session_scope(engine) as session:
            append_message(session, conversation_id=created["id"], sender="bot", text="…", payload={"custom": {
                "type": "faq_answer", "faq_id": answered[0], "title": answered[1],
                "source": f"knowledge_base/faq/{lang}/{answered[0]}.md"}})
        response = httpx.post(f"{service.url}/api/conversations/{created['id']}/handoff", json={}, trust_env=False,
                              headers={"Authorization": f"Bearer {created['token']}"})
        assert response.status_code == 200, response.text
        if candidates:
            with session_scope(engine) as session:
                entry = session.scalars(select(QueueEntry).where(QueueEntry.conversation_id == created["id"])).one()
                entry.packet = {**entry.packet, "faq_candidates": [
                    {"id": i, "title": title, "score": score, "source": f"knowledge_base/faq/{lang}/{i}.md"}
                    for i, title, score in FAQS[lang]]}
    finally:
        engine.dispose()
    return str(created["id"])


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with run_service(tmp_path_factory.mktemp("svc")) as svc:
        create_agent(svc, username="sue", password=PASSWORD, role="supervisor", display_name="Sue Chen")
        create_agent(svc, username="lin", password=PASSWORD, display_name="林晓")
        # The chat's actions test logs in six times: a name of its own, under the per-username login limit.
        create_agent(svc, username="max", password=PASSWORD, role="supervisor", display_name="Max Lee")
        yield svc


def console(browser: Any, service: ServiceProcess, username: str, lang: str, viewport: dict[str, int]) -> Any:
    page = browser.new_context(locale=LOCALES[lang], viewport=viewport).new_page()
    page.goto(f"{service.url}/console")
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#connection[data-state=online]")
    return page


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(("size", "viewport", "max_rows"), [("desktop", DESKTOP, 1), ("phone", PHONE, 2)])
@pytest.mark.parametrize("username", ["sue", "lin"])
def test_the_top_bar_is_one_row_on_a_desktop_and_two_at_most_on_a_phone(
    service: ServiceProcess, browser: Any, lang: str, size: str, viewport: dict[str, int], max_rows: int, username: str
) -> None:
    from playwright.sync_api import expect

    page = console(browser, service, username, lang, viewport)
    supervisor = username == "sue"
    links = page.locator(".top-links a:visible")
    expect(links).to_have_count(3 if supervisor else 0)
    bar = page.evaluate(BAR)
    assert bar["rows"] <= (max_rows if supervisor else 1), bar  # an agent has no pages' row
    assert bar["wrapped"] == [] and bar["right"] <= viewport["width"] and bar["scroll"] <= viewport["width"], bar
    assert bar["height"] <= 56 * bar["rows"], bar  # the old phone bar was three rows, 183 px
    assert page.is_visible("#me-name") == (size == "desktop")  # a phone shows the avatar only
    expect(page.locator("#me-avatar")).to_have_text("SC" if supervisor else "林")
    for control in ("#logout", "#sound-toggle", "#help-open", "#top-menu [data-lang-toggle]"):
        expect(page.locator(control)).to_be_hidden()  # behind the menu

    page.click("#menu-button")
    expect(page.locator("#menu-button")).to_have_attribute("aria-expanded", "true")
    panel = page.locator("#top-menu").bounding_box()
    assert panel is not None and panel["x"] >= 0 and panel["x"] + panel["width"] <= viewport["width"]
    expect(page.locator("#logout")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#top-menu")).to_be_hidden()
    expect(page.locator("#menu-button")).to_have_attribute("aria-expanded", "false")

    page.click("#menu-button")
    page.click("#sound-toggle")  # an item that was used closes the menu
    expect(page.locator("#top-menu")).to_be_hidden()
    expect(page.locator("#sound-toggle")).to_have_attribute("aria-pressed", "true")
    page.click("#menu-button")
    page.click("#top-menu [data-lang-toggle]")  # the other language fits the same way
    other = "zh" if lang == "en" else "en"
    expect(page.locator(".topbar h1")).to_have_text("客服工作台" if other == "zh" else "Agent console")
    bar = page.evaluate(BAR)
    assert bar["rows"] <= (max_rows if supervisor else 1) and bar["wrapped"] == [], bar
    page.click("#menu-button")
    page.mouse.click(5, viewport["height"] - 5)  # a click elsewhere closes it
    expect(page.locator("#top-menu")).to_be_hidden()
    page.click("#menu-button")
    page.click("#logout")
    expect(page.locator("#login-view")).to_be_visible()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_faqs_tried_are_one_per_line_with_title_outcome_and_score(
    service: ServiceProcess, browser: Any, lang: str, viewport: dict[str, int]
) -> None:
    from playwright.sync_api import expect

    conv_id = waiting_with_faqs(service, lang)
    page = console(browser, service, "sue", lang, viewport)
    page.locator(f"li.entry[data-conversation-id='{conv_id}']").click()
    rows = page.locator("#packet-faqs li.faq-row")
    expected = sorted(FAQS[lang], key=lambda f: (f[0] != ANSWERED[lang], -f[2]))  # answered first, then by score
    expect(rows).to_have_count(len(expected))
    expect(rows.locator(".faq-title")).to_have_text([title for _, title, _ in expected])
    expect(rows.locator(".faq-value")).to_have_text([f"{score:.2f}" for _, _, score in expected])
    expect(rows.nth(0).locator(".faq-tag")).to_have_text(TAG[lang])
    expect(page.locator("#packet-faqs .faq-tag")).to_have_count(1)
    assert "(" not in page.inner_text("#packet-faqs")  # no "title (0.81)" run together any more
    boxes = [rows.nth(i).bounding_box() for i in range(len(expected))]
    for above, below in pairwise(boxes):
        assert above is not None and below is not None and below["y"] >= above["y"] + above["height"] - 1  # one per line
    for i in range(len(expected)):  # title, outcome and score share their row, inside the packet
        row = boxes[i]
        assert row is not None
        for part in (".faq-title", ".faq-score"):
            box = rows.nth(i).locator(part).bounding_box()
            assert box is not None and row["y"] <= box["y"] and box["y"] + box["height"] <= row["y"] + row["height"] + 1
            assert box["x"] + box["width"] <= row["x"] + row["width"] + 1
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


def test_a_handoff_without_candidates_lists_the_faq_answered_without_a_score(service: ServiceProcess, browser: Any) -> None:
    from playwright.sync_api import expect

    conv_id = waiting_with_faqs(service, "en", candidates=False)  # the button path: the service's own packet
    page = console(browser, service, "sue", "en", DESKTOP)
    page.locator(f"li.entry[data-conversation-id='{conv_id}']").click()
    rows = page.locator("#packet-faqs li.faq-row")
    expect(rows).to_have_count(1)
    expect(rows.locator(".faq-title")).to_have_text("How much is the late fee?")
    expect(rows.locator(".faq-tag")).to_have_text("answered")
    expect(rows.locator(".faq-value")).to_have_count(0)


# The open chat's action controls: their rows (grouped by top edge), any button whose label wraps, and whether
# one runs past the chat's column.
ACTIONS = """() => {
  const bar = document.querySelector('#chat .chat-actions');
  const items = [...bar.children].filter((n) => n.id !== 'chat-more-panel' && n.getClientRects().length);
  const tops = items.map((n) => n.getBoundingClientRect().top).sort((a, b) => a - b);
  const rows = tops.filter((top, i) => i === 0 || top - tops[i - 1] > 12).length;
  const wrapped = [...bar.querySelectorAll('button')].filter((n) => n.getClientRects().length)
    .filter((n) => n.getBoundingClientRect().height > 40).map((n) => n.id);
  const right = Math.max(...items.map((n) => n.getBoundingClientRect().right));
  return { rows, wrapped, past: right - document.querySelector('#chat').getBoundingClientRect().right };
}"""
LOOK = "(id) => { const s = getComputedStyle(document.getElementById(id)); return [s.backgroundColor, s.opacity]; }"
OFF = ["rgb(238, 241, 244)", "1"]  # the console's one disabled look (console.css --off-bg), not a faded colour
BRAND = ["rgb(15, 76, 129)", "1"]
WIDE = {"width": 1440, "height": 900}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(("viewport", "max_rows"), [(DESKTOP, 1), (WIDE, 1), (PHONE, 2)], ids=["1280", "1440", "phone"])
def test_the_chats_actions_are_one_row_on_a_desktop_and_the_rest_sit_behind_more(
    service: ServiceProcess, browser: Any, lang: str, viewport: dict[str, int], max_rows: int
) -> None:
    from playwright.sync_api import expect

    conv_id = waiting_with_faqs(service, lang)
    page = console(browser, service, "max", lang, viewport)
    page.locator(f"li.entry[data-conversation-id='{conv_id}']").click()
    expect(page.locator("#claim-this")).to_be_visible()
    for state in ("waiting", "held"):
        actions = page.evaluate(ACTIONS)
        assert actions["rows"] <= max_rows and actions["wrapped"] == [] and actions["past"] <= 1, (state, actions)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        for control in ("#resolution", "#close", "#chat-more"):
            expect(page.locator(control)).to_be_visible()
        if state == "waiting":  # not this supervisor's chat yet: the operations are there, plainly disabled
            expect(page.locator("#close")).to_be_disabled()
            assert page.evaluate(LOOK, "close") == OFF and page.evaluate(LOOK, "reply-send") == OFF
            page.click("#claim-this")
            expect(page.locator("#claim-this")).to_be_hidden()
            expect(page.locator("#close")).to_be_enabled()
    assert page.evaluate(LOOK, "reply-send") == BRAND

    more = page.locator("#chat-more")
    expect(page.locator("#chat-more-panel")).to_be_hidden()
    more.focus()  # the keyboard alone opens it, moves through it and closes it
    page.keyboard.press("Enter")
    expect(more).to_have_attribute("aria-expanded", "true")
    panel = page.locator("#chat-more-panel").bounding_box()
    assert panel is not None and panel["x"] >= 0 and panel["x"] + panel["width"] <= viewport["width"]
    expect(page.locator("#transfer-to")).to_be_focused()
    for control in ("#transfer", "#handback-note", "#hand-back", "#release"):
        page.keyboard.press("Tab")
        expect(page.locator(control)).to_be_focused()
        box = page.locator(control).bounding_box()
        assert box is not None and box["x"] + box["width"] <= panel["x"] + panel["width"] + 1  # nothing cut off
    page.keyboard.press("Escape")
    expect(page.locator("#chat-more-panel")).to_be_hidden()
    expect(more).to_be_focused()
    expect(more).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    page.locator("#release").focus()
    page.keyboard.press("Enter")  # released from the panel: the chat waits again
    expect(page.locator("#claim-this")).to_be_visible()
    expect(page.locator("#chat-more-panel")).to_be_hidden()
