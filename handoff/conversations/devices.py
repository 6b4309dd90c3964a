"""Push devices: the app installs that are pushed live-chat news while the borrower's socket is closed.

A device is registered with a conversation's bearer token. Once that conversation is signed in
(`handoff.identity`), the device carries the borrower id too and takes the pushes of the borrower's other
conversations as well. A push token identifies one app install, so registering a token that is already
stored moves that row here (a shared phone with a new sign-in) instead of adding a second one.

Push tokens are secrets of the app's push provider: stored encrypted (`SecretBox`), found again by an HMAC
(`token_hash`), and shown or logged only as `token_hint` (`…` + the last 4 characters).
Everything works inside the caller's transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from handoff.conversations.records import get_conversation, hash_token
from handoff.errors import ConflictError, InvalidInputError, NotFoundError
from handoff.infra.secretbox import SecretBox
from handoff.models import Conversation, PushDevice

MAX_DEVICES_PER_CONVERSATION = 5
# Checked per platform so that a token pasted into the wrong field, or with a stray space, is refused with
# the rule it broke instead of being stored and failing at the gateway.
TOKEN_RULES = {
    "ios": (re.compile(r"[0-9a-fA-F]{64,200}"), "an APNs device token: 64-200 hexadecimal characters"),
    "android": (re.compile(r"[A-Za-z0-9_:.\-]{20,4096}"), "an FCM registration token: 20-4096 of A-Z a-z 0-9 _ : . -"),
    "web": (re.compile(r"[\x21-\x7e]{16,4096}"), "16-4096 printable ASCII characters without spaces"),
}
FOLLOW_CONVERSATION = "auto"  # an update's `lang` that goes back to following the conversation's language


@dataclass(frozen=True)
class DeviceFields:
    """What a register (all set) or an update (None = keep) carries."""

    platform: str | None = None
    push_token: str | None = None
    app_version: str | None = None
    lang: str | None = None


@dataclass(frozen=True)
class PushTarget:
    """One device to push to, its token decrypted: what the notifier sends to the gateway."""

    device_id: str
    platform: str
    push_token: str
    token_hint: str
    lang: str  # the device's own language, else the conversation's
    app_version: str


def check_token(platform: str, push_token: str) -> None:
    pattern, rule = TOKEN_RULES[platform]
    if not pattern.fullmatch(push_token):
        raise InvalidInputError(f"push_token: for platform {platform} it must be {rule}")


def token_hint(push_token: str) -> str:
    return "…" + push_token[-4:] if len(push_token) >= 12 else "…"


def _token_hash(secret_key: str, push_token: str) -> str:
    return hash_token(secret_key, "push-device:" + push_token)


def device_dict(device: PushDevice) -> dict[str, Any]:
    return {
        "id": device.id, "platform": device.platform, "token_hint": device.token_hint,
        "app_version": device.app_version, "lang": device.lang, "borrower_wide": device.borrower_id is not None,
        "created_at": device.created_at.isoformat(), "updated_at": device.updated_at.isoformat(),
    }


def _reachable(conversation: Conversation) -> Any:
    """The devices a conversation's token may see and change: its own, and its signed-in borrower's."""
    if conversation.borrower_id is None:
        return PushDevice.conversation_id == conversation.id
    return or_(PushDevice.conversation_id == conversation.id, PushDevice.borrower_id == conversation.borrower_id)


def _device(session: Session, conversation: Conversation, device_id: str) -> PushDevice:
    device = session.scalars(select(PushDevice).where(PushDevice.id == device_id, _reachable(conversation))).first()
    if device is None:
        raise NotFoundError("no such device on this conversation", target_id=device_id)
    return device


def _set_token(session: Session, device: PushDevice, *, push_token: str, box: SecretBox, secret_key: str) -> None:
    digest = _token_hash(secret_key, push_token)
    if device.id is not None:
        # The same token on another row is the same app install registered elsewhere before: it moves here.
        session.execute(delete(PushDevice).where(PushDevice.token_hash == digest, PushDevice.id != device.id))
    device.token_hash = digest
    device.token_sealed = box.encrypt(push_token)
    device.token_hint = token_hint(push_token)


def register_device(
    session: Session, *, conversation_id: str, fields: DeviceFields, box: SecretBox, secret_key: str, now: datetime
) -> tuple[PushDevice, bool]:
    """Store (or refresh) a device for the conversation; returns it and whether it is new."""
    assert fields.platform and fields.push_token and fields.app_version
    check_token(fields.platform, fields.push_token)
    conversation = get_conversation(session, conversation_id=conversation_id)
    digest = _token_hash(secret_key, fields.push_token)
    device = session.scalars(select(PushDevice).where(PushDevice.token_hash == digest)).first()
    created = device is None
    if device is None or device.conversation_id != conversation_id:
        count = session.scalar(
            select(func.count()).select_from(PushDevice).where(PushDevice.conversation_id == conversation_id)
        )
        if int(count or 0) >= MAX_DEVICES_PER_CONVERSATION:
            raise ConflictError(
                f"a conversation takes at most {MAX_DEVICES_PER_CONVERSATION} devices; unregister one first "
                "(DELETE .../devices/{device_id})", target_id=conversation_id,
            )
    if device is None:
        device = PushDevice(created_at=now)
    device.conversation_id = conversation_id
    device.borrower_id = conversation.borrower_id
    device.platform = fields.platform
    device.app_version = fields.app_version
    device.lang = fields.lang
    device.updated_at = now
    _set_token(session, device, push_token=fields.push_token, box=box, secret_key=secret_key)
    session.add(device)
    session.flush()
    return device, created


def update_device(
    session: Session, *, conversation_id: str, device_id: str, fields: DeviceFields, box: SecretBox,
    secret_key: str, now: datetime,
) -> PushDevice:
    conversation = get_conversation(session, conversation_id=conversation_id)
    device = _device(session, conversation, device_id)
    if fields.platform not in (None, device.platform) and fields.push_token is None:
        raise InvalidInputError("platform: a new platform needs its push_token in the same request")
    if fields.push_token is not None:
        check_token(fields.platform or device.platform, fields.push_token)
        _set_token(session, device, push_token=fields.push_token, box=box, secret_key=secret_key)
    for name in ("platform", "app_version"):
        value = getattr(fields, name)
        if value is not None:
            setattr(device, name, value)
    if fields.lang is not None:
        device.lang = None if fields.lang == FOLLOW_CONVERSATION else fields.lang
    device.updated_at = now
    session.flush()
    return device


def unregister_device(session: Session, *, conversation_id: str, device_id: str) -> None:
    conversation = get_conversation(session, conversation_id=conversation_id)
    session.delete(_device(session, conversation, device_id))


def list_devices(session: Session, *, conversation_id: str) -> list[dict[str, Any]]:
    conversation = get_conversation(session, conversation_id=conversation_id)
    rows = session.scalars(select(PushDevice).where(_reachable(conversation)).order_by(PushDevice.created_at)).all()
    return [device_dict(row) for row in rows]


def link_borrower(session: Session, *, conversation_id: str, borrower_id: str) -> None:
    """The conversation was signed in: its devices now take the borrower's other chats' pushes too."""
    session.execute(
        update(PushDevice).where(PushDevice.conversation_id == conversation_id).values(borrower_id=borrower_id)
    )


def device_languages(session: Session, *, conversation: Conversation) -> list[tuple[str, str]]:
    """(device id, language of its pushes) of every device the conversation's news goes to; no token is
    decrypted (queueing a push inside an agent's reply must not depend on the keys)."""
    rows = session.execute(
        select(PushDevice.id, PushDevice.lang).where(_reachable(conversation)).order_by(PushDevice.created_at)
    ).all()
    return [(device_id, lang or conversation.lang) for device_id, lang in rows]


def push_targets(session: Session, *, conversation: Conversation, box: SecretBox) -> list[PushTarget]:
    """Every device to push the conversation's news to, tokens decrypted (in memory only)."""
    rows = session.scalars(select(PushDevice).where(_reachable(conversation)).order_by(PushDevice.created_at)).all()
    return [
        PushTarget(device_id=row.id, platform=row.platform, push_token=box.decrypt(row.token_sealed),
                   token_hint=row.token_hint, lang=row.lang or conversation.lang, app_version=row.app_version)
        for row in rows
    ]


def rotate_keys(session: Session, *, box: SecretBox) -> int:
    """Re-encrypt every stored push token with the current (first) key; returns how many."""
    rows = session.scalars(select(PushDevice)).all()
    for row in rows:
        row.token_sealed = box.rotate(row.token_sealed)
    return len(rows)
