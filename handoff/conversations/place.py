"""Queue position and estimated wait, from recent handling times; pushed to every waiting borrower.

`queue_position` and `estimated_wait_s` answer for one conversation (the borrower API);
`waiting_overview` / `notify_positions` do every waiting conversation at once after a queue change.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session

from handoff.infra.bus import conversation_topic
from handoff.infra.clock import Clock, as_utc
from handoff.infra.outbox import publish_after_commit
from handoff.models import Agent, QueueEntry
from handoff.states import ConversationState, QueueStatus, Role

DEFAULT_PICKUP_S = 60  # first estimate before any chat has been picked up
DEFAULT_HANDLING_S = 300
RECENT_SAMPLE = 20
STAFF_ROLES = (Role.AGENT, Role.SUPERVISOR)


def _waiting_entry(session: Session, conversation_id: str) -> QueueEntry | None:
    return session.scalars(
        select(QueueEntry).where(
            QueueEntry.conversation_id == conversation_id, QueueEntry.status == QueueStatus.WAITING
        )
    ).first()


def _order_key(entry: QueueEntry) -> Any:
    """The queue order (priority, then waiting time, then id) of `entry`, to compare rows against."""
    return tuple_(literal(entry.priority_rank), literal(entry.enqueued_at, QueueEntry.enqueued_at.type),
                  literal(entry.id))


QUEUE_ORDER = tuple_(QueueEntry.priority_rank, QueueEntry.enqueued_at, QueueEntry.id)


def _position_of(session: Session, entry: QueueEntry) -> int:
    ahead = session.scalar(
        select(func.count()).select_from(QueueEntry).where(
            QueueEntry.status == QueueStatus.WAITING, QUEUE_ORDER < _order_key(entry)
        )
    )
    return int(ahead or 0) + 1


def queue_position(session: Session, *, conversation_id: str) -> int | None:
    """1-based place among waiting entries (priority, then waiting time); None when not waiting."""
    session.flush()
    entry = _waiting_entry(session, conversation_id)
    return None if entry is None else _position_of(session, entry)


@dataclass(frozen=True)
class WaitStats:
    """Recent handling: mean seconds to pickup, mean seconds an agent holds a chat, agent slots online."""

    pickup_s: float
    handling_s: float
    slots: int

    def estimate(self, *, position: int, waited_s: float, closed_for_s: float = 0.0) -> int:
        """Pickup time for the head of the queue; every chat ahead adds one handling time shared among
        the slots online; minus what the borrower already waited. Never zero while still waiting.
        Outside business hours (`closed_for_s` until the next opening) the wait starts at the opening."""
        estimate = self.pickup_s + (position - 1) * self.handling_s / self.slots
        if closed_for_s > 0:
            return math.ceil(closed_for_s + estimate)
        return max(15, math.ceil(estimate - waited_s))


def _seconds(start: datetime | None, end: datetime | None) -> float:
    assert start is not None and end is not None
    return max(0.0, (as_utc(end) - as_utc(start)).total_seconds())


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


# The parts of `wait_stats`'s, `_place_statement`'s and `_arrival_statement`'s rows.
PICKED, HANDLED, ONLINE, AHEAD, BEHIND, STAFF = 0, 1, 2, 3, 4, 5


def _stats_parts(named: bool = False) -> list[Any]:
    """The recent pickups, the recent handling times and the agent slots online (rows of kind, start, end,
    slots, and with `named` a fifth column, null here): a queue change reads them for every state event it sends."""
    when = QueueEntry.enqueued_at.type
    name = [cast(null(), String).label("name")] if named else []

    def recent(kind: int, start: Any, end: Any) -> Any:
        return select(
            literal_column(str(kind)).label("kind"), start.label("start"), end.label("end"),
            cast(null(), Integer).label("slots"),
        ).where(end.is_not(None), start.is_not(None)).order_by(end.desc()).limit(RECENT_SAMPLE).subquery()

    picked = recent(PICKED, QueueEntry.enqueued_at, QueueEntry.assigned_at)
    handled = recent(HANDLED, QueueEntry.assigned_at, QueueEntry.closed_at)
    online = select(
        literal_column(str(ONLINE)), cast(null(), when), cast(null(), when),
        func.coalesce(func.sum(Agent.max_concurrent), 0), *name,
    ).where(Agent.status == "online", Agent.role.in_([str(r) for r in STAFF_ROLES]))
    return [select(*picked.c, *name), select(*handled.c, *name), online]


@functools.cache  # built once: the statement has no parameters of its own
def _stats_statement() -> Any:
    return union_all(*_stats_parts())


@functools.cache  # built once, bound by the entry's place in the queue order
def _place_statement() -> Any:
    """`_stats_statement` plus one row (kind AHEAD, the count in `slots`) of the waiting entries ahead of
    the entry bound as `p_rank`, `p_enqueued_at`, `p_id`: a place in line and its wait in one statement."""
    return union_all(*_stats_parts(), _ahead())


def _bound_key() -> Any:
    """The queue-order key of the entry bound as `p_rank`, `p_enqueued_at`, `p_id`."""
    return tuple_(bindparam("p_rank", type_=Integer), bindparam("p_enqueued_at", type_=QueueEntry.enqueued_at.type),
                  bindparam("p_id", type_=Integer))


def _ahead(named: bool = False) -> Any:
    """One row (kind AHEAD, the count in `slots`; with `named` a fifth column, null) of the waiting entries
    ahead of the bound entry."""
    when = QueueEntry.enqueued_at.type
    name = [cast(null(), String)] if named else []
    return select(
        literal_column(str(AHEAD)), cast(null(), when), cast(null(), when), func.count(), *name,
    ).select_from(QueueEntry).where(QueueEntry.status == QueueStatus.WAITING, QUEUE_ORDER < _bound_key())


@dataclass
class Arrival:
    """What a conversation joining the queue reads in the statement that works out its place in line
    (`position_and_wait`, from its `state` event): the waiting conversations behind it in queue order (id,
    enqueued_at), whom it moves down one place, and the languages of the staff online and seen since
    `seen_since`, who could pick it up soon. `entry_id` is None until that statement has run."""

    seen_since: datetime
    entry_id: int | None = None
    position: int = 0
    stats: WaitStats | None = None
    behind: list[tuple[str, datetime]] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)


@functools.cache  # built once, bound as `_place_statement` plus `p_seen_since`
def _arrival_statement() -> Any:
    """`_place_statement` (a fifth column, `name`) plus a row per waiting entry behind the bound one (kind
    BEHIND: enqueued_at, its place among them in `slots`, the conversation id in `name`) and a row per staff
    member online and seen since `p_seen_since` (kind STAFF, the languages in `name`)."""
    when = QueueEntry.enqueued_at.type
    behind = select(
        literal_column(str(BEHIND)), QueueEntry.enqueued_at, cast(null(), when),
        func.row_number().over(order_by=(QueueEntry.priority_rank, QueueEntry.enqueued_at, QueueEntry.id)),
        cast(QueueEntry.conversation_id, String),
    ).where(QueueEntry.status == QueueStatus.WAITING, QUEUE_ORDER > _bound_key())
    staff = select(
        literal_column(str(STAFF)), cast(null(), when), cast(null(), when), cast(null(), Integer),
        cast(Agent.languages, String),
    ).where(
        Agent.status == "online", Agent.role.in_([str(r) for r in STAFF_ROLES]),
        Agent.last_seen_at >= bindparam("p_seen_since", type_=Agent.last_seen_at.type),
    )
    return union_all(*_stats_parts(named=True), _ahead(named=True), behind, staff)


def _arrival_read(session: Session, entry: QueueEntry, arrival: Arrival) -> tuple[int, WaitStats]:
    """`_place_and_stats(entry)`, and `arrival` filled in, in one round trip."""
    rows = session.execute(_arrival_statement(), {
        "p_rank": entry.priority_rank, "p_enqueued_at": entry.enqueued_at, "p_id": entry.id,
        "p_seen_since": arrival.seen_since,
    }).all()
    arrival.position = sum(int(slots or 0) for kind, _, _, slots, _ in rows if kind == AHEAD) + 1
    arrival.stats = _stats_of([tuple(row[:4]) for row in rows if row[0] in (PICKED, HANDLED, ONLINE)])
    arrival.behind = [(str(name), start) for kind, start, _, _, name in sorted(
        (row for row in rows if row[0] == BEHIND), key=lambda row: int(row[3]))]
    arrival.languages = [str(name or "") for kind, _, _, _, name in rows if kind == STAFF]
    arrival.entry_id = entry.id
    return arrival.position, arrival.stats


def _stats_of(rows: Any) -> WaitStats:
    # The time rows are only those where both times are set.
    return WaitStats(
        pickup_s=_mean([_seconds(start, end) for kind, start, end, _ in rows if kind == PICKED], DEFAULT_PICKUP_S),
        handling_s=_mean([_seconds(start, end) for kind, start, end, _ in rows if kind == HANDLED], DEFAULT_HANDLING_S),
        slots=max(1, sum(int(slots or 0) for kind, _, _, slots in rows if kind == ONLINE)),
    )


def wait_stats(session: Session) -> WaitStats:
    return _stats_of(session.execute(_stats_statement()).all())


def _place_and_stats(session: Session, entry: QueueEntry) -> tuple[int, WaitStats]:
    """`_position_of(entry)` and `wait_stats` in one round trip."""
    rows = session.execute(
        _place_statement(), {"p_rank": entry.priority_rank, "p_enqueued_at": entry.enqueued_at, "p_id": entry.id}
    ).all()
    return sum(int(slots or 0) for kind, _, _, slots in rows if kind == AHEAD) + 1, _stats_of(rows)


def _closed_for(clock: Clock, opens_at: datetime | None) -> float:
    return max(0.0, (opens_at - clock.now()).total_seconds()) if opens_at is not None else 0.0


def estimated_wait_s(
    session: Session, *, conversation_id: str, clock: Clock, opens_at: datetime | None = None
) -> int | None:
    """Seconds until an agent is expected to pick this chat up, from recent handling times."""
    found = position_and_wait(session, conversation_id=conversation_id, clock=clock, opens_at=opens_at)
    return None if found is None else found[1]


def position_and_wait(
    session: Session, *, conversation_id: str, clock: Clock, opens_at: datetime | None = None,
    entry: QueueEntry | None = None, arrival: Arrival | None = None,
) -> tuple[int, int] | None:
    """(`queue_position`, `estimated_wait_s`) with one lookup of the entry; None when not waiting.
    `opens_at`: nobody is on shift until then (business hours), so the wait starts there. `entry`: the
    conversation's active entry, when the caller has just read it (not looked up again). `arrival`: the
    conversation has just joined the queue; filled in by the same statement (`Arrival`)."""
    session.flush()
    if entry is None:
        entry = _waiting_entry(session, conversation_id)
    if entry is None or entry.status != QueueStatus.WAITING:
        return None
    position, stats = _place_and_stats(session, entry) if arrival is None else _arrival_read(session, entry, arrival)
    waited = (clock.now() - as_utc(entry.enqueued_at)).total_seconds()
    return position, stats.estimate(
        position=position, waited_s=waited, closed_for_s=_closed_for(clock, opens_at)
    )


def waiting_overview(
    session: Session, *, clock: Clock, behind: str | None = None, opens_at: datetime | None = None,
    behind_entry: QueueEntry | None = None, arrival: Arrival | None = None,
) -> dict[str, tuple[int, int]]:
    """Position and estimated wait of every waiting conversation (or of those behind the waiting
    conversation `behind`), in order, in a few queries plus the stats: what `notify_positions` needs
    after each queue change. `behind_entry`: the waiting entry of `behind`, when the caller has it;
    `arrival`: what its `state` event's statement read of those behind it (nothing is read again)."""
    session.flush()
    query = select(QueueEntry.conversation_id, QueueEntry.enqueued_at).where(
        QueueEntry.status == QueueStatus.WAITING
    )
    anchor = None
    if behind_entry is not None and behind_entry.conversation_id == behind:
        anchor = behind_entry if behind_entry.status == QueueStatus.WAITING else None
    elif behind is not None:
        anchor = _waiting_entry(session, behind)
    rows: Any
    if anchor is not None and arrival is not None and arrival.entry_id == anchor.id and arrival.stats is not None:
        # Its `state` event's statement has read those behind it (`Arrival`): nothing is read again.
        rows, first, stats = arrival.behind, arrival.position + 1, arrival.stats
        if not rows:
            return {}
    else:
        if anchor is not None:
            query = query.where(QUEUE_ORDER > _order_key(anchor))
        rows = session.execute(
            query.order_by(QueueEntry.priority_rank, QueueEntry.enqueued_at, QueueEntry.id)
        ).all()
        if not rows:  # the usual handoff: nobody behind the newcomer
            return {}
        if anchor is None:
            first, stats = 1, wait_stats(session)
        else:
            anchor_position, stats = _place_and_stats(session, anchor)
            first = anchor_position + 1
    now = clock.now()
    return {
        conversation_id: (
            position,
            stats.estimate(position=position, waited_s=(now - as_utc(enqueued_at)).total_seconds(),
                           closed_for_s=_closed_for(clock, opens_at)),
        )
        for position, (conversation_id, enqueued_at) in enumerate(rows, start=first)
    }


def notify_positions(
    session: Session, *, clock: Clock, behind: str | None = None, opens_at: datetime | None = None,
    behind_entry: QueueEntry | None = None, arrival: Arrival | None = None,
) -> None:
    """Queue a `state` event with fresh position and wait for every waiting conversation - or, with
    `behind` (a conversation that just joined and has had its own `state` event), for those behind
    it only: a new entry changes nobody's place ahead of it, and with a long queue one handoff would
    otherwise send an event to every borrower in it."""
    overview = waiting_overview(
        session, clock=clock, behind=behind, opens_at=opens_at, behind_entry=behind_entry, arrival=arrival
    )
    for conversation_id, (position, wait) in overview.items():
        publish_after_commit(
            session, conversation_topic(conversation_id),
            {"type": "state", "state": str(ConversationState.QUEUED), "queue_position": position,
             "estimated_wait_s": wait, "opens_at": None if opens_at is None else opens_at.isoformat()},
        )
