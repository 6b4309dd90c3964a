"""Token isolation, size and rate limits, malformed input: always a 4xx in the one error shape."""

from __future__ import annotations

import pytest
from borrower_helpers import start
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from starlette.websockets import WebSocketDisconnect

from handoff.app import create_app
from handoff.config import Settings
from handoff.infra.token_cache import TokenHashes


def assert_error(resp, status: int, code: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code and body["error"]["message"]


def test_a_token_reaches_only_its_own_conversation(client: TestClient) -> None:
    a, auth_a = start(client)
    b, auth_b = start(client)
    assert client.get(f"/api/conversations/{a}", headers=auth_a).status_code == 200
    for method, suffix, body in [
        ("GET", "", None),
        ("GET", "/messages", None),
        ("POST", "/messages", {"text": "hi"}),
        ("POST", "/handoff", None),
        ("POST", "/leave-queue", None),
        ("PATCH", "", {"lang": "zh"}),
        ("POST", "/callback", {"contact_method": "phone", "contact": "13800138000"}),
    ]:
        url = f"/api/conversations/{b}{suffix}"
        assert_error(client.request(method, url, headers=auth_a, json=body), 403, "forbidden")
        assert_error(client.request(method, url, json=body), 401, "unauthorized")
        assert_error(
            client.request(method, url, headers={"Authorization": "Basic abc"}, json=body),
            401,
            "unauthorized",
        )
    # An unknown id answers exactly like someone else's conversation: nothing to learn.
    other = client.get(f"/api/conversations/{b}", headers=auth_a).json()
    unknown = client.get("/api/conversations/0123456789abcdef0123456789abcdef", headers=auth_a).json()
    assert other == unknown
    assert client.get(f"/api/conversations/{b}/messages", headers=auth_b).json()["messages"] == []


def test_token_checks_are_remembered_per_conversation(client: TestClient, engine: Engine) -> None:
    """A replica remembers the token hash of the conversations it created or checked; later requests,
    right or wrong, are checked against it with the same answers and no database read."""
    a, auth_a = start(client)
    b, auth_b = start(client)
    reads: list[str] = []

    def count(_conn, _cursor, statement: str, *_args) -> None:
        if " ".join(statement.split()).startswith("SELECT conversations.token_hash FROM"):
            reads.append(statement)  # the token check's own read (handlers load the whole row besides)

    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            assert client.get(f"/api/conversations/{a}", headers=auth_a).status_code == 200
            assert_error(client.get(f"/api/conversations/{b}", headers=auth_a), 403, "forbidden")
            assert client.get(f"/api/conversations/{b}/messages", headers=auth_b).status_code == 200
        unknown = "0123456789abcdef0123456789abcdef"
        for _ in range(2):  # an unknown id is never remembered: asked again, still refused
            assert_error(client.get(f"/api/conversations/{unknown}", headers=auth_a), 403, "forbidden")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(reads) == 2, reads  # the unknown id twice; a and b were remembered when they were created


def test_remembered_token_hashes_are_bounded() -> None:
    hashes = TokenHashes(capacity=2)
    hashes.put("a", "ha")
    hashes.put("b", "hb")
    assert hashes.get("a") == "ha"  # a is now the most recently used
    hashes.put("c", "hc")
    assert (hashes.get("a"), hashes.get("b"), hashes.get("c"), len(hashes)) == ("ha", None, "hc", 2)


def test_websocket_refuses_other_tokens(client: TestClient) -> None:
    _a, auth_a = start(client)
    b, _ = start(client)
    token_a = auth_a["Authorization"].split()[1]
    for first_frame, code in [
        ({"type": "auth", "token": token_a}, 4403),
        ({"type": "auth"}, 4401),
        ({"type": "hello"}, 4401),
    ]:
        with client.websocket_connect(f"/ws/conversations/{b}") as ws:
            ws.send_json(first_frame)
            err = ws.receive_json()
            assert err["type"] == "error" and err["error"]["code"] in ("forbidden", "unauthorized")
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == code


def test_malformed_and_oversized_input(client: TestClient) -> None:
    cid, auth = start(client)
    url = f"/api/conversations/{cid}/messages"
    assert_error(client.post(url, headers=auth, json={"text": "x" * 2001}), 413, "message_too_long")
    assert_error(client.post(url, headers=auth, json={"text": "   "}), 422, "invalid_input")
    assert_error(client.post(url, headers=auth, json={}), 422, "invalid_input")
    assert_error(client.post(url, headers=auth, json={"text": "hi", "admin": True}), 422, "invalid_input")
    assert_error(client.post(url, headers=auth, json={"text": 5}), 422, "invalid_input")
    assert_error(
        client.post(url, headers=auth, json={"text": "hi", "client_message_id": "bad id!"}),
        422,
        "invalid_input",
    )
    bad_json = client.post(url, headers={**auth, "content-type": "application/json"}, content=b"{not json")
    assert_error(bad_json, 422, "invalid_input")
    huge = client.post(
        url,
        headers={**auth, "content-type": "application/json"},
        content=b'{"text": "' + b"a" * 70000 + b'"}',
    )
    assert_error(huge, 413, "payload_too_large")
    assert_error(
        client.get(f"/api/conversations/{cid}/messages?after=-1", headers=auth), 422, "invalid_input"
    )
    assert_error(client.post("/api/conversations", json={"lang": "fr"}), 422, "invalid_input")
    assert_error(client.get("/nope"), 404, "not_found")
    assert_error(client.delete("/api/conversations"), 405, "method_not_allowed")


def test_rate_limit_per_conversation(settings: Settings, engine: Engine) -> None:
    app = create_app(settings.model_copy(update={"RATE_LIMIT_CONVERSATION_PER_MIN": 3}), engine)
    with TestClient(app) as client:
        cid, auth = start(client)
        for i in range(3):
            assert (
                client.post(
                    f"/api/conversations/{cid}/messages", headers=auth, json={"text": f"m{i}"}
                ).status_code
                == 200
            )
        limited = client.post(f"/api/conversations/{cid}/messages", headers=auth, json={"text": "m4"})
        assert_error(limited, 429, "rate_limited")
        assert int(limited.headers["retry-after"]) > 0
        other, other_auth = start(client)  # another conversation is not affected
        assert (
            client.post(
                f"/api/conversations/{other}/messages", headers=other_auth, json={"text": "x"}
            ).status_code
            == 200
        )


def test_rate_limit_per_client_address(settings: Settings, engine: Engine) -> None:
    app = create_app(settings.model_copy(update={"RATE_LIMIT_CLIENT_PER_MIN": 5}), engine)
    with TestClient(app) as client:
        codes = [client.post("/api/conversations", json={}).status_code for _ in range(7)]
        assert codes[:5] == [201] * 5 and codes[5:] == [429, 429]


def test_token_is_not_stored_in_clear(client: TestClient, engine: Engine) -> None:
    from sqlalchemy import select

    from handoff.infra.db import session_scope
    from handoff.models import Conversation

    cid, auth = start(client)
    token = auth["Authorization"].split()[1]
    with session_scope(engine, write=False) as s:
        stored = s.scalar(select(Conversation.token_hash).where(Conversation.id == cid))
    assert stored and token not in stored and len(stored) == 64


def test_huge_numbers_are_a_4xx_not_an_overflow(client: TestClient) -> None:
    cid, auth = start(client)
    too_big = client.get(f"/api/conversations/{cid}/messages?after={2**70}", headers=auth)
    assert_error(too_big, 422, "invalid_input")
    assert (
        client.get(f"/api/conversations/{cid}/messages?after={2**31 - 1}", headers=auth).json()["messages"]
        == []
    )


def test_unexpected_errors_are_a_500_in_the_one_shape_and_keep_the_connection(
    settings: Settings, engine: Engine
) -> None:
    app = create_app(settings, engine)

    @app.post("/boom")
    async def boom() -> None:
        raise RuntimeError("secret 4111 1111 1111 1111")

    with TestClient(app) as client:
        resp = client.post("/boom", json={"text": "x"})
        assert_error(resp, 500, "internal_error")
        assert "4111" not in resp.text
        assert client.get("/healthz").status_code == 200
