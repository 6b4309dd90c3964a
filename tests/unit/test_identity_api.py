"""Borrower sign-in through the API: at the start or mid-chat, reuse refused, conversations linked and
resumed on another device, one borrower never taking over another's conversation, demo off in production."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from borrower_helpers import start
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from handoff.app import create_app
from handoff.config import Settings
from handoff.infra.clock import FakeClock
from handoff.loans.demo import seed_demo_loans


@pytest.fixture
def signin_client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    seed_demo_loans(engine)
    with TestClient(create_app(settings, engine)) as client:
        yield client


def demo_token(client: TestClient, borrower_id: str) -> str:
    resp = client.post("/api/identity/demo/token", json={"borrower_id": borrower_id})
    assert resp.status_code == 200, resp.text
    return str(resp.json()["token"])


def test_sign_in_mid_chat_links_the_conversation_and_a_token_signs_in_once(signin_client: TestClient) -> None:
    cid, auth = start(signin_client)
    token = demo_token(signin_client, "demo-alex")
    first = signin_client.post(f"/api/conversations/{cid}/identity", json={"token": token}, headers=auth)
    assert first.status_code == 200, first.text
    assert (first.json()["verified"], first.json()["borrower_id"], first.json()["name"]) == (
        True, "demo-alex", "Alex Morgan"
    )
    other, other_auth = start(signin_client)
    again = signin_client.post(f"/api/conversations/{other}/identity", json={"token": token}, headers=other_auth)
    assert again.status_code == 401 and again.json()["error"]["code"] == "identity_reused"


def test_the_conversation_says_whether_it_is_signed_in_and_as_whom(signin_client: TestClient) -> None:
    cid, auth = start(signin_client)
    before = signin_client.get(f"/api/conversations/{cid}/identity", headers=auth)
    assert before.status_code == 200
    assert before.json() == {"verified": False, "borrower_id": None, "name": None, "expired": False}
    signin_client.post(
        f"/api/conversations/{cid}/identity", json={"token": demo_token(signin_client, "demo-alex")}, headers=auth
    )
    after = signin_client.get(f"/api/conversations/{cid}/identity", headers=auth)  # a reloaded page asks this
    assert after.json() == {"verified": True, "borrower_id": "demo-alex", "name": "Alex Morgan", "expired": False}
    _other, other_auth = start(signin_client)
    assert signin_client.get(f"/api/conversations/{cid}/identity", headers=other_auth).status_code == 403
    assert signin_client.get(f"/api/conversations/{cid}/identity").status_code == 401


def test_a_token_at_the_start_signs_in_and_lists_the_borrowers_past_conversations(signin_client: TestClient) -> None:
    cid, auth = start(signin_client)
    signin_client.post(
        f"/api/conversations/{cid}/identity", json={"token": demo_token(signin_client, "demo-wang")}, headers=auth
    )
    created = signin_client.post(
        "/api/conversations", json={"lang": "zh", "identity_token": demo_token(signin_client, "demo-wang")}
    )
    assert created.status_code == 201, created.text
    identity = created.json()["identity"]
    assert identity["name"] == "王小明"
    assert [c["id"] for c in identity["past_conversations"]] == [cid]


def test_an_invalid_token_at_the_start_creates_no_conversation(signin_client: TestClient) -> None:
    resp = signin_client.post("/api/conversations", json={"identity_token": "forged.token.value"})
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "identity_invalid"


def test_a_conversation_of_one_borrower_is_never_relinked_to_another(signin_client: TestClient) -> None:
    cid, auth = start(signin_client)
    signin_client.post(
        f"/api/conversations/{cid}/identity", json={"token": demo_token(signin_client, "demo-alex")}, headers=auth
    )
    resp = signin_client.post(
        f"/api/conversations/{cid}/identity", json={"token": demo_token(signin_client, "demo-wang")}, headers=auth
    )
    assert resp.status_code == 409


def test_resume_on_another_device_gives_a_second_token_to_the_latest_open_conversation(
    signin_client: TestClient,
) -> None:
    cid, auth = start(signin_client)
    signin_client.post(
        f"/api/conversations/{cid}/identity", json={"token": demo_token(signin_client, "demo-jordan")}, headers=auth
    )
    resumed = signin_client.post("/api/identity/resume", json={"token": demo_token(signin_client, "demo-jordan")})
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["id"] == cid
    device = {"Authorization": f"Bearer {resumed.json()['token']}"}
    assert signin_client.get(f"/api/conversations/{cid}/messages", headers=device).status_code == 200
    assert signin_client.get(f"/api/conversations/{cid}/messages", headers=auth).status_code == 200
    other, _ = start(signin_client)  # the device token reaches only the resumed conversation
    assert signin_client.get(f"/api/conversations/{other}/messages", headers=device).status_code == 403
    nobody = signin_client.post("/api/identity/resume", json={"token": demo_token(signin_client, "demo-chen")})
    assert nobody.status_code == 404


def test_resume_names_the_borrower_and_a_404_leaves_the_token_for_signing_in_here(signin_client: TestClient) -> None:
    """The chat page tries to resume first with the one token it has (a second browser), and signs in the
    conversation it already has with the same token when there is nothing to resume."""
    cid, auth = start(signin_client)
    token = demo_token(signin_client, "demo-wang")
    assert signin_client.post("/api/identity/resume", json={"token": token}).status_code == 404
    signed_in = signin_client.post(f"/api/conversations/{cid}/identity", json={"token": token}, headers=auth)
    assert signed_in.status_code == 200, signed_in.text
    again = signin_client.post("/api/identity/resume", json={"token": token})  # used now: refused
    assert again.status_code == 401 and again.json()["error"]["code"] == "identity_reused"
    resumed = signin_client.post("/api/identity/resume", json={"token": demo_token(signin_client, "demo-wang")}).json()
    assert (resumed["id"], resumed["borrower_id"], resumed["name"], resumed["verified"]) == (cid, "demo-wang", "王小明", True)


def test_the_demo_sign_in_is_off_in_production(engine: Engine, settings: Settings) -> None:
    production = settings.model_copy(
        update={"APP_ENV": "production", "SECRET_KEY": "s" * 40, "RASA_TOKEN": "r" * 40}
    )
    with TestClient(create_app(production, engine)) as client:
        assert client.get("/api/identity/demo").status_code == 404
        assert client.post("/api/identity/demo/token", json={"borrower_id": "demo-alex"}).status_code == 404
    with pytest.raises(ValueError, match="IDENTITY_DEMO"):
        Settings(**{**production.model_dump(), "IDENTITY_DEMO": True})


def test_the_demo_lists_fictional_borrowers_in_development(signin_client: TestClient) -> None:
    borrowers = signin_client.get("/api/identity/demo").json()["borrowers"]
    assert {b["borrower_id"] for b in borrowers} >= {"demo-alex", "demo-wang", "demo-jordan", "demo-chen"}


def test_a_signed_in_borrower_is_called_back_on_the_contact_on_file(signin_client: TestClient) -> None:
    created = signin_client.post(
        "/api/conversations", json={"identity_token": demo_token(signin_client, "demo-alex")}
    ).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    ticket = signin_client.post(
        f"/api/conversations/{created['id']}/callback", json={"contact_method": "phone"}, headers=auth
    )
    assert ticket.status_code == 201, ticket.text
    assert ticket.json()["contact"].endswith("0100") and "415" not in ticket.json()["contact"]
    anonymous, anonymous_auth = start(signin_client)
    refused = signin_client.post(
        f"/api/conversations/{anonymous}/callback", json={"contact_method": "phone"}, headers=anonymous_auth
    )
    assert refused.status_code == 422 and "none on file" in refused.json()["error"]["message"]


def test_a_sign_in_older_than_its_max_age_reads_no_loans_until_the_borrower_signs_in_again(
    settings: Settings, engine: Engine
) -> None:
    """A chat left open on a shared computer: after BORROWER_SIGNIN_MAX_AGE_S the bot reads no loans and the
    reminder settings are closed, the page hears `expired`; the same borrower signing in again opens both."""
    seed_demo_loans(engine)
    clock = FakeClock()
    app = create_app(settings.model_copy(update={"INTERNAL_API_TOKEN": "t-internal", "BORROWER_SIGNIN_MAX_AGE_S": 600}),
                     engine, clock=clock)
    internal = {"X-Internal-Token": "t-internal"}
    with TestClient(app) as client:
        for lang, borrower in (("en", "demo-alex"), ("zh", "demo-wang")):
            cid, auth = start(client, lang=lang)
            client.post(f"/api/conversations/{cid}/identity", json={"token": demo_token(client, borrower)}, headers=auth)
            assert client.get(f"/internal/conversations/{cid}/account", headers=internal).json()["verified"] is True
            clock.advance(599)
            assert client.get(f"/internal/conversations/{cid}/account", headers=internal).json()["verified"] is True
            clock.advance(2)
            with client.websocket_connect(f"/ws/conversations/{cid}") as ws:  # the page open at that moment
                ws.send_json({"type": "auth", "token": auth["Authorization"].split()[1], "after": 0})
                while ws.receive_json()["type"] != "ready":
                    pass
                expired = client.get(f"/internal/conversations/{cid}/account", headers=internal)
                assert expired.json() == {"verified": False}
                frame = ws.receive_json()
                while frame["type"] == "message":
                    frame = ws.receive_json()
                assert frame == {"type": "identity", "verified": False, "expired": True}
            status = client.get(f"/api/conversations/{cid}/identity", headers=auth).json()
            assert (status["verified"], status["borrower_id"], status["expired"]) == (False, None, True)
            assert client.get(f"/api/conversations/{cid}/reminders/consent", headers=auth).status_code == 403
            again = client.post(
                f"/api/conversations/{cid}/identity", json={"token": demo_token(client, borrower)}, headers=auth
            )
            assert again.status_code == 200, again.text
            assert client.get(f"/internal/conversations/{cid}/account", headers=internal).json()["verified"] is True
            assert client.get(f"/api/conversations/{cid}/reminders/consent", headers=auth).status_code == 200
            assert client.get(f"/api/conversations/{cid}/identity", headers=auth).json()["expired"] is False
