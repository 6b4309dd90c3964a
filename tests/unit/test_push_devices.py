"""Push-device registration through the borrower API: clear errors for bad input, nothing stored twice or lost,
push tokens encrypted at rest and never in the logs, a signed-in borrower's devices reach their other chats."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from borrower_helpers import start
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from handoff.app import create_app
from handoff.config import Settings
from handoff.conversations.devices import MAX_DEVICES_PER_CONVERSATION, push_targets, rotate_keys
from handoff.identity.links import link_conversation
from handoff.identity.tokens import IdentityClaim
from handoff.infra.db import session_scope
from handoff.infra.secretbox import SecretBox
from handoff.models import Conversation, PushDevice

IOS = "a1" * 32  # 64 hex characters, the shape of an APNs token
FCM = "fcm-token_abcDEF:0123456789-xyz.Q"


def _device(**overrides: object) -> dict[str, object]:
    return {"platform": "ios", "push_token": IOS, "app_version": "3.12.0", "lang": "zh", **overrides}


def _rows(engine: Engine) -> list[PushDevice]:
    with session_scope(engine, write=False) as s:
        rows = s.scalars(select(PushDevice)).all()
        s.expunge_all()
        return list(rows)


def test_register_list_update_unregister(client: TestClient, engine: Engine, settings: Settings) -> None:
    cid, auth = start(client)
    created = client.post(f"/api/conversations/{cid}/devices", headers=auth, json=_device())
    assert created.status_code == 201, created.text
    device = created.json()
    assert device["platform"] == "ios" and device["lang"] == "zh" and device["token_hint"] == "…" + IOS[-4:]
    assert IOS not in created.text
    listed = client.get(f"/api/conversations/{cid}/devices", headers=auth).json()["devices"]
    assert [d["id"] for d in listed] == [device["id"]]
    # The same token again refreshes the row instead of adding a second one.
    again = client.post(f"/api/conversations/{cid}/devices", headers=auth, json=_device(app_version="3.13.0"))
    assert again.status_code == 200 and again.json()["id"] == device["id"]
    assert [r.app_version for r in _rows(engine)] == ["3.13.0"]
    patched = client.patch(f"/api/conversations/{cid}/devices/{device['id']}", headers=auth, json={"lang": "auto"})
    assert patched.status_code == 200 and patched.json()["lang"] is None
    with session_scope(engine, write=False) as s:
        conversation = s.get(Conversation, cid)
        assert conversation is not None
        (target,) = push_targets(s, conversation=conversation, box=SecretBox(settings.contact_keys))
    assert target.push_token == IOS and target.lang == "en"  # follows the conversation's language now
    assert IOS not in _rows(engine)[0].token_sealed  # encrypted at rest
    gone = client.delete(f"/api/conversations/{cid}/devices/{device['id']}", headers=auth)
    assert gone.status_code == 204 and _rows(engine) == []
    assert client.delete(f"/api/conversations/{cid}/devices/{device['id']}", headers=auth).status_code == 404


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (_device(platform="blackberry"), "platform"),
        (_device(push_token="not hex at all " * 5), "APNs device token"),
        (_device(platform="android", push_token="has space in it and more"), "FCM registration token"),
        (_device(platform="web", push_token="short"), "printable ASCII"),
        (_device(app_version="3.12 beta"), "app_version"),
        (_device(lang="fr"), "lang"),
        ({**_device(), "extra": 1}, "extra"),
        ({"platform": "ios", "app_version": "1.0"}, "push_token"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_is_stored(
    client: TestClient, engine: Engine, body: dict[str, object], says: str
) -> None:
    cid, auth = start(client)
    first = client.post(f"/api/conversations/{cid}/devices", headers=auth, json=_device(push_token="b2" * 32))
    assert first.status_code == 201
    resp = client.post(f"/api/conversations/{cid}/devices", headers=auth, json=body)
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "invalid_input" and says in error["message"]
    assert [r.id for r in _rows(engine)] == [first.json()["id"]]  # the earlier device is still there, unchanged


def test_a_bad_update_changes_nothing(client: TestClient, engine: Engine) -> None:
    cid, auth = start(client)
    device = client.post(f"/api/conversations/{cid}/devices", headers=auth, json=_device()).json()
    url = f"/api/conversations/{cid}/devices/{device['id']}"
    refused = client.patch(url, headers=auth, json={"platform": "android"})  # without the new platform's token
    assert refused.status_code == 422 and "push_token" in refused.json()["error"]["message"]
    refused = client.patch(url, headers=auth, json={"push_token": "zz"})  # not an APNs token
    assert refused.status_code == 422 and "APNs" in refused.json()["error"]["message"]
    (row,) = _rows(engine)
    assert row.platform == "ios" and row.token_hint == "…" + IOS[-4:]
    moved = client.patch(url, headers=auth, json={"platform": "android", "push_token": FCM})
    assert moved.status_code == 200 and moved.json()["token_hint"] == "…" + FCM[-4:]


def test_tokens_reach_only_their_own_conversation(client: TestClient) -> None:
    cid, auth = start(client)
    other, other_auth = start(client)
    device = client.post(f"/api/conversations/{cid}/devices", headers=auth, json=_device()).json()
    assert client.post(f"/api/conversations/{cid}/devices", json=_device()).status_code == 401
    assert client.post(f"/api/conversations/{cid}/devices", headers=other_auth, json=_device()).status_code == 403
    # Another conversation's token cannot see, change or remove this device (404: no such device there).
    assert client.get(f"/api/conversations/{other}/devices", headers=other_auth).json() == {"devices": []}
    assert client.delete(f"/api/conversations/{other}/devices/{device['id']}", headers=other_auth).status_code == 404
    assert client.patch(f"/api/conversations/{other}/devices/{device['id']}", headers=other_auth,
                        json={"app_version": "9"}).status_code == 404
    assert client.delete(f"/api/conversations/{cid}/devices/not-an-id", headers=auth).status_code == 422


def test_the_same_token_moves_to_the_conversation_that_registers_it_last(client: TestClient, engine: Engine) -> None:
    first, first_auth = start(client)
    second, second_auth = start(client)
    client.post(f"/api/conversations/{first}/devices", headers=first_auth, json=_device())
    moved = client.post(f"/api/conversations/{second}/devices", headers=second_auth, json=_device())
    assert moved.status_code == 200
    assert [r.conversation_id for r in _rows(engine)] == [second]
    assert client.get(f"/api/conversations/{first}/devices", headers=first_auth).json() == {"devices": []}


def test_a_conversation_takes_a_bounded_number_of_devices(client: TestClient, engine: Engine) -> None:
    cid, auth = start(client)
    for n in range(MAX_DEVICES_PER_CONVERSATION):
        assert client.post(f"/api/conversations/{cid}/devices", headers=auth,
                           json=_device(push_token=f"{n:02x}" * 32)).status_code == 201
    over = client.post(f"/api/conversations/{cid}/devices", headers=auth, json=_device(push_token="ff" * 32))
    assert over.status_code == 409 and "unregister one first" in over.json()["error"]["message"]
    assert len(_rows(engine)) == MAX_DEVICES_PER_CONVERSATION


def test_device_writes_are_rate_limited_per_conversation(engine: Engine, settings: Settings) -> None:
    limited = settings.model_copy(update={"RATE_LIMIT_CONVERSATION_PER_MIN": 3})
    with TestClient(create_app(limited, engine)) as client:
        cid, auth = start(client)
        codes = [client.post(f"/api/conversations/{cid}/devices", headers=auth, json=_device()).status_code
                 for _ in range(4)]
        assert codes[:3] == [201, 200, 200] and codes[3] == 429


def test_push_tokens_never_reach_the_logs(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cid, auth = start(client)
    device = client.post(f"/api/conversations/{cid}/devices", headers=auth, json=_device()).json()
    client.patch(f"/api/conversations/{cid}/devices/{device['id']}", headers=auth,
                 json={"platform": "android", "push_token": FCM})
    client.post(f"/api/conversations/{cid}/devices", headers=auth, json=_device(push_token="bad token"))
    assert "registered" in caplog.text and "…" + IOS[-4:] in caplog.text
    assert IOS not in caplog.text and FCM not in caplog.text and "bad token" not in caplog.text


def test_key_rotation_re_encrypts_push_tokens(client: TestClient, engine: Engine, settings: Settings) -> None:
    cid, auth = start(client)
    client.post(f"/api/conversations/{cid}/devices", headers=auth, json=_device())
    new_key = Fernet.generate_key().decode()
    with session_scope(engine) as s:
        assert rotate_keys(s, box=SecretBox([new_key, *settings.contact_keys])) == 1
    with session_scope(engine, write=False) as s:
        conversation = s.get(Conversation, cid)
        assert conversation is not None
        (target,) = push_targets(s, conversation=conversation, box=SecretBox([new_key]))  # the old key is gone
    assert target.push_token == IOS


def test_a_signed_in_borrowers_devices_take_the_pushes_of_their_other_conversations(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    first, first_auth = start(client)
    second, second_auth = start(client)
    device = client.post(f"/api/conversations/{first}/devices", headers=first_auth, json=_device()).json()
    assert device["borrower_wide"] is False
    claim = IdentityClaim(borrower_id="B-1", nonce="n" * 20, expires_at=datetime.now(UTC) + timedelta(minutes=5))
    with session_scope(engine) as s:  # both conversations signed in as the same borrower
        for cid in (first, second):
            link_conversation(s, conversation_id=cid, claim=claim, profile=None, now=datetime.now(UTC))
    listed = client.get(f"/api/conversations/{second}/devices", headers=second_auth).json()["devices"]
    assert [(d["id"], d["borrower_wide"]) for d in listed] == [(device["id"], True)]
    with session_scope(engine, write=False) as s:
        conversation = s.get(Conversation, second)
        assert conversation is not None
        targets = push_targets(s, conversation=conversation, box=SecretBox(settings.contact_keys))
    assert [t.device_id for t in targets] == [device["id"]]
    # An anonymous conversation reaches none of them.
    other, other_auth = start(client)
    assert client.get(f"/api/conversations/{other}/devices", headers=other_auth).json() == {"devices": []}
