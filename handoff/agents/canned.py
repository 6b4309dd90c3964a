"""Canned replies: supervisors write them in English and Chinese, agents pick one in the chat's language.

`{agent}` in a text stands for the agent's display name; the console fills it in, and the agent can edit
the text before sending. Every change is audited. Functions run in the caller's transaction, never commit.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from handoff import audit
from handoff.errors import ConflictError, InvalidInputError, NotFoundError
from handoff.infra.clock import Clock, as_utc
from handoff.models import Agent, CannedReply

SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
MAX_TITLE = 80
MAX_TEXT = 2000
FIELDS = ("shortcut", "title_en", "title_zh", "text_en", "text_zh")


def reply_dict(reply: CannedReply, *, lang: str | None = None) -> dict[str, Any]:
    """Both languages; with `lang`, also `title` and `text` in that language."""
    data: dict[str, Any] = {
        "id": reply.id, "shortcut": reply.shortcut, "title_en": reply.title_en, "title_zh": reply.title_zh,
        "text_en": reply.text_en, "text_zh": reply.text_zh, "updated_by_agent_id": reply.updated_by_agent_id,
        "updated_at": as_utc(reply.updated_at).isoformat(),
    }
    if lang is not None:
        data["title"] = reply.title_zh if lang == "zh" else reply.title_en
        data["text"] = reply.text_zh if lang == "zh" else reply.text_en
    return data


def list_replies(session: Session, *, lang: str | None = None) -> list[dict[str, Any]]:
    return [reply_dict(r, lang=lang) for r in session.scalars(select(CannedReply).order_by(CannedReply.shortcut))]


def _clean(values: dict[str, Any]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for name in FIELDS:
        if name not in values or values[name] is None:
            continue
        value = str(values[name]).strip()
        limit = 32 if name == "shortcut" else MAX_TITLE if name.startswith("title") else MAX_TEXT
        if not value:
            raise InvalidInputError(f"{name}: must not be empty (every reply needs both languages)")
        if len(value) > limit:
            raise InvalidInputError(f"{name}: at most {limit} characters")
        if name == "shortcut" and not SHORTCUT.match(value):
            raise InvalidInputError("shortcut: lower-case letters, digits, '-' or '_', e.g. 'late-fee'")
        cleaned[name] = value
    return cleaned


def _get(session: Session, reply_id: int) -> CannedReply:
    reply = session.get(CannedReply, reply_id)
    if reply is None:
        raise NotFoundError(f"canned reply {reply_id} does not exist", target_id=reply_id)
    return reply


def _check_unique(session: Session, shortcut: str, *, reply_id: int | None) -> None:
    other = session.scalars(select(CannedReply).where(CannedReply.shortcut == shortcut)).first()
    if other is not None and other.id != reply_id:
        raise ConflictError(f"shortcut '{shortcut}' is taken by canned reply {other.id}", target_id=other.id)


def _audit(session: Session, *, actor: Agent, action: str, reply: CannedReply, changed: list[str]) -> None:
    audit.record(session, actor_type="agent", actor_id=actor.id, conversation_id=None, action=action,
                 detail={"canned_reply_id": reply.id, "shortcut": reply.shortcut, "fields": changed})


def create_reply(session: Session, *, actor: Agent, values: dict[str, Any], clock: Clock) -> dict[str, Any]:
    cleaned = _clean(values)
    missing = [name for name in FIELDS if name not in cleaned]
    if missing:
        raise InvalidInputError(f"missing: {', '.join(missing)} (every reply needs both languages)")
    _check_unique(session, cleaned["shortcut"], reply_id=None)
    reply = CannedReply(**cleaned, updated_by_agent_id=actor.id, updated_at=clock.now())
    session.add(reply)
    session.flush()
    _audit(session, actor=actor, action="canned_reply_created", reply=reply, changed=list(FIELDS))
    return reply_dict(reply)


def update_reply(
    session: Session, *, reply_id: int, actor: Agent, values: dict[str, Any], clock: Clock
) -> dict[str, Any]:
    reply = _get(session, reply_id)
    cleaned = _clean(values)
    if "shortcut" in cleaned:
        _check_unique(session, cleaned["shortcut"], reply_id=reply.id)
    changed = [name for name, value in cleaned.items() if getattr(reply, name) != value]
    for name in changed:
        setattr(reply, name, cleaned[name])
    if changed:
        reply.updated_by_agent_id = actor.id
        reply.updated_at = clock.now()
        _audit(session, actor=actor, action="canned_reply_updated", reply=reply, changed=changed)
    return reply_dict(reply)


def delete_reply(session: Session, *, reply_id: int, actor: Agent) -> None:
    reply = _get(session, reply_id)
    _audit(session, actor=actor, action="canned_reply_deleted", reply=reply, changed=[])
    session.delete(reply)
