"""The chats one agent socket streams ("watches"), each only while the agent may receive it.

A watch sends the chat's messages in seq order (bus events are hints; gaps are re-read from the
database, in the same transaction as the check of the agent's right), its `state` events and the
borrower's typing. The right (`handoff.agents.chat.watch_refusal`) is checked when the watch starts,
after every `state` event (claim, transfer, release, close, hand-back), on every re-read, and
whenever the socket's periodic check calls `recheck_all`. When it ends, the watch is dropped and the
console gets `{"type": "unwatched", "conversation_id", "reason"}`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.orm import Session

from handoff.agents import chat
from handoff.conversations.records import messages_after
from handoff.errors import ForbiddenError, InvalidInputError
from handoff.infra.bus import Subscription, conversation_topic
from handoff.models import Agent
from handoff.services import Services

MAX_WATCHES = 20
BATCH = 200

Send = Callable[[dict[str, Any]], Awaitable[None]]


class ChatWatches:
    def __init__(self, svc: Services, send: Send, agent: Callable[[], Agent]) -> None:
        self.svc = svc
        self.send = send
        self.agent = agent  # the socket's agent as last re-read with its session
        self.watches: dict[str, tuple[Subscription, asyncio.Task[None]]] = {}
        self.last_seq: dict[str, int] = {}
        self.seq_locks: dict[str, asyncio.Lock] = {}

    def _refusal(self, session: Session, conversation_id: str) -> str | None:
        return chat.watch_refusal(session, conversation_id=conversation_id, agent=self.agent())

    async def catch_up(self, conversation_id: str) -> str | None:
        """Send what was stored after the last seq sent, if the agent may still receive the chat;
        else the refusal (and nothing is sent)."""
        async with self.seq_locks[conversation_id]:
            while True:
                after = self.last_seq[conversation_id]

                def read(s: Session, after: int = after) -> str | list[dict[str, Any]]:
                    refusal = self._refusal(s, conversation_id)
                    return refusal or messages_after(s, conversation_id=conversation_id, after=after, limit=BATCH)

                batch = await self.svc.db(read, write=False)
                if isinstance(batch, str):
                    return batch
                for message in batch:
                    await self.send({"type": "message", "conversation_id": conversation_id, "message": message})
                    self.last_seq[conversation_id] = message["seq"]
                if len(batch) < BATCH:
                    return None

    async def recheck(self, conversation_id: str) -> str | None:
        return await self.svc.db(lambda s: self._refusal(s, conversation_id), write=False)

    async def recheck_all(self) -> None:
        for conversation_id in list(self.watches):
            refusal = await self.recheck(conversation_id)
            if refusal is not None:
                await self.drop(conversation_id, refusal)

    async def pump(self, conversation_id: str, subscription: Subscription) -> None:
        while True:
            event = await subscription.get(timeout=None)
            if event is None:
                continue
            kind = event.get("type")
            refusal: str | None = None
            if kind == "message":
                seq = int(event["message"]["seq"])
                async with self.seq_locks[conversation_id]:
                    if seq <= self.last_seq[conversation_id]:
                        continue
                    if seq == self.last_seq[conversation_id] + 1:
                        self.last_seq[conversation_id] = seq
                        await self.send({**event, "conversation_id": conversation_id})
                        continue
                refusal = await self.catch_up(conversation_id)
            elif kind == "resync":
                refusal = await self.catch_up(conversation_id)
            elif kind == "typing" and event.get("sender") == "agent":
                continue  # our own typing
            else:
                await self.send({**event, "conversation_id": conversation_id})
                if kind == "state":  # the events after it are sent only if the agent may still see them
                    refusal = await self.recheck(conversation_id)
            if refusal is not None:
                await self.drop(conversation_id, refusal)
                return

    async def watch(self, conversation_id: str, after: int) -> None:
        self.unwatch(conversation_id)
        if len(self.watches) >= MAX_WATCHES:
            raise InvalidInputError(f"at most {MAX_WATCHES} chats can be watched at once")
        subscription = self.svc.bus.subscribe(conversation_topic(conversation_id))  # before the check: no gap
        self.last_seq[conversation_id] = after
        self.seq_locks[conversation_id] = asyncio.Lock()
        refusal = await self.catch_up(conversation_id)
        if refusal is not None:
            subscription.close()
            if refusal == chat.WATCH_FORBIDDEN:
                raise ForbiddenError(
                    "you can open chats you hold or that wait in your languages", target_id=conversation_id
                )
            await self.send({"type": "unwatched", "conversation_id": conversation_id, "reason": refusal})
            return
        task = asyncio.create_task(self.pump(conversation_id, subscription))
        self.watches[conversation_id] = (subscription, task)
        await self.send({"type": "watching", "conversation_id": conversation_id,
                         "last_seq": self.last_seq[conversation_id]})

    def unwatch(self, conversation_id: str) -> None:
        watch = self.watches.pop(conversation_id, None)
        if watch is not None:
            watch[0].close()
            if watch[1] is not asyncio.current_task():
                watch[1].cancel()

    async def drop(self, conversation_id: str, reason: str) -> None:
        if conversation_id in self.watches:
            self.unwatch(conversation_id)
            await self.send({"type": "unwatched", "conversation_id": conversation_id, "reason": reason})

    def close(self) -> None:
        for conversation_id in list(self.watches):
            self.unwatch(conversation_id)
