"""A real HTTP server for the lender API contract (uvicorn in a thread, on a free port), and a seeded
reference loan system. Shared by the loan-system contract tests and the service tests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date

import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from handoff.loans.demo import seed_demo_loans
from handoff.loans.lender_api import create_lender_api
from handoff.loans.reference import ReferenceLoanSystem

TODAY = date(2026, 12, 1)
API_KEY = "test-lender-api-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seeded_reference(engine: Engine, *, today: date = TODAY) -> ReferenceLoanSystem:
    seed_demo_loans(engine, today=today)
    return ReferenceLoanSystem(engine, today=lambda: today)


@contextlib.contextmanager
def serve_app(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 until the block ends; yields the base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("lender API did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextlib.contextmanager
def lender_api(system: ReferenceLoanSystem, port: int | None = None) -> Iterator[tuple[str, FastAPI]]:
    app = create_lender_api(system, api_key=API_KEY)
    with serve_app(app, port) as url:
        yield url, app
