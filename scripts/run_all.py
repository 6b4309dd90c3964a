"""`make run`: start the action server, the Rasa server and the conversation service; stop all on Ctrl-C.

Each process listens on loopback. Tokens shared between them are generated per run unless the
environment provides them. Start-up waits (with a deadline) until every process answers its health
check, then prints the URLs; if one dies, the others are stopped and the exit code says so.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_DEADLINE_S = 240


@dataclass
class Proc:
    name: str
    argv: list[str]
    health_url: str
    env: dict[str, str] = field(default_factory=dict)
    popen: subprocess.Popen[bytes] | None = None


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(200 <= resp.status < 300)
    except (urllib.error.URLError, OSError):
        return False


def _stop(procs: list[Proc]) -> None:
    for p in reversed(procs):
        if p.popen and p.popen.poll() is None:
            p.popen.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for p in reversed(procs):
        if p.popen is None:
            continue
        try:
            p.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.popen.kill()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Explicit handlers: a shell that starts us in the background sets SIGINT to "ignore", and a
    # service manager stops us with SIGTERM; both must still stop the three children cleanly.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    env = dict(os.environ)
    port = env.setdefault("PORT", "8000")
    rasa_port = env.setdefault("RASA_PORT", "5005")
    action_port = env.setdefault("ACTION_PORT", "5055")
    env.setdefault("RASA_TOKEN", secrets.token_urlsafe(24))
    env.setdefault("ACTION_SERVER_TOKEN", secrets.token_urlsafe(24))
    env.setdefault("ACTION_SERVER_URL", f"http://127.0.0.1:{action_port}")
    # The action server asks the service for verified borrowers' account data (handoff /internal/ API).
    env.setdefault("INTERNAL_API_TOKEN", secrets.token_urlsafe(24))
    env.setdefault("SERVICE_URL", f"http://127.0.0.1:{port}")
    env.setdefault("RASA_URL", f"http://127.0.0.1:{rasa_port}")
    # One tracker file for Rasa (scripts/run_rasa.sh) and for the service's retention and erasure.
    tracker_db = env.setdefault("RASA_TRACKER_DB", "var/rasa/tracker.db")
    env.setdefault("RASA_TRACKER_DB_URL", f"sqlite:///{tracker_db}")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    (ROOT / "var" / "logs").mkdir(parents=True, exist_ok=True)
    py = str(ROOT / ".venv" / "bin" / "python")
    if env.get("APP_ENV", "development") == "development" and env.get("LOAN_SYSTEM", "reference") == "reference":
        # The demo sign-in on the chat page needs its fictional borrowers' loans.
        subprocess.run([py, "-m", "handoff", "seed-demo-loans"], cwd=ROOT, env=env, check=False)
    procs = [
        Proc("action server", [py, "-m", "actions", "--host", "127.0.0.1", "--port", action_port],
             f"http://127.0.0.1:{action_port}/health"),
        Proc("rasa server", ["bash", str(ROOT / "scripts" / "run_rasa.sh")], f"http://127.0.0.1:{rasa_port}/"),
        # /readyz answers 200 only once Rasa has its model and the action server answers too, so "Ready."
        # below means all three processes are.
        Proc("conversation service", [py, "-m", "handoff", "serve"], f"http://127.0.0.1:{port}/readyz"),
    ]
    try:
        for p in procs:
            log_path = ROOT / "var" / "logs" / f"{p.name.replace(' ', '_')}.log"
            print(f"starting {p.name} (log: var/logs/{log_path.name})", flush=True)
            with open(log_path, "ab") as log:  # the child keeps its own copy of the descriptor
                p.popen = subprocess.Popen(p.argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_DEADLINE_S
        waiting = list(procs)
        while waiting:
            for p in list(waiting):
                if p.popen is not None and p.popen.poll() is not None:
                    print(f"{p.name} exited with {p.popen.returncode}; see its log in var/logs/", file=sys.stderr)
                    _stop(procs)
                    return 1
                if _healthy(p.health_url):
                    print(f"  {p.name} is healthy", flush=True)
                    waiting.remove(p)
            if time.monotonic() > deadline:
                names = ", ".join(p.name for p in waiting)
                print(f"not healthy after {START_DEADLINE_S}s: {names}; see var/logs/", file=sys.stderr)
                _stop(procs)
                return 1
            time.sleep(0.5)
        print(
            f"\nReady.\n  borrower chat:  http://127.0.0.1:{port}/\n"
            f"  agent console:  http://127.0.0.1:{port}/console/\n"
            f"  API docs:       http://127.0.0.1:{port}/docs\n"
            f"  health:         http://127.0.0.1:{port}/healthz (liveness), /readyz (readiness)\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        while True:
            for p in procs:
                if p.popen is not None and p.popen.poll() is not None:
                    print(f"{p.name} stopped unexpectedly ({p.popen.returncode}); stopping the rest", file=sys.stderr)
                    _stop(procs)
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
        _stop(procs)
        return 0


if __name__ == "__main__":
    sys.exit(main())
