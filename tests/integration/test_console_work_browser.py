"""The console's tools for an agent with several chats, in headless Chromium against the real service process
(issue 13, items 2, 3, 4 and 5): canned replies (managed by a supervisor in the console, picked in the chat's
language and edited before sending), keyboard shortcuts that do not fire while typing, clickable SLA toasts
with readable names, the callback work item (the number in full only for the agent working it, outcomes),
the `unwatched` freeze after a supervisor moves a chat away, and a queue that follows the service's deltas
without re-reading itself. With CONSOLE_SHOTS=<dir>, the tests also save screenshots there."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_process import ServiceProcess, create_agent, run_service
from test_console_inbox_browser import (
    PASSWORD,
    borrower_says,
    claim_in_console,
    console,
    queued_borrower,
)

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PHONE = "+1 (212) 555-0188"
LONG_ID = re.compile(r"[0-9a-f]{32}")
SHOTS = os.environ.get("CONSOLE_SHOTS")


def shot(page: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def api_login(service: ServiceProcess, username: str) -> dict[str, str]:
    response = httpx.post(f"{service.url}/api/agent/login", json={"username": username, "password": PASSWORD},
                          trust_env=False)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def transcript(service: ServiceProcess, conv_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = httpx.get(f"{service.url}/api/conversations/{conv_id}/messages", headers=headers, trust_env=False)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def test_supervisor_writes_a_canned_reply_and_the_agent_sends_it_edited_in_the_chats_language(
    browser: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    with run_service(tmp_path / "svc") as service:
        create_agent(service, username="ann", password=PASSWORD, display_name="Ann")
        create_agent(service, username="sue", password=PASSWORD, role="supervisor", display_name="Sue")
        conv_id, borrower = queued_borrower(service, lang="zh")
        sup = console(browser, service, "sue")
        sup.click("#canned-manage")
        expect(sup.locator("#canned-admin-list li")).to_have_count(5)  # the seeded defaults
        sup.fill("#canned-shortcut", "late-fee")
        sup.fill("#canned-title_en", "Late fee")
        sup.fill("#canned-title_zh", "滞纳金")
        sup.fill("#canned-text_en", "A late fee applies 10 days after the due date.")
        sup.fill("#canned-text_zh", "逾期 10 天后收取滞纳金。")
        sup.click("#canned-save")
        expect(sup.locator("#canned-admin-list [data-shortcut='late-fee']")).to_be_visible()
        sup.fill("#canned-shortcut", "late-fee-2")  # the same reply renamed: a change, not a second reply
        sup.click("#canned-save")
        expect(sup.locator("#canned-admin-list li")).to_have_count(6)
        shot(sup, "canned-admin-desktop-en")

        page = console(browser, service, "ann")  # English console, Chinese chat
        claim_in_console(page, conv_id)
        page.click("#reply-text")
        page.keyboard.type("/")  # an empty reply box: "/" opens the picker instead of typing
        expect(page.locator("#canned-picker")).to_be_visible()
        assert page.input_value("#reply-text") == ""
        page.keyboard.type("late")
        expect(page.locator("#canned-list li.canned-item")).to_have_count(1)
        expect(page.locator("#canned-list li.canned-item .canned-text")).to_have_text("逾期 10 天后收取滞纳金。")
        page.keyboard.press("Enter")
        expect(page.locator("#canned-picker")).to_be_hidden()
        assert page.input_value("#reply-text") == "逾期 10 天后收取滞纳金。"
        page.keyboard.type("如有疑问请告诉我/")  # editing before sending; a "/" inside the text is typed
        page.keyboard.press("Control+Enter")
        expect(page.locator("#transcript li.msg.agent").last).to_contain_text("逾期 10 天后收取滞纳金。如有疑问请告诉我/")
        assert page.input_value("#reply-text") == ""
        page.click("#canned-open")
        page.keyboard.type("greeting")
        page.keyboard.press("Enter")
        assert page.input_value("#reply-text").startswith("您好，我是贷款服务团队的 Ann。")  # {agent} filled in
        sent = [m["text"] for m in transcript(service, conv_id, borrower) if m["sender"] == "agent"]
        assert sent == ["逾期 10 天后收取滞纳金。如有疑问请告诉我/"]


def test_shortcuts_move_between_held_chats_and_stay_quiet_while_typing(browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with run_service(tmp_path / "svc") as service:
        create_agent(service, username="ann", password=PASSWORD)
        chats = [queued_borrower(service)[0] for _ in range(3)]
        page = console(browser, service, "ann", locale="zh-CN")
        for conv_id in chats:
            claim_in_console(page, conv_id)
        order = page.eval_on_selector_all("#my-chats li.held-chat", "(nodes) => nodes.map((n) => n.dataset.conversationId)")
        assert sorted(order) == sorted(chats)
        page.click("#transcript")
        start = order.index(page.get_attribute("#my-chats li.held-chat.open", "data-conversation-id"))
        page.keyboard.press("Alt+ArrowDown")
        expect(page.locator(f"#my-chats li.open[data-conversation-id='{order[(start + 1) % 3]}']")).to_be_visible()
        page.keyboard.press("Control+]")
        expect(page.locator(f"#my-chats li.open[data-conversation-id='{order[(start + 2) % 3]}']")).to_be_visible()
        page.fill("#reply-text", "draft")
        page.focus("#reply-text")
        page.keyboard.press("Alt+ArrowUp")  # a chord works from the reply box too
        expect(page.locator(f"#my-chats li.open[data-conversation-id='{order[(start + 1) % 3]}']")).to_be_visible()
        page.fill("#reply-text", "")
        page.focus("#reply-text")
        page.keyboard.type("请问?")  # "?" while typing is a question mark, not the help
        expect(page.locator("#help-dialog")).to_be_hidden()
        assert page.input_value("#reply-text") == "请问?"
        page.focus("#kb-query")
        page.keyboard.type("/")  # in another field "/" is typed
        expect(page.locator("#canned-picker")).to_be_hidden()
        page.click("#transcript")
        page.keyboard.press("?")
        expect(page.locator("#help-dialog")).to_be_visible()
        expect(page.locator("#help-list .help-row")).to_have_count(8)
        expect(page.locator("#help-list")).to_contain_text("下一个我的会话")
        shot(page, "shortcuts-desktop-zh")
        page.keyboard.press("Alt+ArrowDown")  # nothing moves behind the dialog
        expect(page.locator(f"#my-chats li.open[data-conversation-id='{order[(start + 1) % 3]}']")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator("#help-dialog")).to_be_hidden()
        page.keyboard.press("Alt+KeyK")
        assert page.evaluate("document.activeElement.id") == "kb-query"


def test_sla_toast_names_the_chat_in_words_and_opens_it(browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with run_service(tmp_path / "svc", SLA_FIRST_REPLY_S="4", SLA_INTERVAL_S="0.5") as service:
        create_agent(service, username="sue", password=PASSWORD, role="supervisor")
        page = console(browser, service, "sue")
        conv_id, _ = queued_borrower(service)
        toast = page.locator("#toasts button.toast.clickable").filter(has_text="SLA")
        expect(toast.first).to_be_visible(timeout=20000)
        text = toast.first.inner_text()
        assert not LONG_ID.search(text) and conv_id[:8] not in text, text
        assert re.search(r"chat #\d+ · Asked for a person · English", text), text
        toast.first.click()
        expect(page.locator("#chat")).to_be_visible()
        expect(page.locator("#chat-id")).to_have_text(conv_id[:8])


def _callback(service: ServiceProcess, lang: str = "en") -> tuple[str, str]:
    conv_id, headers = queued_borrower(service, lang=lang)
    borrower_says(service, conv_id, headers, "Please call me back about my payoff")
    ticket = httpx.post(f"{service.url}/api/conversations/{conv_id}/callback", headers=headers, trust_env=False,
                        json={"contact_method": "phone", "contact": PHONE, "preferred_time": "after 5pm"})
    assert ticket.status_code == 201, ticket.text
    return conv_id, ticket.json()["reference"]


@pytest.mark.parametrize(("locale", "size"), [("en-US", (1366, 850)), ("zh-CN", (390, 844))])
def test_callback_work_item_shows_the_number_only_to_the_agent_working_it(
    browser: Any, tmp_path: Path, locale: str, size: tuple[int, int]
) -> None:
    from playwright.sync_api import expect

    en = locale == "en-US"
    with run_service(tmp_path / "svc") as service:
        create_agent(service, username="ann", password=PASSWORD, display_name="Ann")
        create_agent(service, username="bob", password=PASSWORD, display_name="Bob")
        conv_id, reference = _callback(service)
        ann = console(browser, service, "ann", locale=locale)
        ann.set_viewport_size({"width": size[0], "height": size[1]})
        card = ann.locator(f"#queue-list li.entry[data-conversation-id='{conv_id}']")
        expect(card).to_contain_text("121****0188")
        assert "555-0188" not in card.inner_text()
        card.locator("button.callback-open").click()
        panel = ann.locator("#callback-panel")
        expect(panel).to_contain_text(reference)
        expect(ann.locator("#cb-contact")).to_have_text("121****0188")
        expect(ann.locator("#transcript li.msg.borrower")).to_contain_text("Please call me back about my payoff")
        expect(ann.locator("#reply-form")).to_be_hidden()  # a callback is worked by phone, not in the chat
        ann.click("#cb-start")
        expect(ann.locator("#cb-contact")).to_have_text(PHONE)
        expect(ann.locator("#cb-contact")).to_have_attribute("href", "tel:+12125550188")
        shot(ann, f"callback-{'desktop-en' if en else 'phone-zh'}")

        bob = console(browser, service, "bob", locale=locale)
        bob.locator(f"#queue-list li.entry[data-conversation-id='{conv_id}']").click()
        expect(bob.locator("#callback-panel")).to_contain_text(reference)
        expect(bob.locator("#cb-contact")).to_have_text("121****0188")  # not Bob's callback
        expect(bob.locator("#cb-start")).to_have_count(0)
        assert PHONE not in bob.content()
        bob.context.close()

        ann.reload()  # the full number comes back for the agent working it, and only then
        ann.locator(f"#queue-list li.entry[data-conversation-id='{conv_id}']").click()
        expect(ann.locator("#cb-contact")).to_have_text(PHONE)
        ann.select_option("#cb-outcome", "no_answer")
        ann.fill("#cb-note", "voicemail")
        ann.click("#cb-record")
        expect(ann.locator("#cb-notice")).to_contain_text("No answer" if en else "无人接听")
        expect(ann.locator("#cb-contact")).to_have_text("121****0188")  # back in the list: masked again
        ann.click("#cb-start")
        expect(ann.locator("#cb-contact")).to_have_text(PHONE)
        ann.select_option("#cb-outcome", "reached")
        ann.click("#cb-record")
        expect(ann.locator("#cb-notice")).to_have_text("Callback finished: Reached." if en else "回电已完成：已联系上。")
        expect(ann.locator("#cb-contact")).to_have_text("121****0188")
        expect(ann.locator("#cb-start")).to_have_count(0)
        expect(card).to_have_count(0)  # done: it left the queue
        sup = api_login(service, "ann")
        listed = httpx.get(f"{service.url}/api/agent/callbacks", headers=sup, trust_env=False).json()["callbacks"]
        assert listed == []


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_a_chat_moved_away_by_a_supervisor_freezes_in_the_old_agents_language(
    browser: Any, tmp_path: Path, locale: str
) -> None:
    from playwright.sync_api import expect

    with run_service(tmp_path / "svc") as service:
        create_agent(service, username="ann", password=PASSWORD, display_name="Ann")
        create_agent(service, username="lin", password=PASSWORD, display_name="林晓")
        create_agent(service, username="sue", password=PASSWORD, role="supervisor")
        conv_id, _ = queued_borrower(service)
        page = console(browser, service, "ann", locale=locale)
        console(browser, service, "lin")  # online to take it
        claim_in_console(page, conv_id)
        page.fill("#reply-text", "half-written")
        sup = api_login(service, "sue")
        entry = httpx.get(f"{service.url}/api/agent/queue", headers=sup, trust_env=False).json()["entries"][0]
        lin_id = next(a["id"] for a in httpx.get(f"{service.url}/api/agent/supervisor/agents", headers=sup,
                                                 trust_env=False).json()["agents"] if a["username"] == "lin")
        moved = httpx.post(f"{service.url}/api/agent/queue/{entry['id']}/assign", headers=sup, trust_env=False,
                           json={"agent_id": lin_id})
        assert moved.status_code == 200, moved.text
        notice = ("此会话已转给 林晓，您不能再回复或操作。" if locale == "zh-CN"
                  else "This chat is now with 林晓. You can no longer reply or act on it.")
        expect(page.locator("#chat-notice")).to_have_text(notice, timeout=10000)
        for control in ("#reply-text", "#reply-send", "#canned-open", "#close", "#transfer", "#release", "#hand-back"):
            expect(page.locator(control)).to_be_disabled()
        page.keyboard.press("Control+Enter")
        page.click("#transcript")
        page.keyboard.type("/")
        expect(page.locator("#canned-picker")).to_be_hidden()
        page.wait_for_timeout(1500)  # any late error frame, toast or second look would be on screen by now
        expect(page.locator("#chat-error")).to_be_hidden()
        expect(page.locator("#chat-notice")).to_have_text(notice)  # a later look that knows less keeps the name
        expect(page.locator("#my-chats li.held-chat")).to_have_count(0)
        if locale == "zh-CN":
            texts = page.locator("#chat-notice, #toasts, #chat-error").all_inner_texts()
            assert not any(re.search(r"[A-Za-z]{4,}", t) for t in texts), texts  # no raw English
        shot(page, f"unwatched-desktop-{locale[:2]}")


def test_the_queue_follows_deltas_without_re_reading_itself(browser: Any, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with run_service(tmp_path / "svc") as service:
        create_agent(service, username="ann", password=PASSWORD)
        create_agent(service, username="bob", password=PASSWORD)
        first, _ = queued_borrower(service)
        page = console(browser, service, "ann")
        expect(page.locator(f"#queue-list li[data-conversation-id='{first}']")).to_be_visible()
        page.wait_for_timeout(500)
        reads: list[str] = []
        page.on("request", lambda r: reads.append(r.url) if r.url.endswith("/api/agent/queue") else None)
        second, second_borrower = queued_borrower(service)
        expect(page.locator(f"#queue-list li[data-conversation-id='{second}']")).to_be_visible(timeout=10000)
        bob = api_login(service, "bob")
        entry_id = page.get_attribute(f"#queue-list li[data-conversation-id='{first}']", "data-entry-id")
        assert httpx.post(f"{service.url}/api/agent/queue/{entry_id}/claim", headers=bob, trust_env=False).is_success
        expect(page.locator(f"#queue-list li[data-conversation-id='{first}'] .held")).to_contain_text("held by")
        claim_in_console(page, second)  # our own claim: the chat moves to "My chats" by its delta
        expect(page.locator(f"#queue-list li[data-conversation-id='{second}']")).to_have_count(0)
        borrower_says(service, second, second_borrower, "thanks")
        expect(page.locator(f"#my-chats li[data-conversation-id='{second}'] .held-preview")).to_contain_text("thanks")
        third, _ = queued_borrower(service)
        expect(page.locator(f"#queue-list li[data-conversation-id='{third}']")).to_be_visible(timeout=10000)
        page.wait_for_timeout(1500)
        assert reads == [], reads  # every change came as a delta over the socket
