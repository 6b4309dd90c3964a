"""What keeps a borrower turn cheap on the service's CPU (issue 17, benchmarks/load/profile_service.py), and that
the shortcuts change nothing a borrower sees: no dependency on a worker thread, every statement of a turn
compiled once, one engine proxy per kind of transaction, bus waits without a task each, and a handoff turn's
answer built from what its transaction has just written and announced."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from borrower_helpers import ScriptedRasa, faq_reply, handoff_reply, start
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, text, update
from sqlalchemy.engine.default import DefaultExecutionContext

from handoff.app import create_app
from handoff.config import Settings
from handoff.infra import db
from handoff.infra.bus import InProcessBus
from handoff.infra.clock import FakeClock
from handoff.models import CallbackTicket


def _calls(dependant: Dependant) -> list[Any]:
    found = []
    for sub in dependant.dependencies:
        found.append(sub.call)
        found += _calls(sub)
    return found


def _routes(routes: list[Any]) -> list[tuple[APIRoute | APIWebSocketRoute, list[Any]]]:
    """Every API route with its router-level dependencies (included routers are walked into)."""
    found: list[tuple[APIRoute | APIWebSocketRoute, list[Any]]] = []
    for route in routes:
        if isinstance(route, APIRoute | APIWebSocketRoute):
            found.append((route, []))
        included = getattr(route, "original_router", None)
        if included is not None:
            shared = [d.dependency for d in getattr(route.include_context, "dependencies", [])]
            shared += [d.dependency for d in included.dependencies]
            found += [(r, shared + more) for r, more in _routes(included.routes)]
    return found


def test_no_route_depends_on_a_plain_function(bot_app: FastAPI) -> None:
    """FastAPI runs a plain-function dependency on a worker thread: a thread hand-off on every request."""
    routes = _routes(bot_app.routes)
    assert any(route.path.endswith("/messages") for route, _ in routes)
    plain = {
        f"{route.path}: {getattr(call, '__qualname__', call)}"
        for route, shared in routes
        for call in [*shared, *_calls(route.dependant)]
        if call is not None and not inspect.iscoroutinefunction(call)
    }
    assert not plain, f"make these dependencies `async def`: {sorted(plain)}"


def test_every_statement_of_bot_turns_is_compiled_once(
    bot_client: TestClient, scripted_rasa: ScriptedRasa, engine: Engine
) -> None:
    """SQLAlchemy compiles a statement without a cache key (a multi-row VALUES, say) anew every time."""
    scripted_rasa.script = lambda body: (
        200,
        handoff_reply() if "person" in body["message"] else faq_reply(f"about {body['message']}"),
        0.0,
    )
    uncached: list[str] = []

    def check(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        compiled = isinstance(context, DefaultExecutionContext) and context.compiled is not None
        never_cached = compiled and context.cache_hit in (
            context.dialect.NO_CACHE_KEY,
            context.dialect.CACHING_DISABLED,
        )
        if never_cached and "SAVEPOINT" not in statement:  # a SAVEPOINT's name: nothing to compile
            uncached.append(statement)

    event.listen(engine, "before_cursor_execute", check)
    try:
        for _ in range(2):
            conversation_id, headers = start(bot_client)
            for words in ("payoff quote", "late fee", "a person please"):
                answer = bot_client.post(
                    f"/api/conversations/{conversation_id}/messages", json={"text": words}, headers=headers
                )
                assert answer.status_code == 200, answer.text
    finally:
        event.remove(engine, "before_cursor_execute", check)
    assert answer.json()["state"] == "queued"
    assert not uncached, uncached


def test_a_kind_of_transaction_gets_one_engine_proxy_that_keeps_later_listeners(engine: Engine) -> None:
    bind = db._bound(engine, write=True, autocommit=False)
    assert db._bound(engine, write=True, autocommit=False) is bind
    assert db._bound(engine, write=False, autocommit=False) is not bind
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)  # after the proxy was made
    try:
        with db.session_scope(engine) as session:
            session.execute(text("SELECT 42"))
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert "SELECT 42" in seen


async def test_a_bus_wait_that_times_out_loses_nothing() -> None:
    bus = InProcessBus()
    await bus.start()
    try:
        sub = bus.subscribe("conversation:x")
        await bus.publish("conversation:x", {"n": 1})
        assert await sub.get(timeout=0) == {"n": 1}  # already waiting: returned without waiting
        assert await sub.get(timeout=0.05) is None
        waiter = asyncio.ensure_future(sub.get(timeout=5))
        await asyncio.sleep(0)
        await bus.publish("conversation:x", {"n": 2})
        assert await waiter == {"n": 2}
        for n in range(3, 6):
            bus.publish_threadsafe("conversation:x", {"n": n})
        assert [await sub.get(timeout=1) for _ in range(3)] == [{"n": 3}, {"n": 4}, {"n": 5}]
        sub.close()
    finally:
        await bus.stop()


def test_a_handoff_turn_answers_with_the_view_the_borrower_then_reads(
    settings: Settings, engine: Engine, scripted_rasa: ScriptedRasa
) -> None:
    """The answer of a handoff turn reuses the place its `state` event announced and the entry it wrote;
    on the service's own clock, that is what the conversation's view says a moment later."""
    clock = FakeClock()
    scripted_rasa.script = lambda body: (200, handoff_reply(), 0.0)
    app = create_app(settings.model_copy(update={"RASA_URL": scripted_rasa.url}), engine, clock=clock)
    with TestClient(app) as client:
        views = []
        for _ in range(2):  # the second waits behind the first
            conversation_id, headers = start(client)
            with client.websocket_connect(f"/ws/conversations/{conversation_id}") as ws:
                ws.send_json({"type": "auth", "token": headers["Authorization"].split()[1], "after": 0})
                while ws.receive_json()["type"] != "ready":
                    pass
                turn = client.post(
                    f"/api/conversations/{conversation_id}/messages",
                    json={"text": "a person"},
                    headers=headers,
                ).json()
                pushed = ws.receive_json()
                while pushed["type"] != "state":
                    pushed = ws.receive_json()
            view = client.get(f"/api/conversations/{conversation_id}", headers=headers).json()
            views.append(view)
            keys = (
                "state",
                "queue_position",
                "estimated_wait_s",
                "waiting_s",
                "last_seq",
                "callback_requested",
            )
            assert {k: turn[k] for k in keys} == {k: view[k] for k in keys}
            assert {k: pushed[k] for k in keys} == {k: view[k] for k in keys}
    assert [v["queue_position"] for v in views] == [1, 2]


def test_a_bot_turn_answer_shows_an_open_callback_as_the_view_does(
    bot_client: TestClient, scripted_rasa: ScriptedRasa, engine: Engine
) -> None:
    """On PostgreSQL the bot turn's one statement reads the open callback along; the answer must say what
    the conversation's view says, with a callback open and after it is done."""
    scripted_rasa.script = lambda body: (200, faq_reply(f"about {body['message']}"), 0.0)
    conversation_id, headers = start(bot_client)
    url = f"/api/conversations/{conversation_id}"
    with db.session_scope(engine) as session:
        session.add(CallbackTicket(conversation_id=conversation_id, contact_method="phone", contact="***1234",
                                   reference="CB-TESTTURN", status="open"))
    keys = ("callback_requested", "callback_reference", "last_seq", "state")
    for expected in ((True, "CB-TESTTURN"), (False, None)):
        turn = bot_client.post(f"{url}/messages", json={"text": "late fee"}, headers=headers).json()
        view = bot_client.get(url, headers=headers).json()
        assert (turn["callback_requested"], turn["callback_reference"]) == expected
        assert {k: turn[k] for k in keys} == {k: view[k] for k in keys}
        with db.session_scope(engine) as session:
            session.execute(update(CallbackTicket).values(status="done"))
