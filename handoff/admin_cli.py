"""The administration commands of `python -m handoff` (accounts and data lifecycle):

    disable-agent / enable-agent / revoke-sessions --username U
    reset-password --username U --password P
    set-team --username U --team T    the agent's team for the dashboard's filter ('' = none)
    purge                          one retention pass now (the service also runs it periodically)
    erase-conversation --id C      erase one conversation from the service and Rasa's tracker store

Each prints what it did on one line and returns 0, or prints the error and returns 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from handoff.agents import accounts, admin
from handoff.config import Settings
from handoff.errors import HandoffError
from handoff.infra import db
from handoff.infra.clock import SystemClock
from handoff.privacy import erasure, retention
from handoff.rasa.tracker_store import TrackerStore

T = TypeVar("T")


def _in_transaction(settings: Settings, work: Callable[[Session], T]) -> T:
    engine: Engine = db.make_engine(settings.DATABASE_URL)
    try:
        db.upgrade(engine)
        with db.session_scope(engine) as session:
            return work(session)
    finally:
        engine.dispose()


def _account(command: str, args: argparse.Namespace, settings: Settings) -> str:
    clock = SystemClock()

    def work(session: Session) -> str:
        agent = admin.find_agent(session, username=args.username)
        if command == "disable-agent":
            requeued = admin.disable_agent(session, agent=agent, actor_id=None, clock=clock)
            return f"disabled {agent.username!r}: sessions revoked, {requeued} chats back in the queue"
        if command == "enable-agent":
            admin.enable_agent(session, agent=agent, actor_id=None)
            return f"enabled {agent.username!r}"
        if command == "revoke-sessions":
            return f"revoked {admin.revoke_sessions(session, agent=agent, actor_id=None)} sessions of {agent.username!r}"
        if command == "set-team":
            admin.set_team(session, agent=agent, team=args.team, actor_id=None)
            return f"{agent.username!r} is in team {agent.team!r}" if agent.team else f"{agent.username!r} has no team"
        admin.reset_password(session, agent=agent, password=args.password, actor_id=None)
        return f"password of {agent.username!r} reset; its sessions are revoked"

    return _in_transaction(settings, work)


def _tracker(settings: Settings) -> TrackerStore | None:
    return TrackerStore(settings.RASA_TRACKER_DB_URL) if settings.RASA_TRACKER_DB_URL else None


def _purge(_args: argparse.Namespace, settings: Settings) -> str:
    clock = SystemClock()
    report = _in_transaction(settings, lambda s: retention.purge(s, clock=clock, settings=settings))
    tracker = _tracker(settings)
    try:
        events = retention.purge_tracker(tracker, clock=clock, settings=settings)
    finally:
        if tracker is not None:
            tracker.close()
    return (f"purged: {len(report.conversations_erased)} conversations erased, {report.callbacks_deleted} "
            f"callbacks deleted, {report.client_addrs_cleared} client addresses cleared, {events} tracker events "
            f"deleted, {report.reminders_deleted} reminders and {report.notifications_deleted} notifications deleted")


def _erase(args: argparse.Namespace, settings: Settings) -> str:
    tracker = _tracker(settings)
    if tracker is None and not args.service_only:
        raise HandoffError("RASA_TRACKER_DB_URL is not set, so Rasa's tracker store would keep the conversation; "
                           "set it (make run: sqlite:///var/rasa/tracker.db) or pass --service-only")
    try:
        report = _in_transaction(settings, lambda s: erasure.erase_conversation(
            s, conversation_id=args.id, actor_type="system", force=args.force))
        events = tracker.erase(args.id) if tracker is not None else None
    finally:
        if tracker is not None:
            tracker.close()
    rows = ", ".join(f"{table} {count}" for table, count in report.deleted.items() if count)
    shown = "not touched" if events is None else f"{events} events deleted"
    scrubbed = ", ".join(f"{table} {count}" for table, count in report.scrubbed.items() if count) or "none"
    return (f"erased conversation {args.id}: {rows}; scrubbed (kept without personal data): {scrubbed}; audit: "
            f"{report.audit_rows} rows anonymised as {report.pseudonym}; tracker store: {shown}")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m handoff", description="administration commands")
    commands = top.add_subparsers(dest="command", required=True)
    for name, helptext in (("disable-agent", "no more logins; sessions revoked; held chats requeued"),
                           ("enable-agent", "allow logins again"), ("revoke-sessions", "log the agent out everywhere")):
        commands.add_parser(name, help=helptext).add_argument("--username", required=True)
    reset = commands.add_parser("reset-password", help="set a new password; sessions revoked")
    reset.add_argument("--username", required=True)
    reset.add_argument("--password", required=True)
    team = commands.add_parser("set-team", help="move the agent to a team (the dashboard's team filter)")
    team.add_argument("--username", required=True)
    team.add_argument("--team", required=True, help="team name; '' for none")
    commands.add_parser("purge", help="one retention pass (RETENTION_* settings)")
    erase = commands.add_parser("erase-conversation", help="erase one conversation everywhere")
    erase.add_argument("--id", required=True, help="conversation id")
    erase.add_argument("--force", action="store_true", help="also when it is in the queue or held")
    erase.add_argument("--service-only", action="store_true", help="without RASA_TRACKER_DB_URL: service DB only")
    return top


COMMANDS = ("disable-agent", "enable-agent", "revoke-sessions", "reset-password", "set-team", "purge", "erase-conversation")


def run(argv: list[str], settings: Settings) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "purge":
            print(_purge(args, settings))
        elif args.command == "erase-conversation":
            print(_erase(args, settings))
        else:
            print(_account(args.command, args, settings))
    except (HandoffError, accounts.AgentAccountError) as exc:
        print(f"{args.command}: {exc}", file=sys.stderr)
        return 2
    return 0
