"""Cross-site requests and page headers (issue 11, item 9).

Reproduced before the fix: with `Origin: https://evil.example` and a `text/plain` body, the agent's
cookie claimed a chat through `POST /api/agent/queue/next`; `/ws/agent` accepted any Origin; the
pages' HTML under /static/... came without CSP; connect-src allowed any ws:/wss: host; no HSTS in
production; /docs loaded Swagger UI from a CDN.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from agent_support import make_agent, make_settings, token_for, waiting_borrower
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.websockets import WebSocketDisconnect

from handoff.app import create_app
from handoff.infra.clock import FakeClock

EVIL = "https://evil.example"
SAME = "http://testserver"  # the TestClient's own origin
PAGES = ("/", "/console", "/static/chat/index.html", "/static/console/index.html", "/docs")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def client_for(engine: Engine, clock: FakeClock, **settings: Any) -> TestClient:
    return TestClient(create_app(make_settings(DATABASE_URL=str(engine.url), **settings), engine, clock=clock))


@pytest.fixture
def api(engine: Engine, clock: FakeClock) -> Iterator[TestClient]:
    origins = "https://app.example, https://chat.example:8443, capacitor://localhost"
    with client_for(engine, clock, ALLOWED_ORIGINS=origins) as client:
        yield client


def cookie_of(api: TestClient, username: str) -> dict[str, str]:
    return {"cookie": f"agent_session={token_for(api, username)}"}


def test_a_cross_site_form_post_cannot_use_the_agent_cookie(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    make_agent(engine, clock, "ann")
    cookie = cookie_of(api, "ann")
    waiting_borrower(api)
    attack = api.post("/api/agent/queue/next", content="x", headers={
        **cookie, "origin": EVIL, "content-type": "text/plain"})
    assert attack.status_code == 403 and attack.json()["error"]["code"] == "forbidden"
    assert "origin" in attack.json()["error"]["message"]
    assert api.get("/api/agent/queue", headers=cookie).json()["entries"][0]["status"] == "waiting"
    for origin in (SAME, "https://app.example", "https://chat.example:8443"):  # own and configured origins
        assert api.post("/api/agent/me/status", json={"status": "online"},
                        headers={**cookie, "origin": origin}).status_code == 200
    assert api.post("/api/agent/queue/next", headers=cookie).status_code == 200  # no Origin: not a browser
    for origin in ("null", "http://testserver.evil.example", "https://chat.example"):
        assert api.post("/api/agent/me/status", json={"status": "online"},
                        headers={**cookie, "origin": origin}).status_code == 403
    login = api.post("/api/agent/login", json={"username": "ann", "password": "x" * 12}, headers={"origin": EVIL})
    assert login.status_code == 403  # no login CSRF either
    assert api.get("/api/agent/me", headers={**cookie, "origin": EVIL}).status_code == 200  # reads are fine


def test_the_borrower_api_takes_no_cookie_and_is_not_checked(api: TestClient) -> None:
    """Its bearer token is never sent by the browser on its own, so another page cannot use it; an app's
    web view with its own origin keeps working without configuration."""
    started = api.post("/api/conversations", json={"lang": "en"}, headers={"origin": "capacitor://localhost"})
    assert started.status_code == 201
    with_cookie = api.post("/api/conversations", json={"lang": "en"},
                           headers={"origin": EVIL, "cookie": "agent_session=whatever"})
    assert with_cookie.status_code == 403  # the agent's cookie rides along: checked wherever it goes


def test_both_websockets_refuse_a_foreign_origin(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    make_agent(engine, clock, "ann")
    cookie = cookie_of(api, "ann")
    conversation_id, _ = waiting_borrower(api)
    for path in ("/ws/agent", f"/ws/conversations/{conversation_id}"):
        with pytest.raises(WebSocketDisconnect) as refused, \
                api.websocket_connect(path, headers={**cookie, "origin": EVIL}) as ws:
            ws.receive_json()
        assert refused.value.code == 4403
    for origin in (SAME, "capacitor://localhost"):
        with api.websocket_connect("/ws/agent", headers={**cookie, "origin": origin}) as ws:
            assert ws.receive_json()["type"] == "hello"


@pytest.mark.parametrize("path", PAGES)
def test_every_html_response_has_the_page_headers(api: TestClient, path: str) -> None:
    page = api.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert re.search(r"connect-src 'self'(;|$)", csp), csp  # same origin only: no ws:/wss: to anywhere
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in page.headers  # development


def test_hsts_in_production(engine: Engine, clock: FakeClock) -> None:
    secrets = {"SECRET_KEY": "s" * 32, "RASA_TOKEN": "r" * 32, "APP_ENV": "production"}
    with client_for(engine, clock, **secrets) as api:
        for path in ("/", "/healthz", "/static/chat/chat.js"):
            assert api.get(path).headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_docs_come_from_the_package_not_a_cdn(api: TestClient) -> None:
    page = api.get("/docs").text
    assert not re.search(r"""(?:src|href)=["']https?://""", page), page
    assets = re.findall(r"""(?:src|href)=["'](/[^"']+)["']""", page)
    assert {"/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js"} <= set(assets)
    for asset in assets:
        answer = api.get(asset)
        assert answer.status_code == 200, asset
        assert len(answer.content) > (100_000 if "swagger-ui" in asset else 10)
    assert "<script>" not in page  # no inline script: the page's CSP allows none
    assert api.get("/redoc").status_code == 404  # it would load from a CDN too
