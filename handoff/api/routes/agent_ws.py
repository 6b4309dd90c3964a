"""The agent WebSocket (`/ws/agent`): live queue, SLA alerts, and the chats the console has open.

Authentication: the console's session cookie, or a first frame `{"type": "auth", "token": ...}`.
The session is checked again on every frame, on the agent's bus topic (logout and revoked sessions
close the socket at once) and every AGENT_WS_RECHECK_S; nothing is sent past the session's expiry.
A socket whose session ended gets an `unauthorized` error frame and is closed with 4401.

Client -> server frames (validated by `handoff.api.schemas.frames`):
- `{"type": "watch", "conversation_id", "after": N}` - stream that chat's messages after seq N (in
  seq order, gaps re-read from the database), its `state` events and the borrower's typing, while
  the agent may: a chat waiting in its languages, one it holds, or any open chat for a supervisor;
- `{"type": "unwatch", "conversation_id"}`;
- `{"type": "message", "conversation_id", "text", "client_message_id"?}` - reply (holder only);
- `{"type": "typing", "conversation_id", "on": bool}` - shown to the borrower (holder only; at most
  TYPING_FRAMES_PER_WINDOW per TYPING_WINDOW_S);
- `{"type": "ping"}` - heartbeat: the agent counts as present while pings arrive;
- `{"type": "queue_deltas"}` - from now on `queue_delta` frames instead of `queue_changed`
  (`handoff.agents.queue_feed`; the first one is the whole queue, `full: true`).
Server -> client: `hello`, `queue_changed` (or `queue_delta`), `sla` (supervisors: `level`, `conversation_id`,
`entry_id`, `reason`, `lang`, `priority`, `summary`, `borrower_name`, `label`), `callback_overdue`,
`held_message` (a borrower message in any chat this agent holds, watched or not: `conversation_id`,
`message`); for the holder of a chat only (`for_agent_id`): `chat_activity` (the borrower wrote: `seq`,
`preview`, `unread`), `idle_warning` (`requeue_at`: the chat goes back to the queue then unless the holder
replies) and `chat_requeued` (`reason`); and per watched chat `watching`,
`message`, `state`, `typing` carrying `conversation_id`; `unwatched` with `reason` (`forbidden`:
someone else holds it now; `finished`: closed or handed back) when the right to the chat ends;
`error` frames `{"type": "error", "error": {...}}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.orm import Session

from handoff.agents import accounts, chat
from handoff.agents.queue_feed import ConsoleQueue, QueueFeed
from handoff.api.agent_watches import ChatWatches
from handoff.api.deps_agent import SESSION_COOKIE, STAFF, SUPERVISORS, resolve_agent
from handoff.api.errors import error_body
from handoff.api.schemas import frames
from handoff.api.ws_protocol import (
    AUTH_TIMEOUT_S,
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHORIZED,
    MAX_FRAME_CHARS,
    FrameBudget,
)
from handoff.conversations.pushes import PushContext
from handoff.errors import (
    DATABASE_DOWN_ERRORS,
    HandoffError,
    InvalidInputError,
    UnauthorizedError,
)
from handoff.infra.bus import AGENTS_TOPIC, agent_topic, conversation_topic
from handoff.infra.clock import as_utc
from handoff.models import Agent
from handoff.queue import claims
from handoff.services import Services

log = logging.getLogger(__name__)
router = APIRouter(tags=["agent"])


class SessionEnded(Exception):
    """The socket's session is over (logged out, revoked, expired): close it."""


class AgentSocket:
    def __init__(
        self, ws: WebSocket, svc: Services, agent: Agent, token: str, expires_at: datetime, *, feed: QueueFeed
    ) -> None:
        self.ws = ws
        self.feed = feed
        self.queue: ConsoleQueue | None = None  # set once the console asked for queue deltas
        self.svc = svc
        self.agent = agent
        self.token = token
        self.expires_at = expires_at
        self.ended = asyncio.Event()
        self.send_lock = asyncio.Lock()
        self.chats = ChatWatches(svc, self.send, lambda: self.agent)
        self.typing = FrameBudget(svc.clock)

    async def send(self, frame: dict[str, Any]) -> None:
        if self.svc.clock.now() >= self.expires_at:  # not one frame past the session's end
            self.ended.set()
            return
        async with self.send_lock:
            await self.ws.send_json(frame)

    async def error(self, exc: HandoffError, conversation_id: str | None = None) -> None:
        frame: dict[str, Any] = {"type": "error", **error_body(exc.code, exc.message)}
        if conversation_id:
            frame["conversation_id"] = conversation_id
        await self.send(frame)

    # -- the session ------------------------------------------------------------------------------
    def _current(self, session: Session, *, seen: bool = True) -> Agent:
        agent = accounts.agent_for_token(session, token=self.token, clock=self.svc.clock)
        if agent is None or agent.role not in STAFF:
            raise UnauthorizedError("the session has ended")
        if seen:  # a frame from the console; the periodic check alone does not make the agent present
            accounts.touch(agent=agent, clock=self.svc.clock)
        return agent

    async def authorise(self, *, seen: bool = True) -> Agent:
        """The socket's agent, re-read with its session; SessionEnded when the session is over."""
        if self.svc.clock.now() >= self.expires_at:
            raise SessionEnded
        try:
            self.agent = await self.svc.db(lambda s: self._current(s, seen=seen))
        except UnauthorizedError:
            raise SessionEnded from None
        return self.agent

    async def guard(self) -> None:
        """Return when the session ends: announced on the agent's topic, or found by the periodic check
        (which also re-checks every watched chat, in case a bus event was missed). The same topic
        carries the borrower messages of the chats this agent holds, passed on as they come."""
        interval = self.svc.settings.AGENT_WS_RECHECK_S
        mine = accounts.session_key(self.token)
        async with self.svc.bus.subscribe(agent_topic(self.agent.id)) as subscription:
            await subscription.ready()  # a logout on another replica from now on reaches this socket
            while True:
                event = await subscription.get(timeout=interval)
                if event is not None and event.get("type") == "held_message":
                    await self.send(event)  # a hint for the console's unread count; it reads by seq
                    continue
                if event is not None and event.get("type") == "session_ended":
                    if event.get("session") in (None, mine):
                        return
                    continue
                try:
                    await self.authorise(seen=False)
                except SessionEnded:
                    return
                await self.chats.recheck_all()

    async def close_ended(self) -> None:
        with contextlib.suppress(Exception):
            async with self.send_lock:
                await self.ws.send_json({"type": "error", **error_body("unauthorized", "the session has ended")})
            await self.ws.close(CLOSE_UNAUTHORIZED)

    # -- queue and SLA events ---------------------------------------------------------------------
    async def pump_agents(self) -> None:
        async with self.svc.bus.subscribe(AGENTS_TOPIC) as subscription:
            while True:
                event = await subscription.get(timeout=None)
                if event is None:
                    continue
                if event.get("type") == "sla" and self.agent.role not in SUPERVISORS:
                    continue  # SLA alerts are for supervisors
                if event.get("for_agent_id") not in (None, self.agent.id):
                    continue  # unread signals and idle warnings are for the chat's holder only
                if event.get("type") == "resync":
                    event = {"type": "queue_changed"}
                if event.get("type") == "queue_changed" and self.queue is not None:
                    await self.send_queue_delta(cause=event)
                    continue
                await self.send(event)

    async def send_queue_delta(self, *, cause: dict[str, Any] | None, full: bool = False) -> None:
        assert self.queue is not None
        frame = self.queue.delta(self.agent, await self.feed.entries(self.svc, cause=cause), full=full)
        if frame is not None:
            await self.send(frame)

    # -- frames from the console ------------------------------------------------------------------
    async def handle(self, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        agent = await self.authorise()  # every frame, whatever it is
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "queue_deltas":
            self.queue = ConsoleQueue()
            await self.send_queue_delta(cause=None, full=True)
        elif kind == "watch":
            watch = frames.parse_frame(frames.WatchFrame, frame)
            await self.chats.watch(watch.conversation_id, watch.after)
        elif kind == "unwatch":
            self.chats.unwatch(frames.parse_frame(frames.ChatFrame, frame).conversation_id)
        elif kind == "typing":
            typing = frames.parse_frame(frames.AgentTypingFrame, frame)
            if not self.typing.spend():
                return
            await self.svc.db(
                lambda s: claims.held_entry(s, conversation_id=typing.conversation_id, agent=agent, holder_only=True),
                write=False,
            )
            await self.svc.bus.publish(
                conversation_topic(typing.conversation_id), {"type": "typing", "sender": "agent", "on": typing.on}
            )
        elif kind == "message":
            message = frames.parse_frame(frames.AgentMessageFrame, frame)
            await self.svc.db(
                lambda s: chat.reply(
                    s, conversation_id=message.conversation_id, agent=self._current(s), text=message.text,
                    clock=self.svc.clock, client_message_id=message.client_message_id,
                    mask_policy=self.svc.mask_policy, push=PushContext.of(self.svc),
                )
            )
        else:
            raise InvalidInputError(
                "unknown frame type; expected watch, unwatch, message, typing, ping or queue_deltas"
            )

    async def read_frames(self) -> None:
        """Read and answer frames until the session ends (then return) or the client goes away."""
        while True:
            raw = await self.ws.receive_text()
            try:
                frame = json.loads(raw) if len(raw) <= MAX_FRAME_CHARS else None
            except ValueError:
                frame = None
            if not isinstance(frame, dict):
                await self.send({"type": "error", **error_body("invalid_input", "frames must be JSON objects")})
                continue
            conversation_id = frame.get("conversation_id") if isinstance(frame.get("conversation_id"), str) else None
            try:
                await self.handle(frame)
            except SessionEnded:
                return
            except HandoffError as exc:
                await self.error(exc, conversation_id)
            except (WebSocketDisconnect, *DATABASE_DOWN_ERRORS):
                raise
            except Exception as exc:  # noqa: BLE001 - one bad frame must not end the socket
                # The type only: an exception's text may quote the frame, and no chat text is logged.
                log.error("agent %s: a %s frame failed (%s)", self.agent.id, str(frame.get("type"))[:20],
                          type(exc).__name__)
                await self.send({"type": "error", **error_body("internal_error", "this frame could not be handled")})

    async def run(self) -> None:
        await self.send({"type": "hello", "agent": chat.agent_dict(self.agent)})
        tasks = [asyncio.create_task(self.read_frames()), asyncio.create_task(self.pump_agents()),
                 asyncio.create_task(self.guard()), asyncio.create_task(self.ended.wait())]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # a disconnect or a database outage ends the socket here
            await self.close_ended()
        finally:
            for task in tasks:
                task.cancel()
            self.chats.close()


async def _authenticate(ws: WebSocket, svc: Services) -> tuple[Agent, str, datetime] | None:
    token = ws.cookies.get(SESSION_COOKIE)
    if not token:
        try:
            frame = await asyncio.wait_for(ws.receive_json(), AUTH_TIMEOUT_S)
        except (TimeoutError, ValueError, KeyError):
            frame = None
        if isinstance(frame, dict) and frame.get("type") == "auth" and isinstance(frame.get("token"), str):
            token = frame["token"]

    def work(session: Session) -> tuple[Agent, datetime]:
        agent = resolve_agent(session, token=token, clock=svc.clock)
        row = accounts.live_session(session, token=token or "", clock=svc.clock)
        assert row is not None  # resolve_agent has just found it
        return agent, as_utc(row.expires_at)

    try:
        agent, expires_at = await svc.db(work)
    except HandoffError as exc:
        await ws.send_json({"type": "error", **error_body(exc.code, exc.message)})
        await ws.close(CLOSE_UNAUTHORIZED)
        return None
    if agent.role not in STAFF:
        await ws.send_json({"type": "error", **error_body("forbidden", "agents only")})
        await ws.close(CLOSE_FORBIDDEN)
        return None
    assert token is not None
    return agent, token, expires_at


@router.websocket("/ws/agent")
async def agent_socket(ws: WebSocket) -> None:
    svc: Services = ws.app.state.services
    await ws.accept()
    found = await _authenticate(ws, svc)
    if found is None:
        return
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await AgentSocket(ws, svc, *found, feed=ws.app.state.queue_feed).run()
