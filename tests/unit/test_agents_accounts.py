"""Agent accounts: `python -m handoff create-agent`, argon2 passwords, sessions, the audit trail."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_support import PASSWORD, make_agent, make_settings, tx, waiting_chat
from sqlalchemy import Engine, select

from handoff.__main__ import main
from handoff.agents import accounts, operations
from handoff.infra import db
from handoff.infra.clock import FakeClock
from handoff.models import Agent, AgentSession, AuditEvent


def test_create_agent_command(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    argv = ["create-agent", "--username", "wang", "--password", "a long password", "--role", "supervisor",
            "--display-name", "小王", "--languages", "zh,en"]
    assert main(argv) == 0
    assert "created supervisor 'wang'" in capsys.readouterr().out
    assert main(argv) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["create-agent", "--username", "li", "--password", "short"]) == 2
    assert "at least 8" in capsys.readouterr().err
    assert main(["create-agent", "--username", "li", "--password", "long enough", "--languages", "fr"]) == 2
    with pytest.raises(SystemExit):
        main(["create-agent", "--username", "li", "--password", "long enough", "--role", "boss"])
    engine = db.make_engine(url)
    try:
        agent = tx(engine, lambda s: s.scalars(select(Agent).where(Agent.username == "wang")).one())
        assert agent.display_name == "小王" and agent.languages == "zh,en" and agent.role == "supervisor"
        assert agent.password_hash.startswith("$argon2") and "a long password" not in agent.password_hash
    finally:
        engine.dispose()


def test_sessions_store_only_a_hash_and_expire(engine: Engine) -> None:
    clock = FakeClock()
    make_agent(engine, clock, "ann", online=False)

    def login(session):  # type: ignore[no-untyped-def]
        agent = accounts.authenticate(session, username="ann", password=PASSWORD)
        assert accounts.authenticate(session, username="ann", password="nope") is None
        return accounts.start_session(session, agent=agent, clock=clock, ttl_s=3600)[0]

    token = tx(engine, login)
    stored = tx(engine, lambda s: s.scalars(select(AgentSession.token_hash)).all())
    assert stored == [accounts.hash_token(token)] and token not in stored
    assert tx(engine, lambda s: accounts.agent_for_token(s, token=token, clock=clock)).username == "ann"
    clock.advance(3601)
    assert tx(engine, lambda s: accounts.agent_for_token(s, token=token, clock=clock)) is None
    assert tx(engine, lambda s: s.scalars(select(AgentSession)).all()) == []  # expired session removed


def test_every_state_change_is_audited_with_its_actor(engine: Engine) -> None:
    clock = FakeClock()
    conv_id, entry_id = waiting_chat(engine, clock)
    ann, bob = make_agent(engine, clock, "ann"), make_agent(engine, clock, "bob")
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    tx(engine, lambda s: operations.assign_chat(s, entry_id=entry_id, to_agent_id=bob.id, actor=ann, clock=clock))
    tx(engine, lambda s: operations.release_chat(s, conversation_id=conv_id, agent=bob, clock=clock))
    tx(engine, lambda s: operations.claim_chat(s, entry_id=entry_id, agent=ann, clock=clock))
    tx(engine, lambda s: operations.close_chat(s, conversation_id=conv_id, agent=ann, resolution_code="resolved",
                                                  clock=clock))
    rows = tx(engine, lambda s: s.execute(
        select(AuditEvent.action, AuditEvent.actor_type, AuditEvent.actor_id, AuditEvent.from_state, AuditEvent.to_state)
        .where(AuditEvent.conversation_id == conv_id).order_by(AuditEvent.id)).all())
    changes = [tuple(r) for r in rows if r.action in ("state_changed", "transfer")]
    assert changes[1:] == [
        ("state_changed", "agent", str(ann.id), "queued", "assigned"),
        ("transfer", "agent", str(ann.id), "assigned", "assigned"),
        ("state_changed", "agent", str(bob.id), "assigned", "queued"),
        ("state_changed", "agent", str(ann.id), "queued", "assigned"),
        ("state_changed", "agent", str(ann.id), "assigned", "closed"),
    ]
    assert changes[0][3:] == ("bot", "queued")


def test_settings_fields_the_agent_side_uses_exist() -> None:
    settings = make_settings()
    for name in ("SLA_FIRST_REPLY_S", "SLA_WARNING_FRACTION", "AGENT_RESPONSE_TARGET_S", "AGENT_SESSION_TTL_S",
                 "AGENT_PRESENCE_TIMEOUT_S", "AGENT_MAX_CONCURRENT", "BUSINESS_HOURS", "BUSINESS_TZ",
                 "CALLBACK_OFFER_AFTER_S"):
        assert hasattr(settings, name), name
