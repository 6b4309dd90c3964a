"""The supervisor dashboard in headless Chromium against the real service process: the live "waiting
without an answer" counter follows a real handoff and a real first reply, a real rating reaches the
per-agent table, the charts are drawn by the vendored uPlot, the CSV links download, Chinese works, an
agent is told the page is for supervisors, and a network failure is said in the page's language."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_process import ServiceProcess, create_agent, run_service

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PASSWORD = "dashboard-test-password"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[ServiceProcess]:
    with run_service(tmp_path / "svc") as svc:
        create_agent(svc, username="sam", password=PASSWORD, role="supervisor", display_name="Sam")
        create_agent(svc, username="ann", password=PASSWORD, display_name="Ann")
        yield svc


@pytest.fixture
def browser_page(browser: Any) -> tuple[Any, list[str]]:
    page = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


def api(service: ServiceProcess, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{service.url}{path}", trust_env=False, timeout=10, **kwargs)


def log_in(page: Any, service: ServiceProcess, username: str) -> None:
    """Log in on the console; a supervisor follows its Dashboard link, an agent (who has none) types it."""
    page.goto(f"{service.url}/console")
    page.fill("#login-username", username)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#main-view:not([hidden])")
    if username == "sam":
        page.click("#dashboard-link")
        page.wait_for_url("**/console/dashboard")
    else:
        assert page.is_hidden("#dashboard-link")
        page.goto(f"{service.url}/console/dashboard")


def wait_for_text(page: Any, selector: str, text: str, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while page.inner_text(selector).strip() != text:
        assert time.monotonic() < deadline, f"{selector} is {page.inner_text(selector)!r}, not {text!r}"
        time.sleep(0.2)


def test_live_counter_agents_table_csv_and_chinese(service: ServiceProcess, browser_page: Any) -> None:
    page, errors = browser_page
    log_in(page, service, "sam")
    page.wait_for_selector("#board:not([hidden])")
    assert page.inner_text("#waiting-count") == "0"
    assert page.get_attribute("#waiting", "data-level") == "zero"
    assert page.locator("#chart-hours canvas").count() >= 1 and page.locator("#chart-satisfaction canvas").count() >= 1
    assert page.locator("#heatmap .hm-row").count() == 8  # a header and seven days

    created = api(service, "POST", "/api/conversations", json={"lang": "en"}).json()
    borrower = {"Authorization": f"Bearer {created['token']}"}
    cid = created["id"]
    assert api(service, "POST", f"/api/conversations/{cid}/handoff", headers=borrower).status_code == 200
    wait_for_text(page, "#waiting-count", "1")  # the live counter polls without a reload
    assert page.inner_text("#waiting-queue") == "1"

    token = api(service, "POST", "/api/agent/login", json={"username": "ann", "password": PASSWORD}).json()["token"]
    ann = {"Authorization": f"Bearer {token}"}
    assert api(service, "POST", "/api/agent/queue/next", headers=ann).status_code == 200
    assert api(service, "POST", f"/api/agent/conversations/{cid}/messages", headers=ann,
               json={"text": "Hello, Ann here."}).status_code == 200
    wait_for_text(page, "#waiting-count", "0")
    assert api(service, "POST", f"/api/agent/conversations/{cid}/close", headers=ann,
               json={"resolution_code": "resolved"}).status_code == 200
    assert api(service, "POST", f"/api/conversations/{cid}/survey", headers=borrower,
               json={"rating": 5, "comment": "great"}).status_code == 201

    page.click("#filters button[type=submit]")
    page.wait_for_selector("#table-agents td:text-is('Ann')")
    row = [c.strip() for c in page.locator("#table-agents tbody tr").first.locator("td").all_inner_texts()]
    assert row[0] == "Ann" and row[1] == "1" and row[4] == "5.0" and row[5] == "1"
    assert "Asked for a person" in page.inner_text("#table-reasons")
    assert page.locator(".kpi").nth(6).locator(".kpi-value").inner_text() == "5.0 / 5"

    href = page.get_attribute("a.csv[data-table='agents']", "href")
    csv = page.request.get(f"{service.url}{href}")
    assert csv.ok and csv.headers["content-type"].startswith("text/csv")
    assert csv.text().splitlines()[0].startswith("agent_id,name,chats") and ",Ann,1," in csv.text()

    page.click("[data-lang-toggle]")
    assert page.inner_text("h1") == "主管看板"
    assert page.inner_text("#waiting .hero-label") == "等待人工回复的客户"
    assert "要求转人工" in page.inner_text("#table-reasons")
    assert errors == []


def test_an_agent_is_told_the_dashboard_is_for_supervisors(service: ServiceProcess, browser_page: Any) -> None:
    page, errors = browser_page
    log_in(page, service, "ann")
    page.wait_for_selector("#notice:not([hidden])")
    assert "supervisors" in page.inner_text("#notice") and page.is_hidden("#board")
    page.goto(f"{service.url}/console/dashboard")  # reload, still refused; nothing is drawn
    page.wait_for_selector("#notice:not([hidden])")
    assert errors == []


@pytest.mark.parametrize(("locale", "said"), [("en-US", "the service cannot be reached"), ("zh-CN", "无法连接服务")])
def test_a_network_failure_is_said_in_the_pages_language(
    service: ServiceProcess, browser: Any, locale: str, said: str
) -> None:
    page = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900}).new_page()
    log_in(page, service, "sam")
    page.wait_for_selector("#board:not([hidden])")
    page.route("**/api/agent/dashboard?*", lambda route: route.abort())  # the figures' call fails on the wire
    page.reload()
    page.wait_for_selector("#notice:not([hidden])")
    assert said in page.inner_text("#notice")
    assert "Failed to fetch" not in page.inner_text("#notice")
    page.context.close()


@pytest.mark.parametrize(("locale", "question", "thanks"), [
    ("en-US", "How did we do? Rate this chat (optional)", "Thank you for your feedback."),
    ("zh-CN", "请为本次服务评分（可选）", "感谢您的反馈。"),
])
def test_borrower_rates_the_chat_after_the_agent_closed_it(service: ServiceProcess, browser: Any, locale: str,
                                                           question: str, thanks: str) -> None:
    page = browser.new_context(locale=locale, viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{service.url}/")
    page.wait_for_function("() => localStorage.getItem('carloan.chat.conversation')")
    saved = page.evaluate("() => JSON.parse(localStorage.getItem('carloan.chat.conversation'))")
    borrower = {"Authorization": f"Bearer {saved['token']}"}
    cid = saved["id"]
    assert api(service, "POST", f"/api/conversations/{cid}/handoff", headers=borrower).status_code == 200
    login = api(service, "POST", "/api/agent/login", json={"username": "ann", "password": PASSWORD})
    ann = {"Authorization": f"Bearer {login.json()['token']}"}
    assert api(service, "POST", "/api/agent/queue/next", headers=ann).status_code == 200
    for n in range(8):  # enough for the message list to scroll on a phone
        api(service, "POST", f"/api/agent/conversations/{cid}/messages", headers=ann, json={"text": f"Step {n}. Done!"})
    page.wait_for_selector(".row.agent .bubble >> text=Step 7. Done!", timeout=15000)
    closed = api(service, "POST", f"/api/agent/conversations/{cid}/close", headers=ann,
                 json={"resolution_code": "resolved"})
    assert closed.status_code == 200
    page.wait_for_selector("#survey:not([hidden]) .survey-stars", timeout=15000)
    assert page.inner_text("#survey .survey-question") == question
    assert page.is_disabled("#survey-send")
    # The survey took room from the message list: its last message (the closing note) is still in view.
    page.wait_for_timeout(300)
    assert page.evaluate("""() => { const list = document.getElementById('messages');
      return list.scrollHeight > list.clientHeight
        && list.lastElementChild.getBoundingClientRect().bottom <= list.getBoundingClientRect().bottom + 1; }""")
    page.locator("#survey .star").nth(3).click()
    page.fill("#survey-comment", "耐心 / patient")
    page.click("#survey-send")
    page.wait_for_selector("#survey .survey-thanks")
    assert page.inner_text("#survey .survey-thanks") == thanks
    state = api(service, "GET", f"/api/conversations/{cid}/survey", headers=borrower).json()
    assert state == {"offered": True, "answered": True, "rating": 4}
