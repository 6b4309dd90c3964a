"""Issue 11.3: login limits per username and per client address (configurable), forwarded addresses only
from configured proxies, and one argon2 operation per login whether or not the username exists."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from agent_support import PASSWORD, make_agent, make_settings, tx
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from handoff.__main__ import proxy_options
from handoff.agents import accounts
from handoff.app import create_app
from handoff.infra.clock import FakeClock


@pytest.fixture
def limited(engine: Engine) -> Iterator[TestClient]:
    settings = make_settings(DATABASE_URL=str(engine.url), LOGIN_ATTEMPTS_PER_USERNAME_PER_MIN=10,
                             LOGIN_ATTEMPTS_PER_ADDRESS_PER_MIN=30)
    with TestClient(create_app(settings, engine, clock=FakeClock())) as client:
        yield client


def _login(client: TestClient, username: str, password: str) -> int:
    return client.post("/api/agent/login", json={"username": username, "password": password}).status_code


def test_wrong_logins_as_nobody_do_not_lock_out_a_real_agent(limited: TestClient, engine: Engine) -> None:
    make_agent(engine, FakeClock(), "alice", online=False)
    assert [_login(limited, "nobody", "guess-guess") for _ in range(10)] == [401] * 10
    assert _login(limited, "nobody", "guess-guess") == 429  # that username is now limited
    assert _login(limited, "alice", PASSWORD) == 200  # from the same address


def test_guesses_at_one_username_are_limited(limited: TestClient, engine: Engine) -> None:
    make_agent(engine, FakeClock(), "alice", online=False)
    assert [_login(limited, "alice", f"wrong-{i}") for i in range(10)] == [401] * 10
    refused = limited.post("/api/agent/login", json={"username": "alice", "password": "wrong-10"})
    assert refused.status_code == 429 and "username" in refused.json()["error"]["message"]
    assert _login(limited, "ALICE", "wrong-11") == 429  # case variants count as the same name


def test_one_address_trying_many_usernames_is_limited(limited: TestClient) -> None:
    outcomes = [_login(limited, f"user{i}", "guess-guess") for i in range(31)]
    assert outcomes[:30] == [401] * 30 and outcomes[30] == 429


def test_proxy_headers_are_trusted_only_from_configured_proxies() -> None:
    assert proxy_options(make_settings()) == {"proxy_headers": False}
    assert proxy_options(make_settings(FORWARDED_ALLOW_IPS="10.0.0.5, 10.0.1.0/24")) == {
        "proxy_headers": True, "forwarded_allow_ips": "10.0.0.5, 10.0.1.0/24"}


class CountingHasher(PasswordHasher):
    """argon2's own hasher, counting its operations."""

    calls: list[str] = []  # noqa: RUF012 - reset by each test

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.calls.append("hash")
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.calls.append("verify")
        return super().verify(hash, password)


def test_unknown_and_known_usernames_cost_one_argon2_operation(engine: Engine, monkeypatch: Any) -> None:
    make_agent(engine, FakeClock(), "alice")
    tx(engine, lambda s: accounts.authenticate(s, username="nobody", password="warm-up"))  # the one dummy hash
    monkeypatch.setattr(accounts, "_hasher", CountingHasher)
    for username in ("nobody", "alice", "someone-else"):
        CountingHasher.calls = []
        assert tx(engine, lambda s, u=username: accounts.authenticate(s, username=u, password="wrong-pass")) is None
        assert CountingHasher.calls == ["verify"], (username, CountingHasher.calls)
