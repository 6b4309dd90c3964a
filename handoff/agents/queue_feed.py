"""Queue deltas for the agent consoles of one replica (`queue_delta` frames on `/ws/agent`).

Without it every console re-reads the whole queue over HTTP on every `queue_changed`: N consoles, N
reads per change. A console that sends `{"type": "queue_deltas"}` gets instead one `queue_delta` frame
per change: the entries that are new or changed (`upserts`), the ids that left (`removed`) and the
ids in queue order (`order`). The replica reads the queue once per change for all its consoles: the
bus hands every subscriber of a replica the same event object, and `QueueFeed` keeps the read it
made for the latest one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from handoff.agents import chat
from handoff.models import Agent
from handoff.services import Services

VOLATILE = ("waiting_s",)  # changes every second by itself; the console counts it on


class QueueFeed:
    """One replica's latest read of the active queue, keyed by the event that caused it."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._cause: dict[str, Any] | None = None  # held, so its id() cannot be reused meanwhile
        self._entries: list[dict[str, Any]] = []

    async def entries(self, svc: Services, *, cause: dict[str, Any] | None) -> list[dict[str, Any]]:
        """The active queue as of `cause` (an event; None: read now)."""
        async with self._lock:
            if cause is None or cause is not self._cause:
                self._entries = await svc.db(lambda s: chat.active_entries(s, clock=svc.clock), write=False)
                self._cause = cause
            return self._entries


def _same(a: dict[str, Any] | None, b: dict[str, Any]) -> bool:
    return a is not None and all(a.get(k) == b.get(k) for k in b if k not in VOLATILE)


@dataclass
class ConsoleQueue:
    """What one console was last told; `delta` gives the frame that brings it up to date, or None."""

    known: dict[int, dict[str, Any]] = field(default_factory=dict)
    order: list[int] = field(default_factory=list)

    def delta(self, agent: Agent, entries: list[dict[str, Any]], *, full: bool = False) -> dict[str, Any] | None:
        visible = [entry for entry in entries if chat.sees_entry(agent, entry)]
        now = {entry["id"]: entry for entry in visible}
        upserts = visible if full else [entry for entry in visible if not _same(self.known.get(entry["id"]), entry)]
        removed = [] if full else [entry_id for entry_id in self.known if entry_id not in now]
        order = [entry["id"] for entry in visible]
        if not (full or upserts or removed or order != self.order):
            return None
        self.known, self.order = now, order
        return {"type": "queue_delta", "full": full, "upserts": upserts, "removed": removed, "order": order}
