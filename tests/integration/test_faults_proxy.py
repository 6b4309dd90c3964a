"""The fault-injection TCP proxy itself, against a loopback echo server (fast, no other processes)."""

from __future__ import annotations

import asyncio
import socket
import socketserver
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from tcp_proxy import Mode, TcpProxy


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@pytest.fixture
async def echo_port() -> AsyncIterator[int]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def _roundtrip(port: int, payload: bytes = b"ping", timeout: float = 2.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(payload)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(len(payload)), timeout)
    finally:
        writer.close()


async def test_passes_bytes_both_ways_and_counts_them(echo_port: int) -> None:
    async with TcpProxy(target_port=echo_port) as proxy:
        assert proxy.port != echo_port
        assert await _roundtrip(proxy.port, b"hello") == b"hello"
        assert await _roundtrip(proxy.port, b"again") == b"again"
        assert proxy.stats.accepted == 2
        assert proxy.stats.bytes_up == proxy.stats.bytes_down == 10


async def test_latency_delays_each_direction(echo_port: int) -> None:
    async with TcpProxy(target_port=echo_port) as proxy:
        proxy.latency_s = 0.15
        started = time.monotonic()
        assert await _roundtrip(proxy.port) == b"ping"
        assert time.monotonic() - started >= 0.3  # once up, once down


async def test_reset_mode_resets_new_connections(echo_port: int) -> None:
    async with TcpProxy(target_port=echo_port) as proxy:
        proxy.mode = Mode.RESET
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            await _roundtrip(proxy.port)
        assert proxy.stats.reset == 1
        proxy.mode = Mode.PASS
        assert await _roundtrip(proxy.port) == b"ping"


async def test_reset_all_breaks_open_connections(echo_port: int) -> None:
    async with TcpProxy(target_port=echo_port) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"one")
        assert await reader.readexactly(3) == b"one"
        proxy.reset_all()
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            writer.write(b"two")
            await writer.drain()
            await asyncio.wait_for(reader.readexactly(3), 2)
        writer.close()


async def test_blackhole_accepts_and_never_answers(echo_port: int) -> None:
    async with TcpProxy(target_port=echo_port) as proxy:
        proxy.mode = Mode.BLACKHOLE
        with pytest.raises(TimeoutError):
            await _roundtrip(proxy.port, timeout=0.3)
        assert proxy.stats.blackholed == 1
        assert proxy.stats.bytes_up == 0


async def test_blackhole_swallows_an_open_connection(echo_port: int) -> None:
    async with TcpProxy(target_port=echo_port) as proxy:
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"one")
        assert await reader.readexactly(3) == b"one"
        proxy.mode = Mode.BLACKHOLE
        writer.write(b"two")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.readexactly(3), 0.3)
        writer.close()


async def test_unreachable_target_is_a_reset() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    async with TcpProxy(target_port=dead_port) as proxy:
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
            await _roundtrip(proxy.port)
        assert proxy.stats.upstream_failures == 1


def test_refuses_non_loopback_targets() -> None:
    with pytest.raises(ValueError, match="loopback"):
        TcpProxy(target_host="10.0.0.1", target_port=80)


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(1024):
            self.request.sendall(data)


@pytest.fixture
def threaded_echo_port() -> Iterator[int]:
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _EchoHandler) as server:
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield server.server_address[1]
        server.shutdown()
        thread.join(timeout=5)


def test_runs_in_a_thread_for_synchronous_tests(threaded_echo_port: int) -> None:
    with TcpProxy(target_port=threaded_echo_port).in_thread() as proxy:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as conn:
            conn.sendall(b"sync")
            assert conn.recv(4) == b"sync"
        proxy.mode = Mode.RESET  # flipped from this (non-loop) thread
        # The reset may arrive while connect() is still returning, so connecting is inside the check too.
        with (
            pytest.raises((ConnectionError, TimeoutError)),
            socket.create_connection(("127.0.0.1", proxy.port), timeout=2) as conn,
        ):
            conn.sendall(b"x")
            if not conn.recv(1):
                raise ConnectionResetError("closed")
