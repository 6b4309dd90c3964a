"""What of a Rasa reply is stored for the borrower: the elements the page may show, and the handoff packet."""

from __future__ import annotations

from typing import Any

from contract.codes import PUBLIC_PAYLOAD_TYPES, PayloadType
from handoff.conversations.turn_writes import Reply


def bot_message(element: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    payload: dict[str, Any] = {}
    if isinstance(element.get("buttons"), list):
        payload["buttons"] = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in element["buttons"]
            if isinstance(b, dict)
        ]
    custom = element.get("custom")
    if isinstance(custom, dict):
        payload["custom"] = (
            custom if custom.get("type") in PUBLIC_PAYLOAD_TYPES else {"type": custom.get("type")}
        )
    if element.get("image"):
        payload["image"] = str(element["image"])
    return str(element.get("text") or ""), payload


def visible_replies(reply: list[dict[str, Any]]) -> tuple[list[Reply], dict[str, Any] | None]:
    """The elements of a Rasa reply the borrower may see, and the handoff packet when there is one."""
    replies: list[Reply] = []
    packet: dict[str, Any] | None = None
    for element in reply:
        text, payload = bot_message(element)
        public_custom = payload.get("custom", {}).get("type") in PUBLIC_PAYLOAD_TYPES
        if text or payload.get("buttons") or payload.get("image") or public_custom:
            replies.append(Reply(text=text, payload=payload or None))
        custom = element.get("custom")
        if isinstance(custom, dict) and custom.get("type") == PayloadType.HANDOFF:
            packet = custom.get("packet") if isinstance(custom.get("packet"), dict) else {}
    return replies, packet
