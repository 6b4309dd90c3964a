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
