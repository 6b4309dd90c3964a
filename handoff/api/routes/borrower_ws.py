"""The borrower WebSocket: pushes every new message and state change, resumable by sequence number.

Protocol (JSON text frames):
- client -> server, first frame within AUTH_TIMEOUT_S: `{"type": "auth", "token": "...", "after": N}`
  (`after` = the last seq the client has; 0 for everything). Tokens never go in the URL, which
  proxies and access logs would keep.
- server -> client: every stored message with seq > N in order, then `{"type": "state", ...}` and
  `{"type": "ready", "last_seq": ...}`; afterwards `message`, `state`, `typing` and `identity` (the sign-in
  expired: `handoff.borrower.account`) events live.
  Messages are sent strictly in seq order without gaps or duplicates: bus events are only hints,
  anything out of order is re-read from the database.
- client -> server later: `{"type": "message", "text", "client_message_id"}` (validated like the
  REST body, `handoff.api.schemas.messages`; the result arrives as events), `{"type": "typing",
  "on": bool}` (at most TYPING_FRAMES_PER_WINDOW per TYPING_WINDOW_S), `{"type": "ping"}`.
- Errors: `{"type": "error", "error": {"code", "message"}}`; a failed auth closes with 4401/4403.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from handoff.api.errors import error_body
from handoff.api.schemas import frames
from handoff.api.ws_protocol import (
    AUTH_TIMEOUT_S,
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHORIZED,
    MAX_FRAME_CHARS,
    FrameBudget,
)
from handoff.borrower import presence, turns, views
from handoff.borrower.access import authorize_borrower
from handoff.conversations.records import get_conversation, messages_after
from handoff.errors import DATABASE_DOWN_ERRORS, HandoffError, InvalidInputError, UnauthorizedError
from handoff.infra.bus import conversation_topic
from handoff.services import Services

log = logging.getLogger(__name__)
router = APIRouter(tags=["borrower"])



class Stream:
    """Sends one conversation's messages in seq order, reading the database to fill any gap."""

    def __init__(self, ws: WebSocket, svc: Services, conversation_id: str, last_seq: int) -> None:
        self.ws = ws
        self.svc = svc
        self.conversation_id = conversation_id
        self.last_seq = last_seq
        self.lock = asyncio.Lock()

    async def catch_up(self) -> None:
        async with self.lock:
            while True:
                batch = await self.svc.db(
                    lambda s: messages_after(
                        s, conversation_id=self.conversation_id, after=self.last_seq, limit=200
                    ),
                    write=False,
                )
                for message in batch:
                    await self.ws.send_json({"type": "message", "message": message})
                    self.last_seq = message["seq"]
                if len(batch) < 200:
                    return

    async def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "message":
            seq = int(event["message"]["seq"])
            async with self.lock:
                if seq <= self.last_seq:
                    return
                if seq == self.last_seq + 1:
                    await self.ws.send_json(event)
                    self.last_seq = seq
                    return
            await self.catch_up()
        elif kind == "resync":
            await self.catch_up()
        elif kind == "typing" and event.get("sender") == "borrower":
            return
        elif kind == "state":
            # The bus's event has the state and the place; the page also needs what only the view has (the
            # wait in words with the real next opening, whether a callback is already requested). The
            # place the event announces is not worked out again.
            await self.ws.send_json({"type": "state", **await self.view(known_place=views.place_of(event))})
        else:
            await self.ws.send_json(event)

    async def view(self, known_place: tuple[int, int] | None = None) -> dict[str, Any]:
        return await self.svc.db(
            lambda s: views.conversation_view(
                s,
                conversation=get_conversation(s, conversation_id=self.conversation_id),
                clock=self.svc.clock,
                settings=self.svc.settings,
                known_place=known_place,
            ),
            write=False,
        )


async def _authenticate(ws: WebSocket, svc: Services, conversation_id: str) -> int | None:
    try:
        frame = await asyncio.wait_for(ws.receive_json(), AUTH_TIMEOUT_S)
    except (TimeoutError, ValueError, KeyError):
        frame = None
    if not isinstance(frame, dict) or frame.get("type") != "auth":
        await ws.send_json(
            {
                "type": "error",
                **error_body("unauthorized", 'first frame must be {"type": "auth", "token": ...}'),
            }
        )
        await ws.close(CLOSE_UNAUTHORIZED)
        return None
    token = frame.get("token") if isinstance(frame.get("token"), str) else None
    try:
        await authorize_borrower(svc, conversation_id=conversation_id, token=token)
    except HandoffError as exc:
        await ws.send_json({"type": "error", **error_body(exc.code, exc.message)})
        await ws.close(CLOSE_UNAUTHORIZED if isinstance(exc, UnauthorizedError) else CLOSE_FORBIDDEN)
        return None
    after = frame.get("after", ws.query_params.get("after", 0))
    try:
        return min(max(0, int(after)), 2**31 - 1)
    except (TypeError, ValueError):
        return 0


async def _handle_frame(
    ws: WebSocket, svc: Services, conversation_id: str, frame: Any, typing: FrameBudget
) -> None:
    kind = frame.get("type") if isinstance(frame, dict) else None
    if kind == "ping":
        await ws.send_json({"type": "pong"})
    elif kind == "typing":
        on = frames.parse_frame(frames.TypingFrame, frame).on
        if typing.spend():
            await svc.bus.publish(
                conversation_topic(conversation_id), {"type": "typing", "sender": "borrower", "on": on}
            )
    elif kind == "message":
        message = frames.parse_frame(frames.BorrowerMessageFrame, frame)  # the REST body's rules
        text = message.checked_text(max_chars=svc.settings.MAX_MESSAGE_CHARS)
        await svc.limiter.hit(
            f"conversation:{conversation_id}",
            limit=svc.settings.RATE_LIMIT_CONVERSATION_PER_MIN,
            what="conversation",
        )
        await turns.borrower_message(
            svc, conversation_id=conversation_id, text=text, client_message_id=message.client_message_id
        )
    else:
        raise InvalidInputError("unknown frame type; expected message, typing or ping")


async def _reader(ws: WebSocket, svc: Services, conversation_id: str) -> None:
    """Read frames; pings and typing are answered at once, messages go to one worker in arrival
    order (a turn takes a while, and two of them must never overtake each other)."""
    turns_in: asyncio.Queue[Any] = asyncio.Queue()
    typing = FrameBudget(svc.clock)

    async def run(frame: Any) -> None:
        try:
            await _handle_frame(ws, svc, conversation_id, frame, typing)
        except HandoffError as exc:
            with contextlib.suppress(Exception):
                await ws.send_json({"type": "error", **error_body(exc.code, exc.message)})
        except (WebSocketDisconnect, *DATABASE_DOWN_ERRORS):
            raise
        except Exception as exc:  # noqa: BLE001 - one bad frame must not stop the turns after it
            # The type only: an exception's text may quote the frame, and no chat text is logged.
            log.error("conversation %s: a frame failed (%s)", conversation_id, type(exc).__name__)
            with contextlib.suppress(Exception):
                await ws.send_json(
                    {"type": "error", **error_body("internal_error", "this message could not be handled")}
                )

    async def turn_worker() -> None:
        while True:
            await run(await turns_in.get())

    worker = asyncio.create_task(turn_worker())
    try:
        while True:
            raw = await ws.receive_text()
            if len(raw) > MAX_FRAME_CHARS:
                await ws.send_json({"type": "error", **error_body("message_too_long", "frame too large")})
                continue
            try:
                frame = json.loads(raw)
            except ValueError:
                await ws.send_json(
                    {"type": "error", **error_body("invalid_input", "frames must be JSON objects")}
                )
                continue
            if isinstance(frame, dict) and frame.get("type") == "message":
                turns_in.put_nowait(frame)
            else:
                await run(frame)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker


@router.websocket("/ws/conversations/{conversation_id}")
async def borrower_socket(ws: WebSocket, conversation_id: str) -> None:
    svc: Services = ws.app.state.services
    addr = ws.client.host if ws.client else "unknown"
    await ws.accept()
    try:
        await svc.limiter.hit(
            f"client:{addr}", limit=svc.settings.RATE_LIMIT_CLIENT_PER_MIN, what="client address"
        )
    except HandoffError as exc:
        await ws.send_json({"type": "error", **error_body(exc.code, exc.message)})
        await ws.close(4429)
        return
    after = await _authenticate(ws, svc, conversation_id)
    if after is None:
        return
    subscription = svc.bus.subscribe(conversation_topic(conversation_id))
    stream = Stream(ws, svc, conversation_id, after)
    reader: asyncio.Task[None] | None = None
    socket_id = await svc.sockets.opened(conversation_id)  # no live-chat pushes while it is open
    try:
        await subscription.ready()  # live before the catch-up read, so nothing falls in between
        await stream.catch_up()
        await ws.send_json({"type": "state", **await stream.view()})
        await ws.send_json({"type": "ready", "last_seq": stream.last_seq})
        reader = asyncio.create_task(_reader(ws, svc, conversation_id))
        while not reader.done():
            await presence.seen(svc, conversation_id=conversation_id)  # a write at most once a minute
            await svc.sockets.refresh(conversation_id, socket_id)
            event = await subscription.get(timeout=1.0)
            if event is not None:
                await stream.on_event(event)
        reader.result()
    except (WebSocketDisconnect, RuntimeError, OSError):  # the client went away
        pass
    finally:
        subscription.close()
        with contextlib.suppress(Exception):
            await svc.sockets.closed(conversation_id, socket_id)
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await reader
