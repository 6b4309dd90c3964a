"""Issue 13, item 1 with the real processes: while the Rasa server is frozen (SIGSTOP: it accepts
connections and answers nothing), a borrower who asks for a person - in English or Chinese - or is angry
is queued within 2 s with reason `bot_unavailable` plus what the local detector heard; an ordinary
question still gets the honest fallback; /readyz says 503 meanwhile and 200 again after.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from production_layout import frozen
from rasa_stack import RasaStack
from service_process import ServiceProcess, create_agent, run_service

pytestmark = pytest.mark.integration

QUEUED_WITHIN_S = 2.0
RASA_TIMEOUT_S = "5"
PASSWORD = "a-long-password"


@pytest.fixture(scope="module")
def service(stack: RasaStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with run_service(
        Path(tmp_path_factory.mktemp("bot_down")), RASA_URL=stack.rasa_url, RASA_TOKEN=stack.rasa_token,
        RASA_TIMEOUT_S=RASA_TIMEOUT_S, ACTION_SERVER_URL=stack.action_url,
    ) as running:
        create_agent(running, username="sup", password=PASSWORD, role="supervisor")
        yield running


def _borrower(service: ServiceProcess, lang: str) -> tuple[httpx.Client, str]:
    http = httpx.Client(base_url=service.url, trust_env=False, timeout=30)
    created = http.post("/api/conversations", json={"lang": lang}).json()
    http.headers["Authorization"] = f"Bearer {created['token']}"
    return http, created["id"]


def _say(http: httpx.Client, conversation_id: str, text: str) -> tuple[float, dict]:
    started = time.monotonic()
    resp = http.post(f"/api/conversations/{conversation_id}/messages",
                     json={"text": text, "client_message_id": uuid.uuid4().hex})
    assert resp.status_code == 200, resp.text
    return time.monotonic() - started, resp.json()


def _packet(service: ServiceProcess, conversation_id: str) -> dict:
    with httpx.Client(base_url=service.url, trust_env=False, timeout=30) as agent:
        agent.post("/api/agent/login", json={"username": "sup", "password": PASSWORD}).raise_for_status()
        detail = agent.get(f"/api/agent/conversations/{conversation_id}")
        detail.raise_for_status()
        return dict(detail.json()["packet"]) | {"entry": detail.json()["entry"]}


@pytest.mark.parametrize(("lang", "text", "detected", "priority"), [
    ("en", "let me talk to someone real", "explicit_request", "normal"),
    ("zh", "转人工客服", "explicit_request", "normal"),
    ("en", "This is useless, you people are idiots!!", "anger", "urgent"),
    ("zh", "你们就是骗子，我要投诉", "anger", "urgent"),
])
def test_frozen_rasa_queues_a_request_for_a_person_within_2_s(
    stack: RasaStack, service: ServiceProcess, lang: str, text: str, detected: str, priority: str
) -> None:
    http, conversation_id = _borrower(service, lang)
    with frozen(stack.processes["rasa"]):
        elapsed, turn = _say(http, conversation_id, text)
        ready = httpx.get(f"{service.url}/readyz", trust_env=False, timeout=10)
    assert elapsed < QUEUED_WITHIN_S, f"queued after {elapsed:.2f} s"
    assert turn["state"] == "queued", turn
    assert ready.status_code == 503 and ready.json()["checks"]["rasa"]["ok"] is False
    system = [m["text"] for m in turn["messages"] if m["sender"] == "system"]
    assert any(("connecting you with a person" in t) if lang == "en" else ("转接人工客服" in t) for t in system)
    packet = _packet(service, conversation_id)
    assert packet["reason"] == "bot_unavailable" and packet["detected"]["reason"] == detected
    assert packet["priority"] == priority == packet["entry"]["priority"]
    http.close()


def test_ordinary_question_still_gets_the_honest_fallback_and_readiness_recovers(
    stack: RasaStack, service: ServiceProcess
) -> None:
    http, conversation_id = _borrower(service, "en")
    with frozen(stack.processes["rasa"]):
        elapsed, turn = _say(http, conversation_id, "How do I get a payoff quote?")
    assert turn["state"] == "bot" and elapsed < 10
    assert any((m.get("payload") or {}).get("custom", {}).get("type") == "bot_unavailable" for m in turn["messages"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if httpx.get(f"{service.url}/readyz", trust_env=False, timeout=10).status_code == 200:
            break
        time.sleep(0.5)
    else:
        pytest.fail("/readyz did not come back to 200 after Rasa was thawed")
    assert httpx.get(f"{service.url}/healthz", trust_env=False, timeout=10).status_code == 200
    http.close()


@pytest.mark.browser
@pytest.mark.parametrize(("locale", "text", "note"), [
    ("en-US", "let me talk to someone real", "You are waiting for a person"),
    ("zh-CN", "转人工客服", "正在为您转接人工客服"),
])
def test_the_chat_page_queues_an_explicit_request_within_2_s_while_rasa_is_frozen(
    stack: RasaStack, service: ServiceProcess, browser: Any, locale: str, text: str, note: str
) -> None:
    """The same in Chromium: from pressing Enter to the page showing the queue panel and saying that a person
    will answer, while the Rasa server is stopped."""
    from playwright.sync_api import expect

    page = browser.new_context(locale=locale, viewport={"width": 390, "height": 844}).new_page()
    page.goto(f"{service.url}/")
    page.wait_for_function("() => localStorage.getItem('carloan.chat.conversation') !== null")
    page.wait_for_selector("#status-text")
    with frozen(stack.processes["rasa"]):
        page.fill("#input", text)
        started = time.monotonic()
        page.press("#input", "Enter")
        expect(page.locator("#queue-panel")).to_be_visible(timeout=QUEUED_WITHIN_S * 1000)
        elapsed = time.monotonic() - started
        expect(page.locator("#disclosure-text")).to_contain_text(note)
    assert elapsed < QUEUED_WITHIN_S, f"queued after {elapsed:.2f} s"
    expect(page.locator(".row.mine .bubble")).to_have_text([text])
