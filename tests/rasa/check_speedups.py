"""Run with the Rasa environment (.venv-bot/bin/python, repository root on PYTHONPATH); prints one JSON line.

Compares bot.speedups.validate with jsonschema's own validate on Rasa's real action-response schema: valid
and invalid responses must give the same outcome and the same error message, a bad schema must still raise
SchemaError, and the schema must be checked once, not once per call. Event.resolve_by_type must give Rasa's own
class for every event name, raise for an unknown one, and walk the class hierarchy once per name. SQLite connections get WAL and
synchronous=NORMAL (1) and a
connection pool in the tracker store bot/endpoints.yml names. Action server calls (`EndpointConfig.request`, against
a local aiohttp server) keep Rasa's headers, auth and answers, reuse one connection while busy, and open a new one
after the pool's keep-alive.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

import jsonschema
import rasa.shared.utils.common as rasa_common
from jsonschema import exceptions
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event
from rasa.utils.endpoints import EndpointConfig

from bot import speedups

SCHEMA = RemoteAction.action_response_format_spec()
RESPONSES = [
    {"events": [{"event": "slot", "name": "handoff_active", "value": True}], "responses": [{"text": "hi"}]},
    {"events": [], "responses": [{"custom": {"handoff": {"reason": "anger"}}}]},
    {"events": [{"event": "slot"}], "responses": []},
    {"events": [{"event": "no_such_event"}], "responses": []},
    {"events": "not a list", "responses": []},
    {"events": [], "responses": ["not an object"]},
]


def outcome(validate, instance, schema) -> str:
    try:
        validate(instance, schema)
    except exceptions.ValidationError as e:
        return f"invalid: {e.message}"
    return "valid"


async def action_calls() -> dict:
    """Calls through Rasa's EndpointConfig.request to a local server that records what reached it."""
    from aiohttp import web

    seen: list[dict] = []

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append({"port": request.transport.get_extra_info("peername")[1], "x": request.headers.get("X-Bot"),
                     "auth": request.headers.get("Authorization"), "token": request.query.get("token")})
        return web.json_response({"echo": body["n"]})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    speedups.KEEPALIVE_S = 0.3  # short, to see an idle connection dropped
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"X-Bot": "yes"}, token="t0k",
                                  basic_auth={"username": "u", "password": "p"})
        answers = [await endpoint.request(json={"n": n}) for n in range(5)]
        shared = endpoint.session().session is endpoint.session().session
        other = EndpointConfig(f"http://127.0.0.1:{port}/webhook").session().session is not endpoint.session().session
        await asyncio.sleep(0.8)  # longer than the keep-alive: the next call opens a new connection
        answers.append(await endpoint.request(json={"n": 5}))
    finally:
        await runner.cleanup()
    return {"answers": [a["echo"] for a in answers], "shared": shared, "other_config_other_session": other,
            "connections_busy": len({s["port"] for s in seen[:5]}),
            "new_after_idle": seen[5]["port"] != seen[4]["port"],
            "headers": sorted({(s["x"], s["auth"], s["token"]) for s in seen})}


def main() -> None:
    original = jsonschema.validate
    speedups.install()
    same = [outcome(original, r, SCHEMA) == outcome(jsonschema.validate, r, SCHEMA) for r in RESPONSES]
    outcomes = [outcome(jsonschema.validate, r, SCHEMA) for r in RESPONSES]
    checks = 0
    real_check = jsonschema.validators.validator_for(SCHEMA).check_schema

    def counting_check(schema):
        nonlocal checks
        checks += 1
        return real_check(schema)

    speedups._validator.cache_clear()
    jsonschema.validators.validator_for(SCHEMA).check_schema = counting_check
    for _ in range(20):
        jsonschema.validate(RESPONSES[0], RemoteAction.action_response_format_spec())
    checks_for_20_calls = checks
    try:
        jsonschema.validate({}, {"type": 12})
        bad_schema = "accepted"
    except exceptions.SchemaError:
        bad_schema = "SchemaError"
    names = sorted({cls.type_name for cls in rasa_common.all_subclasses(Event)})
    rasa_classes = {name: speedups._original_resolve_event_type(name) for name in names}
    walks = 0
    real_walk = rasa_common.all_subclasses

    def counting_walk(cls):
        nonlocal walks
        walks += 1
        return real_walk(cls)

    speedups._event_classes.clear()
    rasa_common.all_subclasses = counting_walk
    try:
        event_classes_same = all(Event.resolve_by_type(n) is rasa_classes[n] for n in names)
        first_round = walks
        event_classes_same &= all(Event.resolve_by_type(n) is rasa_classes[n] for _ in range(4) for n in names)
        later_walks = walks - first_round  # four more rounds over every name: nothing left to look up
        try:
            Event.resolve_by_type("no_such_event")
            unknown_event = "accepted"
        except ValueError:
            unknown_event = "ValueError"
    finally:
        rasa_common.all_subclasses = real_walk
    with tempfile.TemporaryDirectory() as tmp:
        from bot.tracker_store import SQLiteTrackerStore  # what bot/endpoints.yml names

        engine = SQLiteTrackerStore(dialect="sqlite", db=str(Path(tmp) / "tracker.db")).engine
        with engine.connect() as conn:
            sqlite = [conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in ("journal_mode", "synchronous")]
        sqlite.append(type(engine.pool).__name__)
        engine.dispose()
    print(json.dumps({"action_calls": asyncio.run(action_calls()),
                      "sqlite": sqlite, "same": same, "outcomes": outcomes, "checks": checks_for_20_calls,
                      "bad_schema": bad_schema,
                      "installed": jsonschema.validate is speedups.validate,
                      "events": {"names": len(names), "same": event_classes_same, "unknown": unknown_event,
                                 "first_round_walks": first_round, "later_walks": later_walks}}))


if __name__ == "__main__":
    main()
