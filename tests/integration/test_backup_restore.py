"""A backup restores and is served (docs/production.md, "Backups"): pg_dump of a database the service filled,
pg_restore into another scratch database, and the service started on the copy serves the same conversations
and takes them further.

The real service (`python -m handoff serve`) on PostgreSQL, twice: once on a scratch database it migrates and
fills through its API (borrowers in English and Chinese, a bot that is down so every turn stores the honest
fallback, a request for a person, an agent who takes a chat and answers), then on the restored copy with
`MIGRATE_ON_START=false`, as a restored production pod would start. Needs TEST_DATABASE_URL (PostgreSQL) and the
pg_dump / pg_restore of the server's major version or newer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from scratch_db import postgres_scratch_database
from service_process import create_agent, run_service
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

pytestmark = [pytest.mark.integration, pytest.mark.db]

PASSWORD = "a-long-password"


def postgres_server() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith(("postgresql", "postgres:")):
        pytest.skip("TEST_DATABASE_URL (PostgreSQL) not set")
    return url


def client_binary(name: str, server_url: str) -> str:
    """`name` (pg_dump, pg_restore) of the server's major version or newer: PATH first, then Debian's
    /usr/lib/postgresql/<major>/bin, newest first."""
    engine = create_engine(server_url)
    try:
        with engine.connect() as conn:
            server_major = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    finally:
        engine.dispose()
    candidates = [found] if (found := shutil.which(name)) else []
    candidates += sorted((str(p) for p in Path("/usr/lib/postgresql").glob(f"*/bin/{name}")), reverse=True)
    for candidate in candidates:
        version = subprocess.run([candidate, "--version"], capture_output=True, text=True, check=True).stdout
        if int(version.split()[-1].split(".")[0]) >= server_major:
            return candidate
    pytest.skip(f"no {name} for PostgreSQL {server_major} or newer")


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def fill(service_url: str) -> dict[str, Any]:
    """Conversations in both languages through the API; returns what a borrower and an agent see."""
    seen: dict[str, Any] = {}
    with httpx.Client(base_url=service_url, trust_env=False, timeout=30) as http:
        for lang, words in (("en", ["hello", "what is my payoff amount"]), ("zh", ["你好", "我想提前还款"])):
            created = http.post("/api/conversations", json={"lang": lang}).json()
            borrower = {"Authorization": f"Bearer {created['token']}"}
            for n, word in enumerate(words):
                sent = http.post(f"/api/conversations/{created['id']}/messages", headers=borrower,
                                 json={"text": word, "client_message_id": f"{lang}-{n}"})
                assert sent.status_code == 200, sent.text
            queued = http.post(f"/api/conversations/{created['id']}/handoff", headers=borrower)
            assert queued.status_code == 200 and queued.json()["state"] == "queued", queued.text
            seen[lang] = {"id": created["id"], "token": created["token"]}
        token = http.post("/api/agent/login", json={"username": "ann", "password": PASSWORD}).json()["token"]
        agent = {"Authorization": f"Bearer {token}"}
        taken = http.post("/api/agent/queue/next", headers=agent).json()["entry"]
        assert taken is not None
        replied = http.post(f"/api/agent/conversations/{taken['conversation_id']}/messages", headers=agent,
                            json={"text": "Hi, this is Ann."})
        assert replied.status_code in (200, 201), replied.text
        seen["held"] = taken["conversation_id"]
    return seen


def transcript(http: httpx.Client, conversation: dict[str, str]) -> tuple[str, list[tuple[int, str, str]]]:
    page = http.get(f"/api/conversations/{conversation['id']}/messages", params={"after": 0},
                    headers={"Authorization": f"Bearer {conversation['token']}"})
    assert page.status_code == 200, page.text
    body = page.json()
    return body["state"], [(m["seq"], m["sender"], m["text"]) for m in body["messages"]]


def test_a_pg_dump_restores_into_a_database_the_service_serves(tmp_path: Path) -> None:
    server = postgres_server()
    pg_dump, pg_restore = client_binary("pg_dump", server), client_binary("pg_restore", server)
    dump = tmp_path / "carloan.dump"
    with postgres_scratch_database(server, prefix="backup") as original:
        with run_service(tmp_path / "original", DATABASE_URL=original) as service:
            create_agent(service, username="ann", password=PASSWORD, display_name="Ann")
            seen = fill(service.url)
            with httpx.Client(base_url=service.url, trust_env=False, timeout=30) as http:
                before = {lang: transcript(http, seen[lang]) for lang in ("en", "zh")}
        # What docs/production.md says to run (custom format: compressed, restorable table by table).
        subprocess.run([pg_dump, "--format=custom", "--no-owner", "--no-acl", f"--file={dump}",
                        f"--dbname={libpq_url(original)}"], check=True, capture_output=True, timeout=120)
    assert dump.stat().st_size > 0
    with postgres_scratch_database(server, prefix="restored") as restored:
        subprocess.run([pg_restore, "--no-owner", "--no-acl", "--exit-on-error", f"--dbname={libpq_url(restored)}",
                        str(dump)], check=True, capture_output=True, timeout=120)
        with run_service(tmp_path / "restored", DATABASE_URL=restored, MIGRATE_ON_START="false") as service, \
                httpx.Client(base_url=service.url, trust_env=False, timeout=30) as http:
            after = {lang: transcript(http, seen[lang]) for lang in ("en", "zh")}
            assert after == before
            assert {state for state, _ in after.values()} == {"queued", "assigned"}
            assert any(text == "Hi, this is Ann." for _, messages in after.values() for *_, text in messages)
            # The copy takes the chats further: the agent signs in again, the borrowers write on (gap-free seq).
            token = http.post("/api/agent/login", json={"username": "ann", "password": PASSWORD}).json()["token"]
            agent = {"Authorization": f"Bearer {token}"}
            held = next(lang for lang in ("en", "zh") if seen[lang]["id"] == seen["held"])
            waiting = next(lang for lang in ("en", "zh") if lang != held)
            for lang in ("en", "zh"):
                sent = http.post(f"/api/conversations/{seen[lang]['id']}/messages",
                                 headers={"Authorization": f"Bearer {seen[lang]['token']}"},
                                 json={"text": "still there?" if lang == "en" else "还在吗？"})
                assert sent.status_code == 200, sent.text
                assert sent.json()["messages"][0]["seq"] == before[lang][1][-1][0] + 1
            chat = http.get(f"/api/agent/conversations/{seen['held']}/messages", params={"after": 0}, headers=agent)
            assert chat.status_code == 200 and chat.json()["messages"][-1]["text"] in ("still there?", "还在吗？")
            queue = http.get("/api/agent/queue", headers=agent).json()["entries"]
            assert {e["conversation_id"]: e["status"] for e in queue} == {
                seen["held"]: "assigned", seen[waiting]["id"]: "waiting"}, queue
