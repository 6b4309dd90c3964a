"""`python -m handoff serve` starts the conversation service (settings from the environment);
`python -m handoff migrate` brings the database schema up to date (a Kubernetes Job, before the pods);
`python -m handoff create-agent ...` creates an agent account (see `handoff.agents.accounts`);
`python -m handoff rotate-contact-keys` re-encrypts stored callback contacts with the first CONTACT_KEYS key;
`python -m handoff seed-demo-loans` writes the fictional demo loans (development, `handoff.loans.demo`); the
account and data-lifecycle commands (disable-agent, reset-password, purge, erase-conversation, ...) are in
`handoff.admin_cli`."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from typing import Any, TypeVar

import uvicorn
from pydantic import ValidationError

from contract.settings import StrictSettings
from contract.settings import UnknownSettingError as UnknownEnvError
from handoff import admin_cli
from handoff.agents import accounts
from handoff.app import create_app
from handoff.config import Settings
from handoff.conversations import devices
from handoff.infra import db, logs
from handoff.infra.secretbox import SecretBox, SecretBoxError
from handoff.loans import demo
from handoff.queue import callbacks
from handoff.reminder_settings import NotifierSettings, ReminderSettings
from handoff.states import Role
from knowledge_base import KBSettings
from knowledge_base.config import UnknownSettingError
from telemetry import configure_logging

S = TypeVar("S", bound=StrictSettings)


def _settings() -> Settings:
    return _load(Settings)


def _load(cls: type[S]) -> S:
    try:
        return cls()
    except UnknownEnvError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except ValidationError as exc:
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "settings"
            print(f"configuration error: {name}: {err['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def _kb_settings() -> KBSettings:
    try:
        return KBSettings()
    except (ValidationError, UnknownSettingError) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's proxy-header options from FORWARDED_ALLOW_IPS (empty: the peer is the client)."""
    allowed = settings.FORWARDED_ALLOW_IPS.strip()
    if not allowed:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": allowed}


def serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m handoff serve", description="start the conversation service"
    )
    parser.add_argument("--host", help="override HOST")
    parser.add_argument("--port", type=int, help="override PORT")
    args = parser.parse_args(argv)
    settings = _settings()
    configure_logging(settings.LOG_LEVEL, settings.LOG_FORMAT)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logs.filter_root_handlers()
    host = args.host or settings.HOST
    port = args.port or settings.PORT

    app = create_app(settings, kb_settings=_kb_settings(), notifier_settings=_load(NotifierSettings),
                     reminder_settings=_load(ReminderSettings))
    # Everything imported and built so far lives as long as the process: moved out of the collector's
    # way, a full collection under load walks only what requests create. Measured under the load
    # benchmark: a full collection stopped the event loop for about 60 ms before, about 23 ms with this.
    gc.collect()
    gc.freeze()
    shown = "localhost" if host in ("0.0.0.0", "127.0.0.1") else host
    print(f"conversation service: http://{shown}:{port}/  (health: /healthz, API docs: /docs)", flush=True)
    # No per-message deflate on WebSockets: chat frames are a few hundred bytes, where compressing
    # saves little and costs CPU on both ends for every message (benchmarks/results/load.md).
    # With JSON logs, uvicorn's own loggers go through the root handler (log_config=None), which carries
    # the query-string filter too; text logs keep uvicorn's handlers, with the filter added.
    log_config = None if settings.LOG_FORMAT == "json" else logs.uvicorn_log_config()
    # Forwarded client addresses only from the configured proxies: anyone else could write the header
    # and pick the address that the per-address limits count.
    uvicorn.run(app, host=host, port=port, log_level=settings.LOG_LEVEL.lower(), log_config=log_config,
                ws_per_message_deflate=False, **proxy_options(settings))
    return 0


def migrate(argv: list[str], settings: Settings) -> int:
    """`python -m handoff migrate [--revision REV]`: the schema up to date, once, under a lock."""
    parser = argparse.ArgumentParser(prog="python -m handoff migrate", description="migrate the database")
    parser.add_argument("--revision", default="head", help="target revision (default head)")
    args = parser.parse_args(argv)
    configure_logging(settings.LOG_LEVEL, settings.LOG_FORMAT)
    engine = db.make_engine(settings.DATABASE_URL)
    try:
        db.upgrade(engine, args.revision)
    finally:
        engine.dispose()
    print(f"database schema at {args.revision}", flush=True)
    return 0


def create_agent(argv: list[str], settings: Settings) -> int:
    """`python -m handoff create-agent --username U --password P --role agent|supervisor|admin|editor`."""
    parser = argparse.ArgumentParser(prog="python -m handoff create-agent", description="create an agent account")
    parser.add_argument("--username", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--role", default="agent", choices=[r.value for r in Role])
    parser.add_argument("--display-name", default=None, help="name/alias the borrower sees (default: username)")
    parser.add_argument("--languages", default="en,zh", help="comma-separated: en, zh (default en,zh)")
    parser.add_argument("--max-concurrent", type=int, default=None, help="chats at once (default AGENT_MAX_CONCURRENT)")
    parser.add_argument("--team", default=None, help="the agent's team (the dashboard's team filter)")
    args = parser.parse_args(argv)
    engine = db.make_engine(settings.DATABASE_URL)
    try:
        db.upgrade(engine)
        with db.session_scope(engine) as session:
            agent = accounts.create_agent(
                session, username=args.username, password=args.password, role=args.role,
                display_name=args.display_name, languages=args.languages,
                max_concurrent=args.max_concurrent or settings.AGENT_MAX_CONCURRENT, team=args.team,
            )
            team = f", team {agent.team}" if agent.team else ""
            print(f"created {agent.role} {agent.username!r} (id {agent.id}, languages {agent.languages}{team})")
    except accounts.AgentAccountError as exc:
        print(f"create-agent: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def rotate_contact_keys(settings: Settings) -> int:
    """Re-encrypt every stored callback contact and push token with the first key of CONTACT_KEYS (README)."""
    engine = db.make_engine(settings.DATABASE_URL)
    try:
        db.upgrade(engine)
        box = SecretBox(settings.contact_keys)
        with db.session_scope(engine) as session:
            count = callbacks.rotate_keys(session, box=box)
            tokens = devices.rotate_keys(session, box=box)
        print(f"re-encrypted {count} callback contact(s) and {tokens} push token(s) with the first key of "
              "CONTACT_KEYS")
    except SecretBoxError as exc:
        print(f"rotate-contact-keys: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    return 0


def seed_demo_loans(argv: list[str], settings: Settings) -> int:
    """`python -m handoff seed-demo-loans`: the fictional demo borrowers in the reference loan tables."""
    argparse.ArgumentParser(
        prog="python -m handoff seed-demo-loans",
        description="write the fictional demo borrowers and loans of the reference loan system (development)",
    ).parse_args(argv)
    if settings.APP_ENV == "production":
        print("seed-demo-loans: refused with APP_ENV=production (the borrowers are fictional)", file=sys.stderr)
        return 2
    engine = db.make_engine(settings.LOAN_DATABASE_URL or settings.DATABASE_URL)
    try:
        db.upgrade(engine)
        count = demo.seed_demo_loans(engine)
    finally:
        engine.dispose()
    names = ", ".join(b.borrower_id for b in demo.DEMO_BORROWERS)
    print(f"seeded {count} demo loans for {names}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m handoff {serve,migrate,create-agent,seed-demo-loans,rotate-contact-keys,"
              f"{','.join(admin_cli.COMMANDS)}}} [options]")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "serve":
        return serve(rest)
    if command == "migrate":
        return migrate(rest, _settings())
    if command == "create-agent":
        return create_agent(rest, _settings())
    if command == "seed-demo-loans":
        return seed_demo_loans(rest, _settings())
    if command == "rotate-contact-keys":
        return rotate_contact_keys(_settings())
    if command in admin_cli.COMMANDS:
        return admin_cli.run(argv, _settings())
    print(f"unknown command {command!r}; expected serve, migrate, create-agent, seed-demo-loans, rotate-contact-keys or "
          f"{', '.join(admin_cli.COMMANDS)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
