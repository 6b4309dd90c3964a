"""Issue 13, "Show it": the whole desk at once in headless Chromium against the real service process. Two
agents in the console (Ann in English, 林晓 in Chinese) and three borrowers on the chat page (two English,
one Chinese) who ask for a person. Ann claims two chats, 林晓 one; a borrower writes in Ann's chat that is
not open and Ann sees the unread badge and gets a desktop notification; 林晓 is warned before the idle
requeue takes her chat; the requeued borrower asks for a callback from the chat page and is given a
reference in Chinese; 林晓 works the callback (the number in full only while she works it, masked for Ann)
and records the outcome. Both consoles' final state is saved as desktop screenshots (SHOW_SHOTS_DIR, default
/work/notes/shots/show/). A second test: after a transfer, the borrower's header names the new agent.

Rasa is left out (RASA_URL is a closed port): nothing here needs a bot answer - asking for a person is the
page's button, and borrowers' words in a held chat go to the agent, not to the bot."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from service_process import create_agent, run_service
from show_support import (
    CALLBACK_REF,
    HEADER,
    JOINED,
    agent_replies,
    ask_for_person,
    borrower_page,
    borrower_types,
    held_card,
    queue_card,
    shoot,
)
from test_console_inbox_browser import PASSWORD, claim_in_console, console

pytestmark = [pytest.mark.integration, pytest.mark.browser]

IDLE_S = 30  # AGENT_RESPONSE_TARGET_S: the console warns from the start (under a minute), requeues after 30 s
PHONE = "+1 (212) 555-0188"
MASKED = "121****0188"
REQUEUED_ZH = "由于未及时回复，此会话已退回排队。重新接入即可继续。"


def test_two_agents_three_borrowers_unread_notification_idle_warning_and_a_callback(
    browser: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    settings = {"AGENT_RESPONSE_TARGET_S": str(IDLE_S), "SLA_INTERVAL_S": "0.5", "CALLBACK_OFFER_AFTER_S": "0"}
    with run_service(tmp_path / "svc", **settings) as service:
        create_agent(service, username="ann", password=PASSWORD, display_name="Ann", languages="en,zh")
        create_agent(service, username="lin", password=PASSWORD, display_name="林晓", languages="en,zh")
        ann = console(browser, service, "ann")
        lin = console(browser, service, "lin", locale="zh-CN")

        (b1, c1), (b2, c2), (b3, c3) = (borrower_page(browser, service, lang) for lang in ("en", "en", "zh"))
        for page, lang in ((b1, "en"), (b2, "en"), (b3, "zh")):
            ask_for_person(page, lang)
        for agent in (ann, lin):  # both desks see the three chats arrive live
            for conv_id in (c1, c2, c3):
                expect(queue_card(agent, conv_id)).to_be_visible(timeout=10000)

        # Ann takes two chats (answering each at once), 林晓 the Chinese one and says nothing.
        claim_in_console(ann, c1)
        agent_replies(ann, "Hi, this is Ann. How can I help?")
        claim_in_console(ann, c2)
        agent_replies(ann, "Hello, Ann here. One moment please.")
        claim_in_console(lin, c3)
        expect(lin.locator("#idle-warning")).to_contain_text("内回复", timeout=10000)  # warned ...
        expect(held_card(lin, c3).locator(".countdown")).to_be_visible()
        expect(held_card(lin, c3)).to_be_visible()  # ... while the chat is still hers
        expect(ann.locator("#my-chats li.held-chat")).to_have_count(2)
        expect(lin.locator("#my-chats li.held-chat")).to_have_count(1)
        expect(queue_card(ann, c3).locator(".held")).to_have_text("held by 林晓")  # taken: Ann cannot claim it
        expect(queue_card(ann, c3).locator("button.claim")).to_have_count(0)

        # Each borrower's header names the person who took the chat, in the borrower's language.
        for page, lang, name in ((b1, "en", "Ann"), (b2, "en", "Ann"), (b3, "zh", "林晓")):
            expect(page.locator("#status-text")).to_have_text(HEADER[lang].format(agent=name), timeout=10000)
            expect(page.locator("#agent-text")).to_have_text(JOINED[lang].format(agent=name))
        expect(b1.locator(".row.agent .bubble", has_text="Hi, this is Ann.")).to_be_visible(timeout=10000)

        # A borrower writes in Ann's chat that is not open (c2 is): a badge, a notification, nothing on c2.
        assert ann.get_attribute("#my-chats li.held-chat.open", "data-conversation-id") == c2
        notes_before = ann.evaluate("window.__notes.length")
        borrower_types(b1, "Are you still there? My payment bounced.")
        expect(held_card(ann, c1).locator(".unread-count")).to_have_text("1", timeout=10000)
        expect(held_card(ann, c1)).to_have_class("held-chat has-unread")
        expect(held_card(ann, c2).locator(".unread-count")).to_be_hidden()
        ann.wait_for_function("(n) => window.__notes.length === n + 1", arg=notes_before)
        assert ann.evaluate("window.__notes[window.__notes.length - 1].body") == "Are you still there? My payment bounced."
        ann.wait_for_function("() => document.title.startsWith('(1) ')")
        assert lin.evaluate("window.__notes.length") == 0  # not 林晓's chat: nothing for her
        held_card(ann, c1).click()
        expect(ann.locator("#transcript li.msg.borrower", has_text="My payment bounced.")).to_be_visible()
        expect(held_card(ann, c1).locator(".unread-count")).to_be_hidden()
        agent_replies(ann, "I am here. Let me check the payment.")

        # 林晓 never answered: the SLA loop takes the chat back and her console says so, in Chinese.
        expect(lin.locator("#chat-notice")).to_have_text(REQUEUED_ZH, timeout=(IDLE_S + 30) * 1000)
        expect(lin.locator("#idle-warning")).to_be_hidden()
        expect(held_card(lin, c3)).to_have_count(0)
        expect(held_card(ann, c1)).to_be_visible()  # Ann answered in time: both of hers stay
        expect(held_card(ann, c2)).to_be_visible()

        # The borrower, waiting again, asks for a callback from the chat page and is given a reference.
        expect(b3.locator("#queue-panel")).to_be_visible(timeout=10000)
        expect(b3.locator("#callback-offer")).to_be_visible(timeout=10000)
        b3.click("#callback-offer")
        b3.fill("#contact", PHONE)
        b3.fill("#preferred-time", "下午五点以后")
        b3.click("#callback-submit")
        expect(b3.locator("#queue-panel")).to_be_hidden(timeout=10000)
        reference = b3.evaluate("""async () => {
          const c = JSON.parse(localStorage.getItem('carloan.chat.conversation'));
          const r = await fetch(`/api/conversations/${c.id}/messages?after=0`, { headers: { Authorization: `Bearer ${c.token}` } });
          return (await r.json()).callback_reference;
        }""")
        assert reference
        expect(b3.locator(".system .note", has_text=CALLBACK_REF["zh"].format(ref=reference))).to_have_count(1)

        # 林晓 opens the callback work item and starts it: the number in full for her; masked for Ann.
        lin_card = queue_card(lin, c3)
        expect(lin_card).to_contain_text(MASKED, timeout=10000)
        assert "555-0188" not in lin_card.inner_text()
        lin_card.locator("button.callback-open").click()
        expect(lin.locator("#callback-panel")).to_contain_text(reference)
        expect(lin.locator("#cb-contact")).to_have_text(MASKED)
        lin.click("#cb-start")
        expect(lin.locator("#cb-contact")).to_have_text(PHONE)
        expect(lin.locator("#cb-contact")).to_have_attribute("href", "tel:+12125550188")

        ann_card = queue_card(ann, c3)
        expect(ann_card).to_contain_text(MASKED, timeout=10000)
        ann_card.click()
        expect(ann.locator("#callback-panel")).to_contain_text(reference)
        expect(ann.locator("#cb-contact")).to_have_text(MASKED)  # not Ann's callback
        expect(ann.locator("#cb-start")).to_have_count(0)
        assert "555-0188" not in ann.content()

        lin.select_option("#cb-outcome", "reached")
        lin.fill("#cb-note", "已说明本月还款日")
        lin.click("#cb-record")
        expect(lin.locator("#cb-notice")).to_have_text("回电已完成：已联系上。")
        expect(lin.locator("#cb-contact")).to_have_text(MASKED)
        expect(queue_card(lin, c3)).to_have_count(0, timeout=10000)  # done: it left both queues
        expect(queue_card(ann, c3)).to_have_count(0, timeout=10000)

        held_card(ann, c1).click()  # Ann's final state: her two chats, the one she just answered open
        expect(ann.locator("#transcript li.msg.agent", has_text="Let me check the payment.")).to_be_visible()
        shoot(ann, "ann-console-en")
        shoot(lin, "lin-console-zh")
        shoot(b3, "borrower-zh-callback")


@pytest.mark.parametrize(("lang", "locale"), [("zh", "zh-CN"), ("en", "en-US")])
def test_the_borrowers_header_names_the_new_agent_after_a_transfer(
    browser: Any, tmp_path: Path, lang: str, locale: str
) -> None:
    from playwright.sync_api import expect

    with run_service(tmp_path / "svc") as service:
        create_agent(service, username="ann", password=PASSWORD, display_name="Ann", languages="en,zh")
        create_agent(service, username="lin", password=PASSWORD, display_name="林晓", languages="en,zh")
        ann = console(browser, service, "ann", locale=locale)
        console(browser, service, "lin")  # online, to take the transfer
        borrower, conv_id = borrower_page(browser, service, lang)
        ask_for_person(borrower, lang)
        claim_in_console(ann, conv_id)
        agent_replies(ann, "您好，我是 Ann。" if lang == "zh" else "Hello, I'm Ann.")
        header = borrower.locator("#status-text")
        expect(header).to_have_text(HEADER[lang].format(agent="Ann"), timeout=10000)

        ann.wait_for_function("() => document.querySelectorAll('#transfer-to option').length > 1")
        ann.click("#chat-more")  # transfer sits behind "More actions"
        ann.select_option("#transfer-to", label="林晓")
        ann.click("#transfer")
        expect(ann.locator("#chat-notice")).to_contain_text("林晓", timeout=10000)
        expect(header).to_have_text(HEADER[lang].format(agent="林晓"), timeout=10000)
        expect(borrower.locator("#agent-text")).to_have_text(JOINED[lang].format(agent="林晓"))
        expect(borrower.locator("#disclosure-text")).to_contain_text("林晓")
        expect(borrower.locator("#input")).to_have_attribute("placeholder", re.compile("林晓"))
        assert "Ann" not in header.inner_text()
