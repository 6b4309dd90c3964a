"""Helpers of the "show it" scenario (test_show_it_browser.py): borrowers on the real chat page, agents in the
real console (the inbox tests' `console`, which grants the notification permission and records every
`new Notification`), replies typed into the console, and screenshots kept outside the repository."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from service_process import ServiceProcess

DESKTOP = {"width": 1366, "height": 850}
PHONE_SIZE = {"width": 390, "height": 844}
SHOTS = Path(os.environ.get("SHOW_SHOTS_DIR", "/work/notes/shots/show"))

# What the borrower's page says, in the borrower's language.
HEADER = {"en": "Chatting with {agent}", "zh": "正在与 {agent} 对话"}
JOINED = {"en": "You are chatting with {agent}, a member of our team.", "zh": "客服 {agent} 正在为您服务。"}
QUEUED = {"en": "You are waiting for a person", "zh": "正在为您转接人工客服"}
CALLBACK_REF = {"en": "Your reference number is {ref}", "zh": "您的回电编号是 {ref}"}


def borrower_page(browser: Any, service: ServiceProcess, lang: str) -> tuple[Any, str]:
    """A new borrower on the chat page (phone size); returns the page and its conversation id."""
    context = browser.new_context(locale="zh-CN" if lang == "zh" else "en-US", viewport=PHONE_SIZE)
    page = context.new_page()
    page.goto(f"{service.url}/")
    page.wait_for_function("() => localStorage.getItem('carloan.chat.conversation') !== null")
    return page, page.evaluate("JSON.parse(localStorage.getItem('carloan.chat.conversation')).id")


def ask_for_person(page: Any, lang: str) -> None:
    from playwright.sync_api import expect

    page.click("#person-btn")
    expect(page.locator("#queue-panel")).to_be_visible(timeout=10000)
    expect(page.locator("#disclosure-text")).to_contain_text(QUEUED[lang])


def borrower_types(page: Any, text: str) -> None:
    from playwright.sync_api import expect

    page.fill("#input", text)
    page.press("#input", "Enter")
    expect(page.locator(".row.mine .bubble", has_text=text)).to_be_visible(timeout=10000)


def agent_replies(page: Any, text: str) -> None:
    """Types into the open chat of a console and waits until the transcript shows it as sent."""
    from playwright.sync_api import expect

    page.fill("#reply-text", text)
    page.click("#reply-send")
    expect(page.locator("#transcript li.msg.agent", has_text=text)).to_be_visible(timeout=10000)


def held_card(page: Any, conv_id: str) -> Any:
    return page.locator(f"#my-chats li.held-chat[data-conversation-id='{conv_id}']")


def queue_card(page: Any, conv_id: str) -> Any:
    return page.locator(f"#queue-list li.entry[data-conversation-id='{conv_id}']")


def shoot(page: Any, name: str) -> Path:
    """A desktop screenshot of a console's final state, kept out of the repository."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
