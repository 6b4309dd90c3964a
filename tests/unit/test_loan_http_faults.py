"""The HTTP loan-system adapter when the lender API misbehaves: retries of reads, timeouts, the circuit
breaker. Against a real HTTP server (uvicorn on a free port) with a fault-injecting middleware."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi import Request, Response
from loan_support import API_KEY, free_port, lender_api, seeded_reference, serve_app
from sqlalchemy import Engine

from handoff.loans.http_adapter import HttpLoanSystem
from handoff.loans.lender_api import create_lender_api
from handoff.loans.system import BorrowerNotFound, LoanSystemUnavailable


@dataclass
class Faults:
    fail_next: int = 0  # answer this many requests with 503
    delay_s: float = 0.0  # wait this long before answering
    requests: int = 0


@pytest.fixture
def faulty(engine: Engine) -> Iterator[tuple[str, Faults]]:
    faults = Faults()
    app = create_lender_api(seeded_reference(engine), api_key=API_KEY)

    @app.middleware("http")
    async def inject(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        faults.requests += 1
        if faults.delay_s:
            await asyncio.sleep(faults.delay_s)
        if faults.fail_next > 0:
            faults.fail_next -= 1
            return Response('{"error": {"code": "busy"}}', status_code=503)
        return await call_next(request)

    with serve_app(app) as url:
        yield url, faults


def adapter(url: str, **kwargs: float) -> HttpLoanSystem:
    return HttpLoanSystem(base_url=url, api_key=API_KEY, **{"timeout_s": 2.0, **kwargs})  # type: ignore[arg-type]


def test_a_read_is_retried_after_5xx_and_succeeds(faulty: tuple[str, Faults]) -> None:
    url, faults = faulty
    faults.fail_next = 2
    assert adapter(url).profile("demo-alex").name == "Alex Morgan"
    assert faults.requests == 3


def test_a_read_gives_up_after_its_attempts(faulty: tuple[str, Faults]) -> None:
    url, faults = faulty
    faults.fail_next = 10
    with pytest.raises(LoanSystemUnavailable):
        adapter(url).loans("demo-alex")
    assert faults.requests == 3


def test_a_letter_request_is_not_retried(faulty: tuple[str, Faults]) -> None:
    url, faults = faulty
    faults.fail_next = 1
    with pytest.raises(LoanSystemUnavailable):
        adapter(url).request_letter("demo-alex", "L-ALEX-1", kind="payoff", idempotency_key="conv-9:payoff")
    assert faults.requests == 1


def test_a_slow_api_times_out(faulty: tuple[str, Faults]) -> None:
    url, faults = faulty
    faults.delay_s = 1.5
    started = time.monotonic()
    with pytest.raises(LoanSystemUnavailable):
        adapter(url, timeout_s=0.3, read_attempts=2).profile("demo-alex")
    assert time.monotonic() - started < 1.5


def test_the_breaker_opens_after_failures_and_then_refuses_at_once() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    system = adapter(url, read_attempts=1, breaker_fail_max=3, breaker_reset_s=60)
    for _ in range(3):
        with pytest.raises(LoanSystemUnavailable):
            system.profile("demo-alex")
    assert system.breaker.current_state == "open"
    with pytest.raises(LoanSystemUnavailable, match="circuit breaker is open"):
        system.profile("demo-alex")


def test_a_borrowers_own_errors_never_open_the_breaker(faulty: tuple[str, Faults]) -> None:
    url, _faults = faulty
    system = adapter(url, breaker_fail_max=2)
    for _ in range(4):
        with pytest.raises(BorrowerNotFound):
            system.profile("nobody")
    assert system.breaker.current_state == "closed"
    assert system.profile("demo-alex").tier == "standard"


def test_the_breaker_closes_again_when_the_api_is_back(engine: Engine) -> None:
    port = free_port()
    system = adapter(f"http://127.0.0.1:{port}", read_attempts=1, breaker_fail_max=1, breaker_reset_s=0.2)
    with pytest.raises(LoanSystemUnavailable):
        system.profile("demo-alex")
    assert system.breaker.current_state == "open"
    with lender_api(seeded_reference(engine), port=port):
        time.sleep(0.3)
        assert system.profile("demo-alex").name == "Alex Morgan"
    assert system.breaker.current_state == "closed"
