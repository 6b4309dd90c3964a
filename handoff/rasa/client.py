"""The one place that talks to the Rasa server (REST channel + tracker API).

`send` returns Rasa's reply list or raises `BotUnavailableError` - for a timeout, a connection error,
a non-2xx answer, a body that is not a list, and for an empty list (the REST channel answers
`200 []` when anything inside Rasa or the action server failed: an empty reply is a failure).

Failover (RASA_URL lists several servers sharing one tracker store and lock store, `RasaPool`): a
turn goes to the first server; when the connection is refused, reset or dropped before an answer
arrives, the same turn goes to the next one, all within the one `timeout_s` budget. That is safe
because the turn left no trace on the failed server: Rasa 3.6 saves a conversation's tracker once,
at the end of the turn (`MessageProcessor.handle_message` logs the message with
`should_save_tracker=False` and saves after the prediction loop), so a refused request or a process
that died mid-turn stored nothing. (Only a death in the instant between saving and answering makes
the other server record the message a second time.) A timeout is different: the server is alive
and may still finish the turn and save it, so asking another one could process the borrower's
message twice. A timeout, an HTTP error status and `200 []` are therefore final for the turn.

Admission control (`max_in_flight`, RASA_MAX_IN_FLIGHT): at most that many bot turns are inside Rasa at
once; the others wait here, first come first served, and the wait counts against the same budget. Rasa
runs every turn it has been given on one event loop, so without a cap an overloaded Rasa slows every turn
down together until all of them miss the budget and every borrower gets the fallback. With the cap,
the turns that reach Rasa finish in time and only the excess falls back, without costing Rasa any work.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx

from contract.turns import PacketTurn, packet_turn
from handoff.errors import BotUnavailableError
from handoff.infra import tracing
from handoff.infra.metrics import Metrics
from handoff.rasa.pool import COOL_DOWN_S, RasaPool
from telemetry import REQUEST_ID, outgoing_headers

log = logging.getLogger(__name__)

# Connection refused, reset or closed before an answer arrived. (Timeouts are caught before these:
# aiohttp's are TimeoutErrors, which are OSErrors too.) A body cut off half-way is not among them: Rasa
# had answered, so the turn happened there and must not be sent to another server.
CONNECTION_ERRORS = (aiohttp.ClientConnectionError, OSError)
CONNECTION_FAULTS_AFTER_ANSWER = (aiohttp.ClientPayloadError,)


class RasaTimeout(Exception):
    """One Rasa server did not answer in time; never retried on another (module docstring)."""


class RasaUnavailable(BotUnavailableError):
    """A failed bot turn with its `cause` for the metrics: timeout, busy, unreachable, cut_off,
    request_failed, http_error, not_json, not_a_list, empty."""

    def __init__(self, cause: str, message: str, *, target_id: str) -> None:
        super().__init__(message, target_id=target_id)
        self.cause = cause


@dataclass(frozen=True)
class RasaAnswer:
    """Status and body of one HTTP answer from Rasa, read in full."""

    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RasaClient:
    def __init__(
        self,
        *,
        base_urls: Sequence[str],
        token: str,
        timeout_s: float,
        cool_down_s: float = COOL_DOWN_S,
        max_in_flight: int = 0,
        metrics: Metrics | None = None,
    ) -> None:
        self.pool = RasaPool(base_urls, cool_down_s=cool_down_s)
        self._metrics = metrics
        self._token = token
        self._timeout_s = timeout_s
        # aiohttp, not httpx: a bot turn is one request, and aiohttp takes about a third of the CPU for it
        # (benchmarks/results/load.md). Created on first use, inside the running event loop.
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(max_in_flight) if max_in_flight > 0 else None
        self.waiting = 0  # turns waiting for a slot (health, logs)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), trust_env=False)
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        if self._slots is None:
            yield
            return
        self.waiting += 1
        if self._metrics is not None:
            self._metrics.rasa_waiting.inc()
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
            if self._metrics is not None:
                self._metrics.rasa_waiting.dec()
        try:
            yield
        finally:
            self._slots.release()

    async def _request(
        self, method: str, path: str, *, conversation_id: str, budget_s: float, **kwargs: Any
    ) -> RasaAnswer:
        """`method path` on the first server that takes the connection, within `budget_s` in total.

        Raises `RasaTimeout` when a server accepted the request but did not answer in time, and
        `BotUnavailableError` when no server could be reached.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget_s
        error: BaseException | None = None
        for base in self.pool.order():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise RasaTimeout(base)
            try:
                async with self._http().request(
                    method, f"{base}{path}", timeout=aiohttp.ClientTimeout(total=remaining), **kwargs
                ) as resp:
                    answer = RasaAnswer(resp.status, await resp.read())
            except TimeoutError:
                raise RasaTimeout(base) from None
            except CONNECTION_FAULTS_AFTER_ANSWER as exc:
                raise RasaUnavailable(
                    "cut_off", f"rasa answer cut off ({type(exc).__name__})", target_id=conversation_id
                ) from None
            except CONNECTION_ERRORS as exc:
                error = exc
                self.pool.failed(base)
                log.warning(
                    "conversation %s: rasa %s unreachable (%s)", conversation_id, base, type(exc).__name__
                )
                continue
            except aiohttp.ClientError as exc:  # a fault of the request itself, the same on every server
                raise RasaUnavailable(
                    "request_failed", f"rasa request failed ({type(exc).__name__})", target_id=conversation_id
                ) from None
            self.pool.succeeded(base)
            return answer
        raise RasaUnavailable(
            "unreachable", f"rasa unreachable ({type(error).__name__})", target_id=conversation_id
        ) from None

    async def send(
        self, *, conversation_id: str, text: str, lang: str, budget_s: float | None = None
    ) -> list[dict[str, Any]]:
        """One bot turn for already-masked `text`; at most `timeout_s` (or the smaller `budget_s`) in
        total, failover included.

        The request id of the borrower's request goes with it, as `X-Request-ID` and in the message
        metadata, where the action server finds it (the tracker's latest message)."""
        started = time.perf_counter()
        result = "ok"
        try:
            return await self._send(conversation_id=conversation_id, text=text, lang=lang, budget_s=budget_s)
        except RasaUnavailable as exc:
            result = exc.cause
            raise
        finally:
            if self._metrics is not None:
                self._metrics.rasa_seconds.labels(call="turn", result=result).observe(
                    time.perf_counter() - started
                )
                if result != "ok":
                    self._metrics.fallbacks.labels(cause=result).inc()

    async def _send(
        self, *, conversation_id: str, text: str, lang: str, budget_s: float | None
    ) -> list[dict[str, Any]]:
        metadata = {"lang": lang}
        request_id = REQUEST_ID.get()
        if request_id:
            metadata["request_id"] = request_id
        body = {"sender": conversation_id, "message": text, "metadata": metadata}
        loop = asyncio.get_running_loop()
        timeout_s = self._timeout_s if budget_s is None else min(self._timeout_s, budget_s)
        deadline = loop.time() + timeout_s
        sent = False
        try:
            async with asyncio.timeout(timeout_s), self._slot():
                sent = True
                resp = await self._request(
                    "POST",
                    "/webhooks/rest/webhook",
                    conversation_id=conversation_id,
                    budget_s=deadline - loop.time(),
                    json=body,
                    headers=tracing.inject(outgoing_headers()),
                )
        except (TimeoutError, RasaTimeout):
            cause, detail = ("timeout", "did not answer") if sent else ("busy", "was busy (no free slot)")
            raise RasaUnavailable(
                cause, f"rasa {detail} within {timeout_s:g}s", target_id=conversation_id
            ) from None
        if resp.status >= 300:
            raise RasaUnavailable("http_error", f"rasa answered HTTP {resp.status}", target_id=conversation_id)
        try:
            reply = resp.json()
        except ValueError:
            raise RasaUnavailable(
                "not_json", "rasa answered something that is not JSON", target_id=conversation_id
            ) from None
        if not isinstance(reply, list) or not all(isinstance(item, dict) for item in reply):
            raise RasaUnavailable(
                "not_a_list", "rasa answered something that is not a list of messages", target_id=conversation_id
            )
        if not reply:
            raise RasaUnavailable(
                "empty", "rasa answered an empty list (an action or the bot failed)", target_id=conversation_id
            )
        return reply

    async def hand_back(self, conversation_id: str, note: str) -> None:
        """Tell the bot a person helped: slots agent_helped, handoff_note, handoff_active=false."""
        events = [
            {"event": "slot", "name": "agent_helped", "value": True},
            {"event": "slot", "name": "handoff_note", "value": note},
            {"event": "slot", "name": "handoff_active", "value": False},
        ]
        try:
            resp = await self._request(
                "POST",
                f"/conversations/{conversation_id}/tracker/events",
                conversation_id=conversation_id,
                budget_s=self._timeout_s,
                params={"token": self._token},
                json=events,
            )
        except RasaTimeout:
            raise BotUnavailableError(
                f"rasa did not answer within {self._timeout_s:g}s", target_id=conversation_id
            ) from None
        if resp.status >= 300:
            raise BotUnavailableError(
                f"rasa tracker update answered HTTP {resp.status}", target_id=conversation_id
            )

    async def recent_turns(
        self, conversation_id: str, *, limit: int = 20, budget_s: float = 2.0
    ) -> list[PacketTurn]:
        """What the bot understood of the borrower's last turns (for a handoff packet built without
        the bot), in the packet's shape. Empty when Rasa cannot say within `budget_s`."""
        try:
            resp = await self._request(
                "GET",
                f"/conversations/{conversation_id}/tracker",
                conversation_id=conversation_id,
                budget_s=min(budget_s, self._timeout_s),
                params={"token": self._token},
            )
            events = resp.json().get("events", []) if resp.status == 200 else []
        except (BotUnavailableError, RasaTimeout, ValueError, AttributeError):
            return []
        turns = [
            packet_turn(event.get("text"), event.get("parse_data") or {}, event.get("timestamp"))
            for event in (events if isinstance(events, list) else [])
            if isinstance(event, dict) and event.get("event") == "user"
        ]
        return turns[-limit:]

    async def health(self) -> dict[str, Any]:
        """`{"ok", "version"}` for one Rasa. For several: `ok` only when every one answers,
        `available` when at least one does (the bot still answers then), and `replicas` in RASA_URL
        order (the first is this pod's own), each with `cooling_down` when turns currently avoid it."""
        checks = await asyncio.gather(*(self._health_of(url) for url in self.pool.urls))
        if len(checks) == 1:
            return checks[0]
        for url, check in zip(self.pool.urls, checks, strict=True):
            check["cooling_down"] = self.pool.cooling_down(url)
        return {
            "ok": all(check["ok"] for check in checks),
            "available": any(check["ok"] for check in checks),
            "replicas": checks,
        }

    async def ready(self) -> dict[str, Any]:
        """`ok` once every Rasa in RASA_URL answers and has loaded a model (`/status`: `model_file`);
        /version answers while the model is still loading."""
        checks = await asyncio.gather(*(self._ready_of(url) for url in self.pool.urls))
        return checks[0] if len(checks) == 1 else {"ok": all(c["ok"] for c in checks), "replicas": checks}

    async def _ready_of(self, base: str) -> dict[str, Any]:
        try:
            async with self._http().get(
                f"{base}/status", params={"token": self._token}, timeout=aiohttp.ClientTimeout(total=2.0)
            ) as resp:
                status, body = resp.status, await resp.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return {"ok": False, "error": type(exc).__name__}
        if status != 200:
            return {"ok": False, "error": f"HTTP {status}"}
        try:
            model = json.loads(body).get("model_file")
        except (ValueError, AttributeError):
            model = None
        return {"ok": bool(model), "model_file": model} if model else {"ok": False, "error": "no model loaded"}

    async def _health_of(self, base: str) -> dict[str, Any]:
        try:
            async with self._http().get(f"{base}/version", timeout=aiohttp.ClientTimeout(total=2.0)) as resp:
                status, body = resp.status, await resp.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return {"ok": False, "error": type(exc).__name__}
        if status != 200:
            return {"ok": False, "error": f"HTTP {status}"}
        try:
            version = json.loads(body).get("version")
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
