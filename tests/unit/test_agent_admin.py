"""Issue 11.8 (accounts): admins disable and enable an agent, revoke all of its sessions and reset its
password, over the admin API and on the command line; a disabled agent can neither log in nor act."""

from __future__ import annotations

from pathlib import Path

from agent_support import PASSWORD, make_agent, make_settings, tx, waiting_chat
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from test_agents_api import login

from handoff import admin_cli
from handoff.infra import db
from handoff.infra.clock import FakeClock
from handoff.models import Agent, AgentSession, AuditEvent, QueueEntry

NEW_PASSWORD = "a-brand-new-password"


def _second_session(api: TestClient, username: str) -> dict[str, str]:
    return login(api, username)


def test_disabled_agent_is_logged_out_cannot_log_in_and_loses_its_chats(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    _conv_id, entry_id = waiting_chat(engine, clock)
    ann = make_agent(engine, clock, "ann")
    make_agent(engine, clock, "root", role="admin")
    ann_headers, root = login(api, "ann"), login(api, "root")
    assert api.post(f"/api/agent/queue/{entry_id}/claim", headers=ann_headers).status_code == 200
    done = api.post(f"/api/agent/admin/agents/{ann.id}/disable", headers=root)
    assert done.status_code == 200 and done.json()["requeued"] == 1
    assert api.get("/api/agent/me", headers=ann_headers).status_code == 401
    assert api.post("/api/agent/login", json={"username": "ann", "password": PASSWORD}).status_code == 401
    entry = tx(engine, lambda s: s.get(QueueEntry, entry_id))
    assert entry.status == "waiting" and entry.assigned_agent_id is None
    assert api.post(f"/api/agent/admin/agents/{ann.id}/enable", headers=root).status_code == 200
    assert api.post("/api/agent/login", json={"username": "ann", "password": PASSWORD}).status_code == 200
    actions = tx(engine, lambda s: s.scalars(select(AuditEvent.action)).all())
    assert "agent_disabled" in actions and "agent_enabled" in actions


def test_revoke_sessions_ends_every_session(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    ann = make_agent(engine, clock, "ann")
    make_agent(engine, clock, "root", role="admin")
    first, second, root = login(api, "ann"), _second_session(api, "ann"), login(api, "root")
    revoked = api.post(f"/api/agent/admin/agents/{ann.id}/revoke-sessions", headers=root)
    assert revoked.status_code == 200 and revoked.json() == {"revoked": 2}
    assert api.get("/api/agent/me", headers=first).status_code == 401
    assert api.get("/api/agent/me", headers=second).status_code == 401
    assert api.get("/api/agent/me", headers=root).status_code == 200  # the admin's own session stays


def test_reset_password_revokes_sessions_and_only_the_new_password_works(
    api: TestClient, engine: Engine, clock: FakeClock
) -> None:
    ann = make_agent(engine, clock, "ann")
    make_agent(engine, clock, "root", role="admin")
    old, root = login(api, "ann"), login(api, "root")
    short = api.post(f"/api/agent/admin/agents/{ann.id}/password", json={"password": "short"}, headers=root)
    assert short.status_code == 422
    reset = api.post(f"/api/agent/admin/agents/{ann.id}/password", json={"password": NEW_PASSWORD}, headers=root)
    assert reset.status_code == 200
    assert api.get("/api/agent/me", headers=old).status_code == 401
    assert api.post("/api/agent/login", json={"username": "ann", "password": PASSWORD}).status_code == 401
    assert api.post("/api/agent/login", json={"username": "ann", "password": NEW_PASSWORD}).status_code == 200


def test_only_admins_administer_accounts(api: TestClient, engine: Engine, clock: FakeClock) -> None:
    ann = make_agent(engine, clock, "ann")
    make_agent(engine, clock, "sue", role="supervisor")
    sue = login(api, "sue")
    for action in ("disable", "enable", "revoke-sessions"):
        assert api.post(f"/api/agent/admin/agents/{ann.id}/{action}", headers=sue).status_code == 403
    assert api.post(f"/api/agent/admin/agents/{ann.id}/password", json={"password": NEW_PASSWORD},
                    headers=sue).status_code == 403
    root_id = make_agent(engine, clock, "root", role="admin").id
    root = login(api, "root")
    own = api.post(f"/api/agent/admin/agents/{root_id}/disable", headers=root)
    assert own.status_code == 422 and "own account" in own.json()["error"]["message"]
    assert api.post("/api/agent/admin/agents/9999/disable", headers=root).status_code == 404


def test_command_line(tmp_path: Path, capsys: object) -> None:
    settings = make_settings(DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}")
    engine = db.make_engine(settings.DATABASE_URL)
    db.upgrade(engine)
    clock = FakeClock()
    make_agent(engine, clock, "ann")
    tx(engine, lambda s: s.add(AgentSession(token_hash="x" * 64, agent_id=s.scalar(select(Agent.id)),
                                            created_at=clock.now(), expires_at=clock.now())))
    assert admin_cli.run(["revoke-sessions", "--username", "ann"], settings) == 0
    assert admin_cli.run(["disable-agent", "--username", "ann"], settings) == 0
    assert tx(engine, lambda s: s.scalar(select(Agent.disabled_at))) is not None
    assert admin_cli.run(["enable-agent", "--username", "ann"], settings) == 0
    assert admin_cli.run(["reset-password", "--username", "ann", "--password", NEW_PASSWORD], settings) == 0
    assert admin_cli.run(["reset-password", "--username", "ann", "--password", "short"], settings) == 2
    assert admin_cli.run(["disable-agent", "--username", "nobody"], settings) == 2
    out = capsys.readouterr()  # type: ignore[attr-defined]
    assert "revoked 1 sessions of 'ann'" in out.out and "disabled 'ann'" in out.out
    assert "at least 8 characters" in out.err and "no agent 'nobody'" in out.err
    assert tx(engine, lambda s: s.scalar(select(AgentSession.token_hash))) is None
    engine.dispose()
