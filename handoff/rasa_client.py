"""The one place that talks to the Rasa server (REST channel + tracker API).

`send` returns Rasa's reply list or raises `BotUnavailableError` - for a timeout, a connection error,
a non-2xx answer, a body that is not a list, and for an empty list (the REST channel answers
`200 []` when anything inside Rasa or the action server failed; see pitfalls.md).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from handoff.errors import BotUnavailableError

log = logging.getLogger(__name__)


class RasaClient:
    def __init__(self, *, base_url: str, token: str, timeout_s: float, http: httpx.AsyncClient) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout_s = timeout_s
        self._http = http

    async def send(self, *, conversation_id: str, text: str, lang: str) -> list[dict[str, Any]]:
        """One bot turn for already-masked `text`; at most `timeout_s` in total."""
        body = {"sender": conversation_id, "message": text, "metadata": {"lang": lang}}
        url = f"{self._base}/webhooks/rest/webhook"
        try:
            async with asyncio.timeout(self._timeout_s):
                resp = await self._http.post(url, json=body, timeout=self._timeout_s)
        except TimeoutError:
            raise BotUnavailableError(
                f"rasa did not answer within {self._timeout_s:g}s", target_id=conversation_id
            ) from None
        except (httpx.HTTPError, OSError, AttributeError, RuntimeError) as exc:
            # A connection reset right after connect surfaces from httpcore as AttributeError or
            # RuntimeError, not only as httpx.HTTPError; to the borrower every one of them means the
            # same thing: the bot is unavailable, offer a person.
            raise BotUnavailableError(
                f"rasa unreachable ({type(exc).__name__})", target_id=conversation_id
            ) from None
        if resp.status_code >= 300:
            raise BotUnavailableError(f"rasa answered HTTP {resp.status_code}", target_id=conversation_id)
        try:
            reply = resp.json()
        except ValueError:
            raise BotUnavailableError(
                "rasa answered something that is not JSON", target_id=conversation_id
            ) from None
        if not isinstance(reply, list) or not all(isinstance(item, dict) for item in reply):
            raise BotUnavailableError(
                "rasa answered something that is not a list of messages", target_id=conversation_id
            )
        if not reply:
            raise BotUnavailableError(
                "rasa answered an empty list (an action or the bot failed)", target_id=conversation_id
            )
        return reply

    async def hand_back(self, conversation_id: str, note: str) -> None:
        """Tell the bot a person helped: slots agent_helped, handoff_note, handoff_active=false."""
        events = [
            {"event": "slot", "name": "agent_helped", "value": True},
            {"event": "slot", "name": "handoff_note", "value": note},
            {"event": "slot", "name": "handoff_active", "value": False},
        ]
        url = f"{self._base}/conversations/{conversation_id}/tracker/events"
        try:
            resp = await self._http.post(
                url, params={"token": self._token}, json=events, timeout=self._timeout_s
            )
        except (httpx.HTTPError, OSError, AttributeError, RuntimeError) as exc:
            # A connection reset right after connect surfaces from httpcore as AttributeError or
            # RuntimeError, not only as httpx.HTTPError; to the borrower every one of them means the
            # same thing: the bot is unavailable, offer a person.
            raise BotUnavailableError(
                f"rasa unreachable ({type(exc).__name__})", target_id=conversation_id
            ) from None
        if resp.status_code >= 300:
            raise BotUnavailableError(
                f"rasa tracker update answered HTTP {resp.status_code}", target_id=conversation_id
            )

    async def recent_turns(self, conversation_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """What the bot understood of the borrower's last turns (for a handoff packet built without
        the bot): text, intent, confidence, entities. Empty when Rasa cannot say within 2 s."""
        url = f"{self._base}/conversations/{conversation_id}/tracker"
        try:
            resp = await self._http.get(url, params={"token": self._token}, timeout=min(2.0, self._timeout_s))
            events = resp.json().get("events", []) if resp.status_code == 200 else []
        except (httpx.HTTPError, ValueError, AttributeError):
            return []
        turns = []
        for event in events if isinstance(events, list) else []:
            if not isinstance(event, dict) or event.get("event") != "user":
                continue
            parse = event.get("parse_data") or {}
            intent = parse.get("intent") or {}
            turns.append(
                {
                    "text": event.get("text") or "",
                    "intent": intent.get("name"),
                    "confidence": intent.get("confidence"),
                    "entities": [
                        {"entity": e.get("entity"), "value": e.get("value")}
                        for e in parse.get("entities") or []
                        if isinstance(e, dict)
                    ],
                }
            )
        return turns[-limit:]

    async def health(self) -> dict[str, Any]:
        try:
            resp = await self._http.get(f"{self._base}/version", timeout=2.0)
        except httpx.HTTPError as exc:
            return {"ok": False, "error": type(exc).__name__}
        if resp.status_code != 200:
            return {"ok": False, "error": f"HTTP {resp.status_code}"}
        try:
            version = resp.json().get("version")
        except (ValueError, AttributeError):
            version = None
        return {"ok": True, "version": version}


async def action_server_health(http: httpx.AsyncClient, url: str | None) -> dict[str, Any]:
    """The action server's own /health (ACTION_SERVER_URL may be Rasa's `.../webhook` endpoint)."""
    if not url:
        return {"ok": True, "skipped": True}
    base = url.rstrip("/").removesuffix("/webhook")
    try:
        resp = await http.get(f"{base}/health", timeout=2.0)
    except httpx.HTTPError as exc:
        return {"ok": False, "error": type(exc).__name__}
    return (
        {"ok": resp.status_code == 200}
        if resp.status_code == 200
        else {"ok": False, "error": f"HTTP {resp.status_code}"}
    )
