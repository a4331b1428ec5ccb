"""Helpers for tests over real sockets: a background reader, fatal-error checks, raw reads.

The client library (:class:`ChatClient`) is what a program would use; these helpers add what
only a test needs: a reader thread per client so a test can wait for a packet while others
keep flowing, and raw reads that do not answer pings. Frames built by hand (broken on
purpose) come from :mod:`tests.wire_support`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from localchat.adapters.tcp.client import CLIENT_MAX_FRAME_BYTES, ChatClient, ConnectionClosed
from localchat.adapters.wire import packets as p
from localchat.adapters.wire.framing import FrameDecoder
from localchat.adapters.wire.schema import ServerPacket, parse_server_packet
from localchat.domain.names import name_key
from tests.helpers import wait_until

P = TypeVar("P", bound=p.Packet)


def by_name(names: list[str]) -> list[str]:
    """The protocol's list order: by casefold key, ties by code point."""
    return sorted(names, key=lambda name: (name_key(name), name))


class Inbox:
    """Reads one client's packets on a thread (the library answers pings) and keeps them.

    Tests wait on it with :meth:`wait_for`; :attr:`closed` is set when the server closed
    the connection.
    """

    def __init__(self, client: ChatClient) -> None:
        self.client = client
        self.packets: list[ServerPacket] = []
        self.closed = threading.Event()
        self.failure: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                packet = self.client.receive(timeout=0.2)
            except TimeoutError:
                continue
            except ConnectionClosed:
                break
            except Exception as error:  # a protocol violation by the server: the test fails
                self.failure = error
                break
            self.packets.append(packet)
        self.closed.set()

    def stop(self) -> None:
        """Stop reading within 0.2 s (closing the client stops it at once)."""
        self._stop.set()

    def of_type(self, kind: type[P]) -> list[P]:
        self.check()
        return [packet for packet in list(self.packets) if isinstance(packet, kind)]

    def check(self) -> None:
        if self.failure is not None:
            raise AssertionError(f"the server broke the protocol: {self.failure!r}")

    def wait_for(
        self,
        kind: type[P],
        predicate: Callable[[P], bool] = lambda _: True,
        *,
        count: int = 1,
        timeout: float = 5.0,
    ) -> list[P]:
        """Wait until ``count`` packets of ``kind`` match ``predicate``; return those."""

        def found() -> list[P] | None:
            matching = [packet for packet in self.of_type(kind) if predicate(packet)]
            return matching if len(matching) >= count else None

        return wait_until(found, timeout, what=f"{count} x {kind.__name__} at {self.client!r}")

    def wait_closed(self, timeout: float = 5.0) -> None:
        assert self.closed.wait(timeout), "the server did not close the connection"
        self.check()


def next_packet(client: ChatClient, kind: type[P] | tuple[type[P], ...], timeout: float = 5.0) -> P:
    """The next packet of ``kind`` (a class or a tuple of them) ``client`` receives, skipping
    the others; each read waits up to ``timeout`` s."""
    while True:
        packet = client.receive(timeout=timeout)
        if isinstance(packet, kind):
            return packet


def expect_fatal(client: ChatClient, code: str, timeout: float = 5.0) -> p.Error:
    """The next packet is a fatal error ``code``, and then the server closes."""
    packet = client.receive(timeout=timeout)
    assert isinstance(packet, p.Error), packet
    assert (packet.code, packet.fatal) == (code, True), packet
    expect_closed(client, timeout)
    return packet


def expect_closed(client: ChatClient, timeout: float = 5.0) -> list[ServerPacket]:
    """Read until the server closes the connection; return what came before."""
    deadline = time.monotonic() + timeout
    seen: list[ServerPacket] = []
    while True:
        try:
            seen.append(client.receive(timeout=max(0.01, deadline - time.monotonic())))
        except ConnectionClosed:
            return seen
        except TimeoutError:
            raise AssertionError(f"still open after {timeout}s; got {seen}") from None


def expect_error(client: ChatClient, code: str, timeout: float = 5.0) -> p.Error:
    """The next packet is the non-fatal error ``code``."""
    packet = client.receive(timeout=timeout)
    assert isinstance(packet, p.Error), packet
    assert (packet.code, packet.fatal) == (code, False), packet
    return packet


def round_trip(client: ChatClient, ping_id: Any = "sync", timeout: float = 5.0) -> None:
    """Ping and read up to the pong: the connection is alive, and no error came before it.

    (A pong is answered by the connection itself, so it may overtake answers that go
    through the chat core.)
    """
    client.ping(ping_id)
    deadline = time.monotonic() + timeout
    while True:
        packet = client.receive(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(packet, p.Pong) and packet.id == ping_id:
            return
        assert not isinstance(packet, p.Error), packet


def read_raw(sock: socket.socket, timeout: float = 5.0) -> list[ServerPacket]:
    """Every packet until the server closes, read without answering pings."""
    decoder = FrameDecoder(CLIENT_MAX_FRAME_BYTES)
    packets: list[ServerPacket] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"still open after {timeout}s; got {packets}")
        sock.settimeout(remaining)
        try:
            data = sock.recv(65_536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            data = b""
        if not data:
            return packets
        decoder.receive_data(data)
        while (payload := decoder.next_frame()) is not None:
            packets.append(parse_server_packet(payload))


def vm_rss_kib() -> int:
    """Resident memory of this process (the server runs in it) in KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")
