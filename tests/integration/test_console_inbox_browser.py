"""An agent holding several chats, in headless Chromium against the real service process: every held chat is
listed with its unread count and last message; a borrower message in a chat that is not open shows a badge,
counts in the tab title, beeps when the sound is on and raises a desktop notification; the open chat's
transcript renders FAQ markdown and citations; a transfer freezes the old agent's chat with a translated
notice; the reply countdown warns before the idle requeue and the requeue is told. And the borrower's page
says who answers: the assistant, nobody yet, a person, nobody any more."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_process import ServiceProcess, create_agent, run_service
from sqlalchemy import update

from handoff.conversations.records import append_message
from handoff.infra.db import make_engine, session_scope
from handoff.models import QueueEntry

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PASSWORD = "console-test-password"

# The desktop notifications and the beeps are the outside world: record them, keep the real ones working.
RECORDER = """
window.__notes = [];
window.__beeps = 0;
if (window.Notification) {
  const Real = window.Notification;
  window.Notification = class extends Real {
    constructor(title, options) { super(title, options); window.__notes.push({ title, body: options && options.body }); }
  };
}
if (window.AudioContext) {
  const create = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function () { window.__beeps += 1; return create.call(this); };
}
"""


def queued_borrower(service: ServiceProcess, lang: str = "en") -> tuple[str, dict[str, str]]:
    created = httpx.post(f"{service.url}/api/conversations", json={"lang": lang}, trust_env=False).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    response = httpx.post(f"{service.url}/api/conversations/{created['id']}/handoff", json={}, headers=headers,
                          trust_env=False)
    assert response.status_code == 200, response.text
    return created["id"], headers


def borrower_says(service: ServiceProcess, conv_id: str, headers: dict[str, str], text: str) -> None:
    sent = httpx.post(f"{service.url}/api/conversations/{conv_id}/messages", headers=headers, trust_env=False,
                      json={"text": text, "client_message_id": f"b-{time.monotonic_ns()}"})
    assert sent.status_code == 200, sent.text


def console(browser: Any, service: ServiceProcess, username: str, locale: str = "en-US") -> Any:
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 800})
    context.grant_permissions(["notifications"], origin=service.url)
    context.add_init_script(RECORDER)
    page = context.new_page()
    page.goto(f"{service.url}/console")
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#connection[data-state=online]")
    return page


def claim_in_console(page: Any, conv_id: str) -> None:
    page.locator(f"#queue-list li.entry[data-conversation-id='{conv_id}'] button.claim").click(timeout=15000)
    page.wait_for_selector(f"#my-chats li.held-chat.open[data-conversation-id='{conv_id}']")


def test_unread_badges_title_sound_and_notification_across_held_chats(browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with run_service(tmp_path / "svc") as service:
        create_agent(service, username="ann", password=PASSWORD)
        chat_a, borrower_a = queued_borrower(service)
        chat_b, borrower_b = queued_borrower(service)
        page = console(browser, service, "ann")
        expect(page.locator("#my-chats-empty")).to_be_visible()
        claim_in_console(page, chat_b)
        claim_in_console(page, chat_a)  # A is open now, B is not
        expect(page.locator("#my-chats li.held-chat")).to_have_count(2)
        expect(page.locator("#queue-list li.entry")).to_have_count(0)  # held chats are listed once, under "My chats"
        page.click("#menu-button")  # the sound switch is in the account menu
        page.click("#sound-toggle")
        expect(page.locator("#sound-toggle")).to_have_attribute("aria-pressed", "true")
        beeps = page.evaluate("window.__beeps")

        borrower_says(service, chat_b, borrower_b, "Hello?? Is anyone there?")
        card_b = page.locator(f"#my-chats li[data-conversation-id='{chat_b}']")
        expect(card_b.locator(".unread-count")).to_have_text("1", timeout=10000)
        expect(card_b.locator(".held-preview")).to_have_text("Borrower: Hello?? Is anyone there?")
        page.wait_for_function("() => document.title.startsWith('(1) ')")
        page.wait_for_function("() => window.__notes.length === 1")
        assert page.evaluate("window.__notes[0].body") == "Hello?? Is anyone there?"
        assert page.evaluate("window.__beeps") == beeps + 1

        borrower_says(service, chat_a, borrower_a, "I am still here")  # the open chat: shown, not counted
        page.wait_for_selector("#transcript li.msg.borrower >> text=I am still here")
        card_a = page.locator(f"#my-chats li[data-conversation-id='{chat_a}']")
        expect(card_a.locator(".held-preview")).to_have_text("Borrower: I am still here")
        expect(card_a.locator(".unread-count")).to_be_hidden()
        borrower_says(service, chat_b, borrower_b, "Hello???")
        expect(card_b.locator(".unread-count")).to_have_text("2", timeout=10000)
        page.wait_for_function("() => document.title.startsWith('(2) ')")

        card_b.click()
        page.wait_for_selector("#transcript li.msg.borrower >> text=Hello???")
        expect(card_b.locator(".unread-count")).to_be_hidden()
        page.wait_for_function("() => document.title === 'Agent console'")
        page.fill("#reply-text", "Yes, I am here.")  # the open chat's card previews the agent's reply at once
        page.click("#reply-send")
        expect(card_b.locator(".held-preview")).to_have_text("Agent: Yes, I am here.", timeout=3000)
        page.reload()  # what was read stays read; the server's count of unanswered messages is not unread
        page.wait_for_selector(f"#my-chats li[data-conversation-id='{chat_b}']")
        expect(page.locator("#my-chats .unread-count:visible")).to_have_count(0)
        assert page.title() == "Agent console"


def test_transcript_renders_faq_markdown_and_citation_only_messages(browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with run_service(tmp_path / "svc") as service:
        create_agent(service, username="ann", password=PASSWORD)
        conv_id, _ = queued_borrower(service)
        engine = make_engine(service.env["DATABASE_URL"])
        with session_scope(engine) as session:  # what the bot said before the handoff, as the service stores it
            append_message(session, conversation_id=conv_id, sender="bot", text=(
                "A **late fee** applies after the grace period:\n\n- 10 days in most states\n- 15 days in some\n\n"
                "See [our fee page](https://northwind-auto.example/fees) or [this](javascript:alert(1))."),
                payload={"custom": {"type": "faq_answer", "faq_id": "late-fee", "title": "Late fees"}})
            append_message(session, conversation_id=conv_id, sender="bot", text="",
                           payload={"custom": {"type": "faq_answer", "faq_id": "grace-period", "title": "Grace period"}})
        engine.dispose()
        page = console(browser, service, "ann")
        page.locator(f"li.entry[data-conversation-id='{conv_id}']").click()
        answer = page.locator("#transcript li.msg.bot").first
        expect(answer.locator("strong")).to_have_text("late fee")
        expect(answer.locator("ul li")).to_have_count(2)
        link = answer.locator("a")
        expect(link).to_have_count(1)  # the javascript: link stays text
        expect(link).to_have_attribute("href", "https://northwind-auto.example/fees")
        expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
        expect(answer).to_contain_text("or this.")
        assert "**" not in answer.inner_text()
        expect(answer.locator(".cite")).to_have_text("Source: Late fees")
        cite_only = page.locator("#transcript li.msg.cite-only")
        expect(cite_only.locator(".cite")).to_have_text("Source: Grace period")
        assert page.locator("#transcript li.msg.bot").count() == 1  # no empty bubble for the citation


FITS = """() => [...document.querySelectorAll('.left, #queue-list li.entry, #my-chats li.held-chat')]
  .filter((n) => n.scrollWidth > n.clientWidth + 1).map((n) => n.className)"""


@pytest.mark.parametrize("width", [1280, 390])
def test_long_summaries_stay_inside_their_cards(browser: Any, tmp_path: Path, width: int) -> None:
    from playwright.sync_api import expect

    summary = ("Borrower asked about the payoff for loan NW-2024-0042-7781-AB and pasted "
               "https://northwind-auto.example/account/loans/NW20240042778/payoff?date=2026-12-15&source=app " * 3)
    with run_service(tmp_path / "svc") as service:
        create_agent(service, username="ann", password=PASSWORD)
        waiting = [queued_borrower(service)[0] for _ in range(2)]
        engine = make_engine(service.env["DATABASE_URL"])
        with session_scope(engine) as session:
            session.execute(update(QueueEntry).values(summary=summary))
        engine.dispose()
        page = console(browser, service, "ann")
        page.set_viewport_size({"width": width, "height": 800})
        claim_in_console(page, waiting[0])
        card = page.locator(f"#queue-list li.entry[data-conversation-id='{waiting[1]}']")
        expect(card.locator(".entry-summary")).to_have_attribute("title", summary)  # the whole text on hover
        assert page.evaluate(FITS) == []  # nothing wider than its box: no sideways scrolling, no clipped card
        # one evaluation, so that a re-render of the live list cannot come in between
        lines = page.evaluate("""(id) => {
          const node = document.querySelector(`#queue-list li[data-conversation-id='${id}'] .entry-summary`);
          return node.getBoundingClientRect().height / parseFloat(getComputedStyle(node).lineHeight);
        }""", waiting[1])
        assert 1 < lines <= 3.05  # clamped to three lines
        assert card.locator("button.claim").is_visible()


def test_transfer_freezes_the_old_chat_and_the_idle_requeue_is_warned_and_told(browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with run_service(tmp_path / "svc", AGENT_RESPONSE_TARGET_S="63") as service:
        create_agent(service, username="ann", password=PASSWORD)
        create_agent(service, username="lin", password=PASSWORD, display_name="林晓", languages="zh")
        create_agent(service, username="bob", password=PASSWORD, display_name="Bob", languages="en")
        stays, stays_borrower = queued_borrower(service, lang="zh")
        moves, _ = queued_borrower(service, lang="zh")
        page = console(browser, service, "ann", locale="zh-CN")
        for other in ("lin", "bob"):
            console(browser, service, other)  # online to take a transfer
        claim_in_console(page, stays)
        expect(page.locator("#idle-warning")).to_contain_text("内回复", timeout=15000)  # under a minute left
        expect(page.locator(f"#my-chats li[data-conversation-id='{stays}'] .countdown")).to_be_visible()

        claim_in_console(page, moves)
        page.fill("#reply-text", "您好，我来帮您查一下。")
        page.click("#reply-send")
        expect(page.locator("#idle-warning")).to_be_hidden(timeout=10000)  # replied: no clock on this chat
        page.wait_for_function("() => document.querySelectorAll('#transfer-to option').length > 1")
        options = page.locator("#transfer-to option").all_inner_texts()
        assert "林晓" in options and "Bob" not in options  # Bob takes no Chinese chats
        page.click("#chat-more")  # transfer sits behind "More actions"
        page.select_option("#transfer-to", label="林晓")
        chosen = page.input_value("#transfer-to")
        borrower_says(service, stays, stays_borrower, "还在吗？")  # a live queue refresh while the agent chooses
        expect(page.locator(f"#my-chats li[data-conversation-id='{stays}'] .unread-count")).to_have_text("1")
        page.wait_for_timeout(500)
        assert page.input_value("#transfer-to") == chosen  # the refresh kept the agent's choice
        page.click("#transfer")
        expect(page.locator("#chat-notice")).to_have_text("此会话已转给 林晓，您不能再回复或操作。", timeout=10000)
        assert page.is_disabled("#reply-text") and page.is_disabled("#close") and page.is_disabled("#transfer")
        expect(page.locator("#chat-error")).to_be_hidden()
        expect(page.locator(f"#my-chats li[data-conversation-id='{moves}']")).to_have_count(0)

        page.locator(f"#my-chats li[data-conversation-id='{stays}']").click()
        expect(page.locator("#idle-warning")).to_be_visible()
        # nobody replied within AGENT_RESPONSE_TARGET_S: the SLA loop requeues the chat and the console says so
        expect(page.locator("#chat-notice")).to_have_text(
            "由于未及时回复，此会话已退回排队。重新接入即可继续。", timeout=90000)
        expect(page.locator("#claim-this")).to_be_visible()
        expect(page.locator("#idle-warning")).to_be_hidden()


@pytest.mark.parametrize(("locale", "queued", "person", "ended"), [
    ("en-US", "You are waiting for a person", "Ann, a person from our team, has joined", "This chat has ended"),
    ("zh-CN", "正在为您转接人工客服", "我们的客服 Ann 已加入会话", "此会话已结束"),
])
def test_chat_page_says_who_answers(browser: Any, tmp_path: Path, locale: str, queued: str, person: str, ended: str) -> None:
    from playwright.sync_api import expect

    with run_service(tmp_path / "svc") as service:
        create_agent(service, username="ann", password=PASSWORD, display_name="Ann")
        chat = browser.new_context(locale=locale, viewport={"width": 390, "height": 844}).new_page()
        chat.goto(f"{service.url}/")
        note = chat.locator("#disclosure-text")
        expect(note).to_contain_text("automated assistant" if locale == "en-US" else "智能助手")
        chat.click("#person-btn")
        expect(note).to_contain_text(queued, timeout=10000)

        agent = {"Authorization": "Bearer " + httpx.post(
            f"{service.url}/api/agent/login", json={"username": "ann", "password": PASSWORD}, trust_env=False).json()["token"]}
        entry = httpx.get(f"{service.url}/api/agent/queue", headers=agent, trust_env=False).json()["entries"][0]
        assert httpx.post(f"{service.url}/api/agent/queue/{entry['id']}/claim", headers=agent, trust_env=False).is_success
        expect(note).to_contain_text(person, timeout=10000)
        closed = httpx.post(f"{service.url}/api/agent/conversations/{entry['conversation_id']}/close", headers=agent,
                            trust_env=False, json={"resolution_code": "resolved"})
        assert closed.is_success, closed.text
        expect(note).to_contain_text(ended, timeout=10000)
        expect(chat.locator("#disclosure")).to_have_attribute("data-state", "closed")
