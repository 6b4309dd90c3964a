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


def with_citations(reply: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """The bot's messages as stored: an FAQ answer's citation (sent on its own, just before the answer)
    travels with the answer's text, so the pages show it under that bubble; one left alone stays alone."""
    out: list[tuple[str, dict[str, Any]]] = []
    cite: dict[str, Any] | None = None
    for element in reply:
        text, payload = bot_message(element)
        custom = payload.get("custom", {})
        if not text and custom.get("type") == PayloadType.FAQ_ANSWER and set(payload) == {"custom"}:
            if cite is not None:
                out.append(("", {"custom": cite}))
            cite = custom
            continue
        if cite is not None and text and "custom" not in payload:
            payload["custom"], cite = cite, None
        elif cite is not None:
            out.append(("", {"custom": cite}))
            cite = None
        out.append((text, payload))
    if cite is not None:
        out.append(("", {"custom": cite}))
    return out


def visible_replies(reply: list[dict[str, Any]]) -> tuple[list[Reply], dict[str, Any] | None]:
    """The elements of a Rasa reply the borrower may see, and the handoff packet when there is one."""
    replies: list[Reply] = []
    packet: dict[str, Any] | None = None
    for text, payload in with_citations(reply):
        public_custom = payload.get("custom", {}).get("type") in PUBLIC_PAYLOAD_TYPES
        if text or payload.get("buttons") or payload.get("image") or public_custom:
            replies.append(Reply(text=text, payload=payload or None))
    for element in reply:
        custom = element.get("custom")
        if isinstance(custom, dict) and custom.get("type") == PayloadType.HANDOFF:
            packet = custom.get("packet") if isinstance(custom.get("packet"), dict) else {}
    return replies, packet
