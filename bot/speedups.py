"""Make Rasa 3.6 stop re-checking the same JSON schema on every action call.

Rasa validates each action server response with `jsonschema.validate(result, schema)`, and that function
first checks the *schema itself* against its metaschema and builds a fresh validator - every call. The
profile of the Rasa server under load (benchmarks/load/profile_bot.py, benchmarks/results/profile-*.md)
showed about half of its CPU time in jsonschema, two thirds of that in `check_schema`, for a schema that
never changes. `install()` replaces `jsonschema.validate` with a version that checks each distinct schema
once and keeps its validator; the instance is still validated in full and the same exception (the
`best_match` error) is raised, so Rasa's behaviour is unchanged. Rasa imports `validate` from the module at
call time (`from jsonschema import validate` inside the function), so replacing the module attribute is
enough.

The same profile showed the SQLite tracker store (the single-machine default, bot/endpoints.yml) committing
with a full fsync per turn inside Rasa's event loop, which stalls every other conversation meanwhile.
`install()` also makes every SQLite connection of the Rasa process use write-ahead logging with
`synchronous=NORMAL` (durable across a crash of Rasa; only a power cut can lose the last turns) and a busy
timeout, and gives SQLite file engines a connection pool: SQLAlchemy 1.4 (Rasa's) opens and closes a new
SQLite connection for every session of a file database, and closing the last connection of a WAL database
checkpoints it. PostgreSQL (the production tracker store, docs/production.md) is not touched.

Event types: Rasa turns every stored or returned event dict into an object with
`Event.resolve_by_type(name)`, which walks the whole class hierarchy of events (`all_subclasses`, with
an `inspect.isabstract` test per class) for every single event - 5% of the Rasa server's samples under
load, for an answer that only changes when new event classes are imported. `install()` keeps the class
found for each name; a name not found yet is looked up Rasa's way every time (so an event class
imported later is still found, and an unknown name still raises as before).

Action server calls: Rasa 3.6 opens a new aiohttp `ClientSession` - and so a new TCP connection - for every
call to the action server (`EndpointConfig.request`: `async with self.session() as session`), and closes it
afterwards; about a tenth of the Rasa server's samples under load were in those calls. `install()` makes
`EndpointConfig.session` hand out one long-lived session per event loop and endpoint configuration, configured
as Rasa's own `session()` (headers, basic auth, timeout), with a connection pool whose idle connections are
dropped after `KEEPALIVE_S` - well before the action server's own keep-alive timeout (uvicorn: 5 s), so a
connection the server is about to close is never reused.

Installed when Rasa loads our custom components (bot/components.py).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import json
import os
import sqlite3
from typing import Any

import aiohttp
import jsonschema
import sqlalchemy
from jsonschema import exceptions, validators
from rasa.shared.core.events import Event
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import QueuePool

_original_validate = jsonschema.validate
_original_resolve_event_type = Event.resolve_by_type
_original_create_engine = sqlalchemy.create_engine
_original_session = EndpointConfig.session
KEEPALIVE_S = 2.0  # idle pooled connections to the action server close after this (its own timeout: 5 s)


@functools.lru_cache(maxsize=128)
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # once per distinct schema: SchemaError as before for a bad one
    return cls(schema)


def validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
    """`jsonschema.validate` with the schema check and the validator cached per schema."""
    try:
        key = json.dumps(schema, sort_keys=True)
    except (TypeError, ValueError):  # not plain JSON (should not happen for Rasa's schemas)
        key = None
    if cls is not None or args or kwargs or key is None:
        _original_validate(instance, schema, cls, *args, **kwargs)
        return
    error = exceptions.best_match(_validator(key).iter_errors(instance))
    if error is not None:
        raise error


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()


def create_engine(url: Any, **kwargs: Any) -> Engine:
    """`sqlalchemy.create_engine`, with a pool of open connections for SQLite files (Rasa's tracker store)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and "poolclass" not in kwargs:
        kwargs["poolclass"] = QueuePool
        kwargs["connect_args"] = {"check_same_thread": False, **kwargs.get("connect_args", {})}
    return _original_create_engine(url, **kwargs)


_event_classes: dict[str, Any] = {}


def _resolve_event_type(type_name: str, default: Any = None) -> Any:
    """`Event.resolve_by_type` remembering each class it found (see the module docstring)."""
    found = _event_classes.get(type_name)
    if found is None:
        found = _original_resolve_event_type(type_name, default)
        if found is not None and found is not default:
            _event_classes[type_name] = found
    return found


class _KeptOpen:
    """What `EndpointConfig.session()` returns once installed: `async with` yields the shared session and
    leaves it open for the next call."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self.session

    async def __aexit__(self, *exc: object) -> None:
        return None


_sessions: dict[tuple[Any, ...], tuple[asyncio.AbstractEventLoop, aiohttp.ClientSession]] = {}


@atexit.register
def _close_sessions() -> None:
    """Close the shared sessions' connections when Rasa exits (else aiohttp logs "Unclosed client session")."""
    for _loop, session in _sessions.values():
        connector = session.connector
        if connector is not None and not connector.closed:
            with contextlib.suppress(Exception):  # the loop may be closed already: the process ends anyway
                connector._close()  # synchronous part of close(): drops the pooled transports
    _sessions.clear()


def _shared_session(self: EndpointConfig) -> Any:
    """`EndpointConfig.session` with one session per event loop and configuration (see the module docstring)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # not called from async code: Rasa's own throwaway session
        return _original_session(self)
    key = (id(loop), json.dumps(self.headers, sort_keys=True, default=str),
           json.dumps(self.basic_auth, sort_keys=True, default=str))
    owner, session = _sessions.get(key, (None, None))
    if session is None or session.closed or owner is not loop:
        auth = aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) \
            if self.basic_auth else None
        session = aiohttp.ClientSession(  # as Rasa's own session(), plus the pool's keep-alive
            headers=self.headers, auth=auth, timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S),
        )
        _sessions[key] = (loop, session)
    return _KeptOpen(session)


def install() -> None:
    """Idempotent. `BOT_SPEEDUPS=off` in Rasa's environment leaves Rasa exactly as shipped (to compare)."""
    if os.environ.get("BOT_SPEEDUPS", "on").lower() in ("off", "0", "false", "no"):
        return
    jsonschema.validate = validate  # type: ignore[assignment]
    if Event.resolve_by_type is not _resolve_event_type:
        Event.resolve_by_type = staticmethod(_resolve_event_type)  # type: ignore[assignment]
    sqlalchemy.create_engine = create_engine  # type: ignore[assignment]
    if not event.contains(Engine, "connect", _tune_sqlite):
        event.listen(Engine, "connect", _tune_sqlite)
    EndpointConfig.session = _shared_session  # type: ignore[assignment]
