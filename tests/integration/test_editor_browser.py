"""The editors' unanswered-questions page in headless Chromium against the real service process (real
embedder, real database): an editor lands on it after logging in to the console, sees the week's clusters,
marks one as answered by an FAQ (the test-questions file next to the FAQs gets its wordings), reads it in
Chinese on a phone; an agent is refused; the dashboard's team filter narrows the agents' table."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from service_process import ServiceProcess, create_agent, run_service

from handoff.infra import db
from handoff.models import Agent, Conversation, QueueEntry, TurnOutcome

pytestmark = [pytest.mark.integration, pytest.mark.browser]
SHOTS = os.environ.get("EDITOR_SHOTS")  # a folder: screenshots for looking at, when set

PASSWORD = "editor-test-password"
FAQ = Path(__file__).resolve().parents[2] / "knowledge_base" / "faq"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "faq"
    shutil.copytree(FAQ, folder)
    return folder


@pytest.fixture
def service(tmp_path: Path, source: Path) -> Iterator[ServiceProcess]:
    with run_service(tmp_path / "svc", KB_SOURCE=str(source), KB_INDEX_DIR=str(tmp_path / "no-index")) as svc:
        create_agent(svc, username="eve", password=PASSWORD, role="editor", display_name="Eve")
        create_agent(svc, username="ann", password=PASSWORD, display_name="Ann", team="east")
        create_agent(svc, username="sam", password=PASSWORD, role="supervisor", display_name="Sam")
        yield svc


def seed(service: ServiceProcess) -> None:
    """Yesterday and today: bitcoin asked three times (one wording twice), a towed car twice, a Chinese
    question once; Ann (team east) took one chat."""
    engine = db.make_engine(service.env["DATABASE_URL"])
    now = datetime.now(UTC)
    try:
        with db.session_scope(engine) as s:
            s.add_all([Conversation(id=c, token_hash="0" * 64, lang=lang, last_seq=4, state="closed")
                       for c, lang in (("e1", "en"), ("e2", "en"), ("z1", "zh"))])
            s.flush()
            earlier = now - timedelta(hours=20)
            s.add_all([
                TurnOutcome(conversation_id="e1", at=earlier, kind="none", question="can I pay with bitcoin",
                            faq_id="payment-methods", score=0.41),
                TurnOutcome(conversation_id="e1", at=now - timedelta(minutes=5), kind="none",
                            question="can I pay with bitcoin", faq_id="payment-methods", score=0.44),
                TurnOutcome(conversation_id="e2", at=now - timedelta(minutes=4), kind="clarify",
                            question="do you take bitcoin payments", faq_id="payment-methods", score=0.52),
                TurnOutcome(conversation_id="e2", at=earlier, kind="fallback", question="my car was towed"),
                TurnOutcome(conversation_id="e2", at=earlier, kind="none", question="my car got towed last night"),
                TurnOutcome(conversation_id="z1", at=earlier, kind="none", lang="zh", question="可以用比特币还款吗"),
            ])
            ann = s.query(Agent).filter_by(username="ann").one()
            s.add(QueueEntry(conversation_id="e1", lang="en", reason="explicit_request", status="done",
                             enqueued_at=earlier, assigned_agent_id=ann.id, assigned_at=earlier,
                             first_agent_reply_at=earlier + timedelta(seconds=30),
                             answered_at=earlier + timedelta(seconds=30), closed_at=earlier + timedelta(minutes=9),
                             resolution_code="resolved"))
    finally:
        engine.dispose()


def new_page(browser: Any, *, locale: str = "en-US", phone: bool = False) -> tuple[Any, list[str]]:
    viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 900}
    page = browser.new_context(locale=locale, viewport=viewport).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


def log_in(page: Any, service: ServiceProcess, username: str) -> None:
    page.goto(f"{service.url}/console")
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")


def test_an_editor_marks_a_cluster_answered(service: ServiceProcess, browser: Any, source: Path) -> None:
    seed(service)
    before = (source / "test-questions.tsv").read_text("utf-8").splitlines()  # the editors' own questions
    page, errors = new_page(browser)
    log_in(page, service, "eve")
    page.wait_for_url("**/console/unanswered")  # an editor has no queue to see
    page.wait_for_selector("#report:not([hidden]) .cluster", timeout=120_000)  # the model loads on first use
    assert page.is_hidden("#dashboard-link") and page.is_visible("#logout")
    cards = page.locator(".cluster")
    assert cards.count() == 3
    first = cards.first
    assert first.locator(".lead").inner_text() == "“can I pay with bitcoin”"
    assert first.locator(".count").inner_text() == "3× asked"
    assert first.locator(".examples li").all_inner_texts() == ["do you take bitcoin payments"]
    assert "payment-methods" in first.locator(".nearest").inner_text() and "0.52" in first.locator(".nearest").inner_text()
    assert first.locator("select.faq-pick").input_value() == "payment-methods"  # the nearest FAQ, preselected
    first.locator("button.mark").click()
    page.wait_for_selector(".cluster.done .filed")
    assert "Added 2 wordings" in page.inner_text("#toast")
    lines = (source / "test-questions.tsv").read_text("utf-8").splitlines()
    assert lines == before + [
        "can I pay with bitcoin\tpayment-methods\ten", "do you take bitcoin payments\tpayment-methods\ten"]
    assert "Filed as test questions of" in page.locator(".cluster.done .filed").inner_text()

    second = cards.nth(1)  # no FAQ picked: the button is disabled and looks it (grey, not a faded brand blue)
    second.locator("select.faq-pick").select_option("")
    mark = second.locator("button.mark")
    assert mark.is_disabled()
    assert mark.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(238, 241, 244)"
    assert mark.evaluate("b => getComputedStyle(b).opacity") == "1"
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/editor-mark-disabled.png")
    second.locator("select.faq-pick").select_option(index=1)
    assert mark.is_enabled() and mark.evaluate("b => getComputedStyle(b).backgroundColor") != "rgb(238, 241, 244)"

    page.select_option("#f-lang", "zh")
    page.click("#filters button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('.cluster').length === 1")
    page.click("[data-lang-toggle]")
    assert page.inner_text("h1") == "未解答的问题"
    assert page.locator(".cluster .count").inner_text() == "被问 1 次"
    assert page.locator(".cluster .lang-tag").inner_text() == "中文"
    assert errors == []


def test_chinese_on_a_phone_and_an_agent_refused(service: ServiceProcess, browser: Any) -> None:
    seed(service)
    page, errors = new_page(browser, locale="zh-CN", phone=True)
    log_in(page, service, "eve")
    page.wait_for_selector("#report:not([hidden]) .cluster", timeout=120_000)
    assert page.inner_text("h1") == "未解答的问题" and page.inner_text("#logout") == "退出登录"
    assert "个未解答的问题，共 3 组" in page.inner_text("#summary")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    agent, agent_errors = new_page(browser)
    log_in(agent, service, "ann")
    agent.wait_for_selector("#main-view:not([hidden])")
    assert agent.is_hidden("#unanswered-link")
    agent.goto(f"{service.url}/console/unanswered")
    agent.wait_for_selector("#notice:not([hidden])")
    assert "editors, supervisors and admins" in agent.inner_text("#notice") and agent.is_hidden("#report")
    assert errors == [] and agent_errors == []


def test_dashboard_team_filter(service: ServiceProcess, browser: Any) -> None:
    seed(service)
    page, errors = new_page(browser)
    log_in(page, service, "sam")
    page.wait_for_selector("#main-view:not([hidden])")
    assert page.is_visible("#unanswered-link")
    page.click("#dashboard-link")
    page.wait_for_selector("#board:not([hidden])")
    page.wait_for_selector("#f-team option[value='east']", state="attached")
    page.select_option("#f-team", "east")
    page.click("#filters button[type=submit]")
    page.wait_for_selector("#table-agents td:text-is('Ann')")
    assert page.locator("#table-agents tbody tr").count() == 1
    assert page.locator(".kpi").first.locator(".scope-tag").inner_text() == "all teams"  # containment: the bot's
    assert page.locator(".kpi").nth(1).locator(".scope-tag").count() == 0  # first response: the team's
    href = page.get_attribute("a.csv[data-table='agents']", "href")
    assert "team=east" in href and ",Ann,1," in page.request.get(f"{service.url}{href}").text()
    assert errors == []
