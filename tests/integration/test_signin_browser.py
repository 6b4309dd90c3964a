"""The chat page's sign-in in headless Chromium against the real service process: the development demo
sign-in with a fictional borrower (en and zh), sign-in from `#identity_token=` as the lender's page would
link it, and no demo at all in production."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_process import APP_PYTHON, ROOT, ServiceProcess, run_service
from sqlalchemy import select

from handoff.infra.db import make_engine, session_scope
from handoff.models import Conversation

pytestmark = [pytest.mark.integration, pytest.mark.browser]



@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    with run_service(tmp_path / "svc") as svc:
        subprocess.run([str(APP_PYTHON), "-m", "handoff", "seed-demo-loans"], cwd=ROOT, env=svc.env, check=True,
                       capture_output=True, timeout=60)
        yield svc


def linked_borrowers(service: ServiceProcess) -> list[str | None]:
    engine = make_engine(service.env["DATABASE_URL"])
    try:
        with session_scope(engine, write=False) as session:
            return list(session.scalars(select(Conversation.borrower_id).order_by(Conversation.created_at)))
    finally:
        engine.dispose()


@pytest.mark.parametrize(("locale", "borrower", "shown"), [
    ("en-US", "demo-alex", "Signed in as Alex Morgan"), ("zh-CN", "demo-wang", "已登录：王小明"),
])
def test_the_demo_sign_in_links_the_conversation(
    service: ServiceProcess, browser: Any, locale: str, borrower: str, shown: str
) -> None:
    page = browser.new_context(locale=locale).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{service.url}/")
    page.wait_for_selector("#signin-bar:not([hidden])", timeout=15_000)
    page.select_option("#signin-borrower", borrower)
    page.click("#signin-button")
    page.wait_for_selector("#signin-label[hidden]", state="attached", timeout=15_000)
    assert shown in page.text_content("#signin-who")
    assert linked_borrowers(service) == [borrower] and errors == []


def test_a_token_in_the_fragment_signs_in_and_leaves_the_address(service: ServiceProcess, browser: Any) -> None:
    token = httpx.post(f"{service.url}/api/identity/demo/token", json={"borrower_id": "demo-chen"},
                       trust_env=False).json()["token"]
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{service.url}/#identity_token={token}")
    page.wait_for_selector("#signin-label[hidden]", state="attached", timeout=15_000)
    assert "陈静" in page.text_content("#signin-who") and "identity_token" not in page.url
    assert linked_borrowers(service) == ["demo-chen"]


def test_production_shows_no_demo_sign_in(tmp_path: Path, browser: Any) -> None:
    with run_service(tmp_path / "prod", APP_ENV="production", SECRET_KEY="s" * 40, RASA_TOKEN="r" * 40) as svc:
        page = browser.new_context(locale="en-US").new_page()
        page.goto(f"{svc.url}/")
        page.wait_for_selector("#welcome", timeout=15_000)
        page.wait_for_timeout(1000)  # the demo check has answered by now
        assert page.is_hidden("#signin-bar")
        assert httpx.get(f"{svc.url}/api/identity/demo", trust_env=False).status_code == 404


SIGNED_IN = {"en": "Signed in as Alex Morgan. Ask about your own loan", "zh": "已登录：王小明。您可以随时咨询本人贷款的问题。"}
RESUMED = {"en": "Signed in as Alex Morgan. Your conversation continues here.", "zh": "已登录：王小明。已为您接续之前的对话。"}


def demo_signed_in(browser: Any, service: ServiceProcess, locale: str, borrower: str) -> Any:
    page = browser.new_context(locale=locale, viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{service.url}/")
    page.wait_for_selector("#signin-bar:not([hidden])", timeout=15_000)
    page.select_option("#signin-borrower", borrower)
    page.click("#signin-button")
    page.wait_for_selector("#signin-label[hidden]", state="attached", timeout=15_000)
    return page


def stored_conversation(page: Any) -> str:
    return str(page.evaluate("JSON.parse(localStorage.getItem('carloan.chat.conversation')).id"))


@pytest.mark.parametrize(("lang", "locale", "borrower", "first", "second", "reply"), [
    ("en", "en-US", "demo-alex", "When is my next payment due?", "Also, can I change the due date?", "Thanks, got it."),
    ("zh", "zh-CN", "demo-wang", "我下一期什么时候还款？", "还款日可以改吗？", "好的，谢谢。"),
])
def test_a_second_browser_signing_in_resumes_the_borrowers_conversation_with_its_history(
    service: ServiceProcess, browser: Any, lang: str, locale: str, borrower: str, first: str, second: str, reply: str
) -> None:
    from playwright.sync_api import expect

    phone = demo_signed_in(browser, service, locale, borrower)
    expect(phone.locator("#signin-who")).to_contain_text(SIGNED_IN[lang])  # nothing to resume: signed in here
    phone.fill("#input", first)
    phone.press("#input", "Enter")
    expect(phone.locator(".row.mine .bubble", has_text=first)).to_be_visible(timeout=10_000)
    conv_id = stored_conversation(phone)

    errors: list[str] = []
    laptop = demo_signed_in(browser, service, locale, borrower)  # the same borrower in another browser
    laptop.on("pageerror", lambda exc: errors.append(str(exc)))
    expect(laptop.locator("#signin-who")).to_have_text(RESUMED[lang])
    expect(laptop.locator(".row.mine .bubble", has_text=first)).to_be_visible(timeout=10_000)  # the history
    assert stored_conversation(laptop) == conv_id
    expect(laptop.locator("#welcome")).to_be_hidden()
    shown = laptop.locator("#messages [data-seq]").count()
    assert shown == phone.locator("#messages [data-seq]").count() >= 2  # what the phone shows, the bot's notice too

    phone.fill("#input", second)  # both follow the one conversation live, each way
    phone.press("#input", "Enter")
    expect(laptop.locator(".row.mine .bubble", has_text=second)).to_be_visible(timeout=10_000)
    laptop.fill("#input", reply)
    laptop.press("#input", "Enter")
    expect(phone.locator(".row.mine .bubble", has_text=reply)).to_be_visible(timeout=10_000)
    laptop.reload()  # the resumed conversation is this browser's now
    expect(laptop.locator(".row.mine .bubble", has_text=first)).to_be_visible(timeout=10_000)
    assert stored_conversation(laptop) == conv_id and errors == []
    assert linked_borrowers(service).count(borrower) == 1  # one conversation of the borrower's, not two



SIGNED_IN_LINE = {"en": "Signed in as {name}. Ask about your own loan at any hour.",
                  "zh": "已登录：{name}。您可以随时咨询本人贷款的问题。"}


@pytest.mark.parametrize(("lang", "locale", "borrower", "name"), [
    ("en", "en-US", "demo-alex", "Alex Morgan"), ("zh", "zh-CN", "demo-wang", "王小明"),
])
def test_a_reload_keeps_the_borrower_signed_in_for_the_same_conversation(
    service: ServiceProcess, browser: Any, lang: str, locale: str, borrower: str, name: str
) -> None:
    from playwright.sync_api import expect

    page = demo_signed_in(browser, service, locale, borrower)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    conv_id = stored_conversation(page)
    page.reload()
    expect(page.locator("#signin-who")).to_have_text(SIGNED_IN_LINE[lang].format(name=name), timeout=15_000)
    expect(page.locator("#signin-borrower")).to_be_hidden()  # not asked to sign in again
    expect(page.locator("#signin-button")).to_be_hidden()
    expect(page.locator("#demo-reminder")).to_be_visible()  # still the demo borrower's page
    assert stored_conversation(page) == conv_id
    stored = page.evaluate("JSON.stringify(Object.assign({}, localStorage))")
    assert "eyJ" not in stored  # no identity token (a JWT) kept by the page: the service says who signed in
    account = httpx.get(f"{service.url}/internal/conversations/{conv_id}/account", trust_env=False,
                        headers={"X-Internal-Token": service.env.get("INTERNAL_API_TOKEN", "change-me-internal-token")})
    assert account.status_code == 200 and account.json()["verified"] is True  # what the bot's account answers read
    page.click("#lang-toggle")  # the sign-in line follows the language
    other = "zh" if lang == "en" else "en"
    expect(page.locator("#signin-who")).to_have_text(SIGNED_IN_LINE[other].format(name=name))
    assert errors == [] and linked_borrowers(service) == [borrower]


def test_a_reload_of_a_conversation_nobody_signed_in_still_offers_the_sign_in(
    service: ServiceProcess, browser: Any
) -> None:
    page = browser.new_context(locale="en-US").new_page()
    page.goto(f"{service.url}/")
    page.wait_for_selector("#signin-bar:not([hidden])", timeout=15_000)
    page.reload()
    page.wait_for_selector("#signin-bar:not([hidden])", timeout=15_000)
    assert page.is_visible("#signin-button") and page.text_content("#signin-who") == ""
    assert linked_borrowers(service) == [None]
