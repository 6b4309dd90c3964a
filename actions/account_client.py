"""The action server's client of the conversation service's /internal/ API: the verified borrower's
account data for one conversation. Only the conversation id (Rasa's sender id) is sent; the service
decides whose loans those are, from its own sign-in record."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

import httpx

from actions.errors import ActionError


class AccountUnavailable(ActionError):
    code = "account_unavailable"


class AccountClient:
    def __init__(self, *, base_url: str, token: str, timeout_s: float) -> None:
        self._base_url = base_url.rstrip("/")
        self._token = token
        self._timeout_s = timeout_s
        self._http: httpx.AsyncClient | None = None  # created inside the running loop, on first use

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self._base_url, timeout=self._timeout_s, trust_env=False,
                headers={"X-Internal-Token": self._token},
            )
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    async def _call(self, action_name: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            resp = await self._client().request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise AccountUnavailable(action_name, f"service unreachable ({type(exc).__name__})") from None
        if resp.status_code != 200:
            raise AccountUnavailable(action_name, f"service answered HTTP {resp.status_code}")
        body = resp.json()
        if not isinstance(body, dict):
            raise AccountUnavailable(action_name, "service answered something that is not an object")
        return body

    async def account(self, action_name: str, *, conversation_id: str, payoff_on: date | None) -> dict[str, Any]:
        params = {"payoff_on": payoff_on.isoformat()} if payoff_on else {}
        path = f"/internal/conversations/{quote(conversation_id, safe='')}/account"
        return await self._call(action_name, "GET", path, params=params)

    async def letter(self, action_name: str, *, conversation_id: str, kind: str) -> dict[str, Any]:
        path = f"/internal/conversations/{quote(conversation_id, safe='')}/letters"
        return await self._call(action_name, "POST", path, json={"kind": kind})
