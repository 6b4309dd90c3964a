"""Start the real Rasa server and the real action server on free ports, for integration tests.

Reusable by every engineer's tests::

    from rasa_stack import ensure_model, ensure_kb_index, start_rasa_stack

    with start_rasa_stack(workdir=tmp_path) as stack:      # trains/reuses var/models/bot.tar.gz first
        replies = stack.send("conv-1", "how do I get a payoff quote", lang="en")
        stack.append_events("conv-1", [{"event": "slot", "name": "agent_helped", "value": True}])

`stack.rasa_url` / `stack.rasa_token` are what the conversation service needs (RASA_URL, RASA_TOKEN);
`stack.action_url` / `stack.action_token` match ACTION_SERVER_URL / ACTION_SERVER_TOKEN.
Processes run in their own process group and are stopped (by their pid) when the block exits.

Rasa's command line and environment can be extended (`rasa_args`, `rasa_env`), e.g. to run it with the
production endpoints on PostgreSQL and Redis; several pairs sharing one tracker store and lock store start
side by side with `start_rasa_stacks` (launched together, so their model loading overlaps)::

    with start_rasa_stacks([tmp_path / "a", tmp_path / "b"], rasa_args=["--endpoints", str(prod_yml)],
                           rasa_env=tracker_and_lock_env) as (a, b):
        a.kill("rasa")                                  # SIGKILL, like a crash
"""

from __future__ import annotations

import fcntl
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from contract.codes import PayloadType

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_PATH = REPO_ROOT / "var" / "models" / "bot.tar.gz"
KB_INDEX = REPO_ROOT / "var" / "kb_index"
KB_ONNX = REPO_ROOT / "var" / "kb_onnx"  # written by `python -m knowledge_base build` run in REPO_ROOT
APP_PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
BOT_PYTHON = REPO_ROOT / ".venv-bot" / "bin" / "python"


class StackError(RuntimeError):
    """A process did not start; the message carries the tail of its log."""


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports free right now (all bound at once, so never the same one twice)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_model(timeout_s: float = 900) -> Path:
    """Train var/models/bot.tar.gz unless its inputs are unchanged (rasa skips then: a few seconds).

    scripts/train_bot.sh holds a file lock, so parallel test sessions never train into the same file at once.
    """
    log = REPO_ROOT / "var" / "models" / f"train-{os.getpid()}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        result = subprocess.run(
            [str(REPO_ROOT / "scripts" / "train_bot.sh")], cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT,
            timeout=timeout_s, check=False,
        )
    if result.returncode != 0 or not MODEL_PATH.exists():
        raise StackError(f"training failed (exit {result.returncode}):\n{_tail(log)}")
    log.unlink(missing_ok=True)
    return MODEL_PATH


def ensure_kb_index(index_dir: Path = KB_INDEX, timeout_s: float = 600) -> Path:
    """Build (incrementally) the FAQ index, and the ONNX export queries need, with the knowledge base's own
    command line."""
    with _file_lock(index_dir.parent / f".{index_dir.name}.build.lock"):
        result = subprocess.run(
            [str(APP_PYTHON), "-m", "knowledge_base", "build", "--index", str(index_dir)],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout_s, check=False,
        )
    if result.returncode != 0:
        raise StackError(f"knowledge base build failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return index_dir


def _tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"


@dataclass
class RasaStack:
    rasa_url: str
    rasa_token: str
    action_url: str
    action_token: str
    workdir: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def send(self, sender: str, text: str, lang: str | None = None, timeout_s: float = 30) -> list[dict[str, Any]]:
        """One borrower message through the REST channel, exactly as the conversation service sends it."""
        body: dict[str, Any] = {"sender": sender, "message": text}
        if lang:
            body["metadata"] = {"lang": lang}
        response = httpx.post(f"{self.rasa_url}/webhooks/rest/webhook", json=body, timeout=timeout_s)
        response.raise_for_status()
        # What the borrower would see: the service keeps the `turn_outcome` report for itself.
        return [m for m in response.json() if (m.get("custom") or {}).get("type") != PayloadType.TURN_OUTCOME]

    def tracker(self, sender: str) -> dict[str, Any]:
        response = httpx.get(f"{self.rasa_url}/conversations/{sender}/tracker",
                             params={"token": self.rasa_token}, timeout=30)
        response.raise_for_status()
        return dict(response.json())

    def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        """What the conversation service does on hand-back."""
        response = httpx.post(f"{self.rasa_url}/conversations/{sender}/tracker/events",
                              params={"token": self.rasa_token}, json=events, timeout=30)
        response.raise_for_status()

    def log(self, name: str) -> str:
        return _tail(self.workdir / f"{name}.log", 20000)

    def kill(self, name: str) -> None:
        """SIGKILL one process ("rasa" or "actions") and its group: a crash, no clean shutdown."""
        proc = self.processes[name]
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)

    def wait_ready(self, deadline: float) -> None:
        """Until the action server has its FAQ index and Rasa its model (StackError with the log if not)."""
        _wait_until("actions", self.processes["actions"],
                    lambda: httpx.get(f"{self.action_url}/health", timeout=2).json().get("knowledge_base") == "ready",
                    deadline, self.workdir)
        _wait_until("rasa", self.processes["rasa"],
                    lambda: httpx.get(f"{self.rasa_url}/status", params={"token": self.rasa_token},
                                      timeout=2).status_code == 200,
                    deadline, self.workdir)

    def stop(self) -> None:
        for proc in self.processes.values():
            _stop(proc)


def _start(name: str, cmd: list[str], env: dict[str, str], workdir: Path) -> subprocess.Popen[bytes]:
    out = (workdir / f"{name}.log").open("wb")
    return subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)


def _wait_until(name: str, proc: subprocess.Popen[bytes], check: Any, deadline: float, workdir: Path) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StackError(f"{name} exited with {proc.returncode}:\n{_tail(workdir / f'{name}.log')}")
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise StackError(f"{name} not ready in time:\n{_tail(workdir / f'{name}.log')}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


def launch_rasa_stack(
    *,
    workdir: Path,
    kb_index: Path,
    model: Path,
    extra_env: Mapping[str, str] | None = None,
    rasa_args: Sequence[str] = (),
    rasa_env: Mapping[str, str] | None = None,
    rasa_token: str | None = None,
) -> RasaStack:
    """Start the action server and Rasa on free ports and return at once (see `RasaStack.wait_ready`).

    `extra_env` reaches both processes; `rasa_args` are appended to scripts/run_rasa.sh's command line (a
    later `--endpoints` wins) and `rasa_env` is added to Rasa's environment only. `rasa_token` is Rasa's
    --auth-token (random when None)."""
    workdir.mkdir(parents=True, exist_ok=True)
    rasa_port, action_port = free_ports(2)
    stack = RasaStack(
        rasa_url=f"http://127.0.0.1:{rasa_port}", rasa_token=rasa_token or secrets.token_urlsafe(16),
        action_url=f"http://127.0.0.1:{action_port}", action_token=secrets.token_urlsafe(16), workdir=workdir,
    )
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("KB_", "RASA_", "ACTION_"))}
    base_env.update(extra_env or {})
    # The ONNX export `ensure_kb_index` wrote (the action server runs in `workdir`, without PyTorch).
    action_env = {**base_env, "ACTION_SERVER_TOKEN": stack.action_token, "KB_INDEX_DIR": str(kb_index),
                  "KB_ONNX_DIR": str(KB_ONNX), "APP_ENV": "development", "PYTHONPATH": str(REPO_ROOT)}
    bot_env = {**base_env, "RASA_PORT": str(rasa_port), "RASA_TOKEN": stack.rasa_token, "RASA_MODEL": str(model),
               "ACTION_SERVER_URL": stack.action_url, "ACTION_SERVER_TOKEN": stack.action_token,
               "RASA_TRACKER_DB": str(workdir / "tracker.db"), **(rasa_env or {})}
    try:
        stack.processes["actions"] = _start(
            "actions", [str(APP_PYTHON), "-m", "actions", "--host", "127.0.0.1", "--port", str(action_port)],
            action_env, workdir)
        stack.processes["rasa"] = _start(
            "rasa", [str(REPO_ROOT / "scripts" / "run_rasa.sh"), *rasa_args], bot_env, workdir)
    except BaseException:
        stack.stop()
        raise
    return stack


@contextmanager
def start_rasa_stacks(
    workdirs: Sequence[Path],
    *,
    kb_index: Path | None = None,
    model: Path | None = None,
    startup_timeout_s: float = 240,
    extra_env: Mapping[str, str] | None = None,
    rasa_args: Sequence[str] = (),
    rasa_env: Mapping[str, str] | None = None,
) -> Iterator[list[RasaStack]]:
    """One Rasa + action server pair per workdir, all launched before waiting for any, stopped after.

    Pairs share whatever `rasa_args` / `rasa_env` point them at (with the production endpoints: one
    tracker store and one lock store) and, as in production, one RASA_TOKEN, so a service can send any
    request to any of them; each pair gets its own ports, action-server token and logs."""
    model = model or ensure_model()
    kb_index = kb_index or ensure_kb_index()
    rasa_token = secrets.token_urlsafe(16)
    with ExitStack() as cleanup:
        stacks = []
        for workdir in workdirs:
            stack = launch_rasa_stack(workdir=workdir, kb_index=kb_index, model=model, extra_env=extra_env,
                                      rasa_args=rasa_args, rasa_env=rasa_env, rasa_token=rasa_token)
            cleanup.callback(stack.stop)
            stacks.append(stack)
        deadline = time.monotonic() + startup_timeout_s * len(stacks)  # loading together shares the CPU
        for stack in stacks:
            stack.wait_ready(deadline)
        yield stacks


@contextmanager
def start_rasa_stack(
    *,
    workdir: Path,
    kb_index: Path | None = None,
    model: Path | None = None,
    startup_timeout_s: float = 240,
    extra_env: Mapping[str, str] | None = None,
    rasa_args: Sequence[str] = (),
    rasa_env: Mapping[str, str] | None = None,
) -> Iterator[RasaStack]:
    """Train (or reuse) the model, build the FAQ index, start both servers on free ports; stop them after."""
    with start_rasa_stacks([workdir], kb_index=kb_index, model=model, startup_timeout_s=startup_timeout_s,
                           extra_env=extra_env, rasa_args=rasa_args, rasa_env=rasa_env) as (stack,):
        yield stack
