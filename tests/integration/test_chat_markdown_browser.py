"""FAQ answers with tables and lists in headless Chromium against the real service process, in English and
Chinese: the borrower's page and the agent console show them rendered (never pipes or **), the citation sits
under its bubble, nothing hostile in an answer runs, people's words stay text; and a message typed but not
acknowledged survives a reload and is sent exactly once.

The bot's answers are stored in the service's database the way a bot turn stores them (the text Rasa's
`utter_faq_answer` makes from the FAQ file, with its citation and quick replies), so no Rasa is needed.
Set CHAT_SHOTS_DIR to keep screenshots of the page (desktop 1366x850 and phone 390x844)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_process import ServiceProcess, create_agent, run_service
from sqlalchemy import func, select

from handoff.conversations.records import append_message
from handoff.infra.db import make_engine, session_scope
from handoff.models import Message
from knowledge_base.faq import parse_faq

pytestmark = [pytest.mark.integration, pytest.mark.browser]

FAQ_ROOT = Path(__file__).resolve().parents[2] / "knowledge_base" / "faq"
PASSWORD = "markdown-test-password"
SIZES = {"desktop": {"width": 1366, "height": 850}, "phone": {"width": 390, "height": 844}}
ASKED = {
    "en": [("What are the ways I can pay? **quick**", "payment-methods"), ("How do I pay online?", "pay-online")],
    "zh": [("我可以怎么还款？", "payment-methods-zh"), ("还款后多久能到账？", "payment-posting-time-zh")],
}
CLOSING = {"en": "Did this answer your question?", "zh": "这个回答对您有帮助吗？"}
BUTTONS = {"en": [("Yes", "/affirm"), ("No", "/negative_feedback")], "zh": [("有帮助", "/affirm"), ("没有帮助", "/negative_feedback")]}
HOSTILE = ('Also: <img src=x onerror="window.__xss=1"> [pay](javascript:window.__xss=2) '
           "| <script>window.__xss=3</script> |")

RENDERED = """(root) => [...document.querySelectorAll(root)].map((b) => ({
  text: b.innerText, tables: b.querySelectorAll('table').length, th: b.querySelectorAll('th').length,
  items: b.querySelectorAll('li').length, strong: b.querySelectorAll('strong').length,
  links: [...b.querySelectorAll('a')].map((a) => [a.getAttribute('href'), a.target, a.rel]),
  unsafe: b.querySelectorAll('script, img, [onerror], [onclick], style').length,
}))"""

# Scroll only the message list (scrollIntoView would move the whole page) so the answer's top shows.
SCROLL_TO = """(node, list) => {
  const box = document.querySelector(list);
  const row = node.closest('.row, li');
  box.scrollTop += row.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
}"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with run_service(tmp_path_factory.mktemp("svc")) as svc:
        create_agent(svc, username="ann", password=PASSWORD, display_name="Ann")
        yield svc


def faq(lang: str, faq_id: str) -> tuple[str, dict[str, str]]:
    path = FAQ_ROOT / lang / f"{faq_id}.md"
    parsed, issues = parse_faq(path.read_text(encoding="utf-8"), f"knowledge_base/faq/{lang}/{faq_id}.md", lang)
    assert parsed is not None and not issues
    return parsed.answer, {"type": "faq_answer", "faq_id": parsed.id, "title": parsed.title, "source": parsed.source}


def seed_answers(service: ServiceProcess, conv_id: str, lang: str, *, hostile: bool = False) -> None:
    """What two answered FAQ turns leave in the database: the borrower's question, then the answer with
    its citation and quick replies (turns._store_replies), and a citation left on its own."""
    engine = make_engine(service.env["DATABASE_URL"])
    try:
        with session_scope(engine) as session:
            for question, faq_id in ASKED[lang]:
                answer, cite = faq(lang, faq_id)
                append_message(session, conversation_id=conv_id, sender="borrower", text=question)
                text = f"{answer}\n\n{HOSTILE if hostile else ''}\n\n{CLOSING[lang]}"
                append_message(session, conversation_id=conv_id, sender="bot", text=text, payload={
                    "custom": cite, "buttons": [{"title": t, "payload": p} for t, p in BUTTONS[lang]]})
            append_message(session, conversation_id=conv_id, sender="bot", text="",
                           payload={"custom": faq(lang, ASKED[lang][0][1])[1]})
    finally:
        engine.dispose()


def open_chat(browser: Any, service: ServiceProcess, lang: str, size: str) -> tuple[Any, Any, str]:
    context = browser.new_context(locale="zh-CN" if lang == "zh" else "en-US", viewport=SIZES[size])
    page = context.new_page()
    page.goto(f"{service.url}/")
    page.wait_for_function("() => localStorage.getItem('carloan.chat.conversation') !== null")
    conv_id = page.evaluate("JSON.parse(localStorage.getItem('carloan.chat.conversation')).id")
    return context, page, conv_id


def shoot(page: Any, name: str) -> None:
    folder = os.environ.get("CHAT_SHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


@pytest.mark.parametrize(("size", "hostile"), [("desktop", False), ("phone", False), ("phone", True)])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_chat_page_shows_table_and_list_answers_rendered(
    service: ServiceProcess, browser: Any, lang: str, size: str, hostile: bool
) -> None:
    """Both sizes, and once with hostile markup added to each answer (no screenshots of that one)."""
    from playwright.sync_api import expect

    context, page, conv_id = open_chat(browser, service, lang, size)
    try:
        seed_answers(service, conv_id, lang, hostile=hostile)
        page.reload()
        page.wait_for_selector(".row.bot .bubble.md table")
        bubbles = page.evaluate(RENDERED, ".row.bot .bubble")
        assert len(bubbles) == 2  # the citation left on its own is no empty bubble
        tables = sum(b["tables"] for b in bubbles)
        assert tables == 1 and all(b["unsafe"] == 0 for b in bubbles)
        assert sum(b["items"] for b in bubbles) >= 4 and sum(b["strong"] for b in bubbles) >= 1
        for bubble in bubbles:
            assert "**" not in bubble["text"] and "|---" not in bubble["text"] and "\n| " not in bubble["text"]
            assert "(Source:" not in bubble["text"] and "来源：" not in bubble["text"]
            assert all(href and href.startswith(("https:", "http:", "mailto:", "tel:")) and target == "_blank"
                       and rel == "noopener noreferrer nofollow" for href, target, rel in bubble["links"])
        assert page.evaluate("window.__xss") is None
        # Each citation sits in its answer's column, right under the bubble; the lone one is a chip row.
        cites = page.locator(".row.bot .stack .bubble + .cite")
        expect(cites).to_have_count(2)
        expect(cites.first).to_contain_text(faq(lang, ASKED[lang][0][1])[1]["title"])
        expect(page.locator(".row:not(.bot) > .cite")).to_have_count(1)
        # The borrower's own words are shown as typed, never as markup.
        mine = page.locator(".row.mine .bubble").first
        expect(mine).to_have_text(ASKED[lang][0][0])
        # A wide table scrolls inside its bubble; the page itself never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        if not hostile:
            for kind, selector in (("table", "table"), ("list", "ol, .row.bot .bubble.md ul")):
                page.locator(f".row.bot .bubble.md {selector}").first.evaluate(SCROLL_TO, "#messages")
                page.wait_for_timeout(700)  # smooth scrolling settles
                shoot(page, f"chat-{kind}-{lang}-{size}")
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_console_transcript_shows_the_answers_rendered(service: ServiceProcess, browser: Any, lang: str) -> None:
    from playwright.sync_api import expect

    created = httpx.post(f"{service.url}/api/conversations", json={"lang": lang}, trust_env=False).json()
    seed_answers(service, created["id"], lang, hostile=lang == "en")
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert httpx.post(f"{service.url}/api/conversations/{created['id']}/handoff", json={}, headers=headers,
                      trust_env=False).status_code == 200
    context = browser.new_context(locale="zh-CN" if lang == "zh" else "en-US", viewport={"width": 1366, "height": 850})
    try:
        page = context.new_page()
        page.goto(f"{service.url}/console")
        page.fill("#login-username", "ann")
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_selector("#connection[data-state=online]")
        page.locator(f"li.entry[data-conversation-id='{created['id']}']").click()
        page.wait_for_selector("#transcript li.msg.bot .md table")
        lines = page.evaluate(RENDERED, "#transcript li.msg.bot .md")
        assert len(lines) == 2 and sum(line["tables"] for line in lines) == 1
        assert all(line["unsafe"] == 0 and "**" not in line["text"] and "|---" not in line["text"] for line in lines)
        assert page.evaluate("window.__xss") is None
        expect(page.locator("#transcript li.msg.cite-only")).to_have_count(1)
        expect(page.locator("#transcript li.msg.borrower .text").first).to_have_text(ASKED[lang][0][0])
        page.locator("#transcript li.msg.bot .md table").first.evaluate(SCROLL_TO, "#transcript")
        page.wait_for_timeout(700)
        shoot(page, f"console-transcript-{lang}")
    finally:
        context.close()


def borrower_rows(service: ServiceProcess, conv_id: str, client_message_id: str) -> int:
    engine = make_engine(service.env["DATABASE_URL"])
    try:
        with session_scope(engine, write=False) as session:
            return int(session.scalar(select(func.count()).select_from(Message).where(
                Message.conversation_id == conv_id, Message.client_message_id == client_message_id)) or 0)
    finally:
        engine.dispose()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_message_not_yet_acknowledged_survives_a_reload_and_is_sent_once(
    service: ServiceProcess, browser: Any, lang: str
) -> None:
    """Two ways a message goes unacknowledged: the request never reached the service (the network was
    down), and the service stored it but the answer was lost on the way back (and the socket, silent,
    brought no echo either). The page is closed and opened again: both are shown as pending, resent with
    their client_message_id, and each is stored exactly once."""
    from playwright.sync_api import expect

    context = browser.new_context(locale="zh-CN" if lang == "zh" else "en-US", viewport=SIZES["phone"])
    try:
        page = context.new_page()
        page.route_web_socket("**/ws/**", lambda ws: None)  # a socket that never says anything
        page.goto(f"{service.url}/")
        page.wait_for_function("() => localStorage.getItem('carloan.chat.conversation') !== null")
        conv_id = page.evaluate("JSON.parse(localStorage.getItem('carloan.chat.conversation')).id")
        lost: list[str] = []

        def unacknowledged(route: Any) -> None:
            lost.append(route.request.post_data_json["client_message_id"])
            if len(lost) == 1:
                route.abort("internetdisconnected")
            else:
                route.fetch()  # the service stores the message and answers; the page never hears it
                route.abort("connectionreset")

        page.route(f"**/api/conversations/{conv_id}/messages", unacknowledged)
        first, second = ("first, never arrived", "second, answer lost") if lang == "en" else ("第一条：没有送达", "第二条：回复丢失")
        for n, text in enumerate((first, second), start=1):
            page.fill("#input", text)
            page.press("#input", "Enter")
            page.wait_for_function("(n) => document.querySelectorAll('.row.failed').length === n", arg=n)
        stored = page.evaluate(f"JSON.parse(localStorage.getItem('carloan.chat.pending.{conv_id}'))")
        assert [m["text"] for m in stored] == [first, second] and [m["id"] for m in stored] == lost
        assert borrower_rows(service, conv_id, lost[0]) == 0 and borrower_rows(service, conv_id, lost[1]) == 1
        page.close()  # the tab is closed (or reloaded) with both unacknowledged

        again = context.new_page()
        sent: list[str] = []
        again.on("request", lambda r: r.method == "POST" and r.url.endswith("/messages")
                 and sent.append(r.post_data_json["client_message_id"]))
        held: list[Any] = []

        def hold(route: Any) -> None:  # the resend waits until the page has been seen showing it pending
            held.append(route)

        again.route(f"**/api/conversations/{conv_id}/messages", hold)
        again.goto(f"{service.url}/")
        expect(again.locator(".pending-row .bubble")).to_have_text([first], timeout=15000)  # shown as pending
        while not held:
            again.wait_for_timeout(50)
        held[0].continue_()
        expect(again.locator(".row.mine .bubble", has_text=first)).to_have_count(1, timeout=15000)
        expect(again.locator(".row.mine .bubble", has_text=second)).to_have_count(1)
        expect(again.locator(".pending-row")).to_have_count(0, timeout=15000)
        again.wait_for_function(f"localStorage.getItem('carloan.chat.pending.{conv_id}') === null")
        assert lost[0] in sent and lost[1] not in sent  # the stored one came back with the history
        expect(again.locator(".row.mine")).to_have_count(2)
        assert borrower_rows(service, conv_id, lost[0]) == 1 and borrower_rows(service, conv_id, lost[1]) == 1
    finally:
        context.close()


@pytest.mark.parametrize(("lang", "query", "faq_id"), [
    ("en", "What are the ways I can make a payment?", "payment-methods"),
    ("zh", "还款后多久能到账？", "payment-posting-time-zh"),
])
def test_the_consoles_kb_results_show_a_table_answer_rendered_and_insert_plain_text(
    service: ServiceProcess, browser: Any, lang: str, query: str, faq_id: str
) -> None:
    if not (Path(__file__).resolve().parents[2] / "var" / "kb_index" / "manifest.json").exists():
        pytest.skip("no FAQ index built (make kb)")
    from playwright.sync_api import expect

    created = httpx.post(f"{service.url}/api/conversations", json={"lang": lang}, trust_env=False).json()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert httpx.post(f"{service.url}/api/conversations/{created['id']}/handoff", json={}, headers=headers,
                      trust_env=False).status_code == 200
    context = browser.new_context(locale="zh-CN" if lang == "zh" else "en-US", viewport={"width": 1366, "height": 850})
    try:
        page = context.new_page()
        page.goto(f"{service.url}/console")
        page.fill("#login-username", "ann")
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        page.locator(f"li.entry[data-conversation-id='{created['id']}']").click()
        page.fill("#kb-query", query)
        page.click("#kb-form button[type=submit]")
        page.wait_for_selector("#kb-results li.hit", timeout=120_000)  # the first search loads the model
        hit = page.locator("#kb-results li.hit", has=page.locator(".hit-answer table")).first
        expect(hit.locator(".hit-answer th").first).to_be_visible()
        shown = hit.locator(".hit-answer").inner_text()
        assert "|---" not in shown and "**" not in shown
        shoot(page, f"console-kb-{lang}")
        hit.locator("button.insert").click()
        inserted = page.input_value("#reply-text")
        assert "|" not in inserted and "**" not in inserted and inserted.count("\n") >= 3
    finally:
        context.close()
