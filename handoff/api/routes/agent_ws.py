"""The agent WebSocket (`/ws/agent`): live queue, SLA alerts, and the chats the console has open.

Authentication: the console's session cookie, or a first frame `{"type": "auth", "token": ...}`.
Roles are checked at connect and for every frame, and the session is re-checked on every ping, so
an expired or logged-out session is closed with 4401.

Client -> server frames:
- `{"type": "watch", "conversation_id", "after": N}` - stream that chat's messages after seq N (in
  seq order, gaps re-read from the database), its `state` events and the borrower's typing;
- `{"type": "unwatch", "conversation_id"}`;
- `{"type": "message", "conversation_id", "text", "client_message_id"?}` - reply (holder only);
- `{"type": "typing", "conversation_id", "on": bool}` - shown to the borrower (holder only);
- `{"type": "ping"}` - heartbeat: the agent counts as present while pings arrive.
Server -> client: `hello`, `queue_changed`, `sla` (supervisors), `held_message` (a borrower message
in any chat this agent holds, watched or not: `conversation_id`, `message`), and per watched chat
`message`, `state`, `typing` carrying `conversation_id`; `error` frames `{"type": "error", "error": {...}}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from functools import partial
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from handoff.agents import chat
from handoff.api.deps_agent import SESSION_COOKIE, STAFF, SUPERVISORS, resolve_agent
from handoff.api.errors import error_body
from handoff.api.ws_protocol import AUTH_TIMEOUT_S, CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED, MAX_FRAME_CHARS
from handoff.conversations.records import messages_after
from handoff.errors import HandoffError, InvalidInputError
from handoff.infra.bus import AGENTS_TOPIC, Subscription, agent_topic, conversation_topic
from handoff.models import Agent
from handoff.queue import claims
from handoff.services import Services

router = APIRouter(tags=["agent"])

MAX_WATCHES = 20


class AgentSocket:
    def __init__(self, ws: WebSocket, svc: Services, agent: Agent, token: str) -> None:
        self.ws = ws
        self.svc = svc
        self.agent = agent
        self.token = token
        self.send_lock = asyncio.Lock()
        self.watches: dict[str, tuple[Subscription, asyncio.Task[None]]] = {}
        self.last_seq: dict[str, int] = {}
        self.seq_locks: dict[str, asyncio.Lock] = {}

    async def send(self, frame: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send_json(frame)

    async def error(self, exc: HandoffError, conversation_id: str | None = None) -> None:
        frame: dict[str, Any] = {"type": "error", **error_body(exc.code, exc.message)}
        if conversation_id:
            frame["conversation_id"] = conversation_id
        await self.send(frame)

    # -- queue and SLA events ---------------------------------------------------------------------
    async def pump_agents(self) -> None:
        async with self.svc.bus.subscribe(AGENTS_TOPIC) as subscription:
            while True:
                event = await subscription.get(timeout=None)
                if event is None:
                    continue
                if event.get("type") == "sla" and self.agent.role not in SUPERVISORS:
                    continue  # SLA alerts are for supervisors
                if event.get("type") == "resync":
                    event = {"type": "queue_changed"}
                await self.send(event)

    async def pump_own(self) -> None:
        """This agent's own topic: borrower messages in the chats it holds (hints; the console reads
        the chat by sequence number when it opens it, so a missed event costs only a badge)."""
        async with self.svc.bus.subscribe(agent_topic(self.agent.id)) as subscription:
            while True:
                event = await subscription.get(timeout=None)
                if event is not None:
                    await self.send(event if event.get("type") != "resync" else {"type": "queue_changed"})

    # -- watched chats ----------------------------------------------------------------------------
    async def catch_up(self, conversation_id: str) -> None:
        async with self.seq_locks[conversation_id]:
            while True:
                after = self.last_seq[conversation_id]
                batch = await self.svc.db(
                    partial(messages_after, conversation_id=conversation_id, after=after, limit=200),
                    write=False,
                )
                for message in batch:
                    await self.send({"type": "message", "conversation_id": conversation_id, "message": message})
                    self.last_seq[conversation_id] = message["seq"]
                if len(batch) < 200:
                    return

    async def pump_chat(self, conversation_id: str, subscription: Subscription) -> None:
        while True:
            event = await subscription.get(timeout=None)
            if event is None:
                continue
            kind = event.get("type")
            if kind == "message":
                seq = int(event["message"]["seq"])
                async with self.seq_locks[conversation_id]:
                    if seq <= self.last_seq[conversation_id]:
                        continue
                    if seq == self.last_seq[conversation_id] + 1:
                        self.last_seq[conversation_id] = seq
                        await self.send({**event, "conversation_id": conversation_id})
                        continue
                await self.catch_up(conversation_id)
            elif kind == "resync":
                await self.catch_up(conversation_id)
            elif kind == "typing" and event.get("sender") == "agent":
                continue  # our own typing
            else:
                await self.send({**event, "conversation_id": conversation_id})

    async def watch(self, conversation_id: str, after: int) -> None:
        await self.svc.db(
            lambda s: chat.can_view(s, conversation_id=conversation_id, agent=self.agent), write=False
        )
        self.unwatch(conversation_id)
        if len(self.watches) >= MAX_WATCHES:
            raise InvalidInputError(f"at most {MAX_WATCHES} chats can be watched at once")
        subscription = self.svc.bus.subscribe(conversation_topic(conversation_id))
        self.last_seq[conversation_id] = after
        self.seq_locks[conversation_id] = asyncio.Lock()
        await self.catch_up(conversation_id)
        task = asyncio.create_task(self.pump_chat(conversation_id, subscription))
        self.watches[conversation_id] = (subscription, task)
        await self.send({"type": "watching", "conversation_id": conversation_id,
                         "last_seq": self.last_seq[conversation_id]})

    def unwatch(self, conversation_id: str) -> None:
        watch = self.watches.pop(conversation_id, None)
        if watch is not None:
            watch[0].close()
            watch[1].cancel()

    # -- frames from the console ------------------------------------------------------------------
    async def still_logged_in(self) -> bool:
        try:
            agent = await self.svc.db(lambda s: resolve_agent(s, token=self.token, clock=self.svc.clock))
        except HandoffError:
            return False
        self.agent = agent
        return agent.role in STAFF

    async def handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        conversation_id = frame.get("conversation_id")
        if kind == "ping":
            if not await self.still_logged_in():
                await self.send({"type": "error", **error_body("unauthorized", "the session has expired")})
                await self.ws.close(CLOSE_UNAUTHORIZED)
                return
            await self.send({"type": "pong"})
            return
        if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= 64:
            raise InvalidInputError("conversation_id: required")
        if kind == "watch":
            after = frame.get("after", 0)
            await self.watch(conversation_id, max(0, after) if isinstance(after, int) else 0)
        elif kind == "unwatch":
            self.unwatch(conversation_id)
        elif kind == "typing":
            await self.svc.db(
                lambda s: claims.held_entry(s, conversation_id=conversation_id, agent=self.agent, holder_only=True),
                write=False,
            )
            await self.svc.bus.publish(
                conversation_topic(conversation_id), {"type": "typing", "sender": "agent", "on": bool(frame.get("on"))}
            )
        elif kind == "message":
            text, cmid = frame.get("text"), frame.get("client_message_id")
            if not isinstance(text, str) or (cmid is not None and not isinstance(cmid, str)):
                raise InvalidInputError("text: required string; client_message_id: optional string")
            await self.svc.db(
                lambda s: chat.reply(
                    s, conversation_id=conversation_id, agent=s.get_one(Agent, self.agent.id), text=text,
                    clock=self.svc.clock, client_message_id=cmid, mask_policy=self.svc.mask_policy,
                )
            )
        else:
            raise InvalidInputError("unknown frame type; expected watch, unwatch, message, typing or ping")

    async def read_frames(self) -> None:
        while True:
            raw = await self.ws.receive_text()
            try:
                frame = json.loads(raw) if len(raw) <= MAX_FRAME_CHARS else None
            except ValueError:
                frame = None
            if not isinstance(frame, dict):
                await self.send({"type": "error", **error_body("invalid_input", "frames must be JSON objects")})
                continue
            try:
                await self.handle(frame)
            except HandoffError as exc:
                await self.error(exc, frame.get("conversation_id") if isinstance(frame.get("conversation_id"), str) else None)

    async def run(self) -> None:
        await self.send({"type": "hello", "agent": chat.agent_dict(self.agent)})
        tasks = [asyncio.create_task(self.read_frames()), asyncio.create_task(self.pump_agents()),
                 asyncio.create_task(self.pump_own())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        finally:
            for task in tasks:
                task.cancel()
            for conversation_id in list(self.watches):
                self.unwatch(conversation_id)


async def _authenticate(ws: WebSocket, svc: Services) -> tuple[Agent, str] | None:
    token = ws.cookies.get(SESSION_COOKIE)
    if not token:
        try:
            frame = await asyncio.wait_for(ws.receive_json(), AUTH_TIMEOUT_S)
        except (TimeoutError, ValueError, KeyError):
            frame = None
        if isinstance(frame, dict) and frame.get("type") == "auth" and isinstance(frame.get("token"), str):
            token = frame["token"]
    try:
        agent = await svc.db(lambda s: resolve_agent(s, token=token, clock=svc.clock))
    except HandoffError as exc:
        await ws.send_json({"type": "error", **error_body(exc.code, exc.message)})
        await ws.close(CLOSE_UNAUTHORIZED)
        return None
    if agent.role not in STAFF:
        await ws.send_json({"type": "error", **error_body("forbidden", "agents only")})
        await ws.close(CLOSE_FORBIDDEN)
        return None
    assert token is not None
    return agent, token


@router.websocket("/ws/agent")
async def agent_socket(ws: WebSocket) -> None:
    svc: Services = ws.app.state.services
    await ws.accept()
    found = await _authenticate(ws, svc)
    if found is None:
        return
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await AgentSocket(ws, svc, *found).run()
