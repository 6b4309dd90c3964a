"""A small TCP proxy for fault tests: put it between two of our processes and break the link on purpose.

    proxy = TcpProxy(target_port=rasa_port)        # listens on a free 127.0.0.1 port
    async with proxy:                              # or: with proxy.in_thread(): ... from sync code
        settings = Settings(RASA_URL=proxy.url, ...)
        proxy.latency_s = 3.0                      # every chunk, both directions, waits 3 s
        proxy.mode = Mode.RESET                    # new connections are reset at once (RST)
        proxy.reset_all()                          # and the open ones too
        proxy.mode = Mode.BLACKHOLE                # accept, swallow the bytes, never answer
        proxy.mode = Mode.PASS                     # heal

Knobs are plain attributes read on every chunk, so a test may flip them from any thread. Targets and the
listening address are loopback only: this is for tests on one machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Self

LOOPBACK = "127.0.0.1"
CHUNK = 64 * 1024


class Mode(enum.Enum):
    PASS = "pass"  # forward (after latency_s)
    RESET = "reset"  # accept, then close with RST before any byte is forwarded
    BLACKHOLE = "blackhole"  # accept, read and drop everything, never connect upstream, never answer


@dataclass
class ProxyStats:
    accepted: int = 0
    reset: int = 0
    blackholed: int = 0
    upstream_failures: int = 0
    bytes_up: int = 0  # client -> target
    bytes_down: int = 0  # target -> client


def _abort_with_rst(writer: asyncio.StreamWriter) -> None:
    """Close so the peer sees 'connection reset by peer' rather than a clean EOF."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class TcpProxy:
    def __init__(self, *, target_port: int, target_host: str = LOOPBACK, listen_port: int = 0) -> None:
        if target_host not in (LOOPBACK, "localhost", "::1"):
            raise ValueError(f"TcpProxy only forwards to loopback, not {target_host!r}")
        self.target_host = target_host
        self.target_port = target_port
        self.latency_s = 0.0
        self.mode = Mode.PASS
        self.stats = ProxyStats()
        self._listen_port = listen_port
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    async def start(self) -> Self:
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._handle, LOOPBACK, self._listen_port)
        return self

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def reset_all(self) -> None:
        """Reset every open connection (both sides see RST); from any thread, done when it returns."""
        if self._loop is None:
            return
        if self._is_loop_thread():
            self._reset_open()
            return
        done = threading.Event()

        def reset_then_signal() -> None:
            try:
                self._reset_open()
            finally:
                done.set()

        self._loop.call_soon_threadsafe(reset_then_signal)
        done.wait(timeout=5)  # return once the connections are really gone

    def _is_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def _reset_open(self) -> None:
        for writer in list(self._writers):
            _abort_with_rst(writer)
        self.stats.reset += len(self._writers)

    @contextlib.contextmanager
    def in_thread(self) -> Iterator[Self]:
        """Run the proxy on its own event loop in a daemon thread, for synchronous tests."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        thread = threading.Thread(target=loop.run_forever, name=f"tcp-proxy-{self.target_port}", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result(timeout=10)
            started.set()
            yield self
        finally:
            if started.is_set():
                asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        self.stats.accepted += 1
        try:
            await self._serve(reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode is Mode.RESET:
            self.stats.reset += 1
            _abort_with_rst(writer)
            return
        if self.mode is Mode.BLACKHOLE:
            self.stats.blackholed += 1
            while await reader.read(CHUNK):
                pass
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            self.stats.upstream_failures += 1
            _abort_with_rst(writer)
            return
        self._writers.add(up_writer)
        pipes = [
            asyncio.create_task(self._pipe(reader, up_writer, upstream=True)),
            asyncio.create_task(self._pipe(up_reader, writer, upstream=False)),
        ]
        try:
            # Clean EOFs are passed on (half-close) and we wait for both directions; a reset or error on
            # either side resets the other, like a real middlebox would.
            done, _ = await asyncio.wait(pipes, return_when=asyncio.FIRST_EXCEPTION)
            if any(not t.cancelled() and t.exception() is not None for t in done):
                _abort_with_rst(writer)
                _abort_with_rst(up_writer)
        finally:
            for pipe in pipes:
                pipe.cancel()
            await asyncio.gather(*pipes, return_exceptions=True)
            self._writers.discard(up_writer)
            up_writer.transport.abort()

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, *, upstream: bool) -> None:
        while data := await src.read(CHUNK):
            if self.latency_s > 0:
                await asyncio.sleep(self.latency_s)
            if self.mode is Mode.RESET:  # switched to a fault while this connection was open
                self.stats.reset += 1
                raise ConnectionResetError("proxy reset")
            if self.mode is Mode.BLACKHOLE:
                continue  # swallow
            dst.write(data)
            await dst.drain()
            if upstream:
                self.stats.bytes_up += len(data)
            else:
                self.stats.bytes_down += len(data)
        if dst.can_write_eof() and not dst.is_closing():
            dst.write_eof()
