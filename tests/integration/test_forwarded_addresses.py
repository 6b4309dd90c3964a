"""Issue 11.3 through the real server (uvicorn): X-Forwarded-For decides the client address of the login
limit only when the peer is a configured proxy (FORWARDED_ALLOW_IPS); otherwise anyone could pick a fresh
address per request, and the header is ignored."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from service_process import run_service

pytestmark = pytest.mark.integration

LIMITS = {"LOGIN_ATTEMPTS_PER_ADDRESS_PER_MIN": "3", "LOGIN_ATTEMPTS_PER_USERNAME_PER_MIN": "100"}


def _login(url: str, forwarded_for: str, n: int) -> int:
    response = httpx.post(f"{url}/api/agent/login", json={"username": f"nobody{n}", "password": "guess-guess"},
                          headers={"X-Forwarded-For": forwarded_for}, trust_env=False, timeout=30)
    return response.status_code


def test_a_trusted_proxy_gives_each_client_its_own_budget(tmp_path: Path) -> None:
    with run_service(tmp_path, FORWARDED_ALLOW_IPS="127.0.0.1", **LIMITS) as service:
        first = [_login(service.url, "198.51.100.1", n) for n in range(4)]
        other = _login(service.url, "198.51.100.2", 9)
    assert first == [401, 401, 401, 429] and other == 401


def test_the_header_is_ignored_from_anyone_else(tmp_path: Path) -> None:
    with run_service(tmp_path, **LIMITS) as service:
        spoofed = [_login(service.url, f"198.51.100.{n}", n) for n in range(4)]
    assert spoofed == [401, 401, 401, 429]
