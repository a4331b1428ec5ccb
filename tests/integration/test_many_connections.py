"""500 connections registered at once; one message reaches all of them."""

from __future__ import annotations

import json
import resource
import selectors
import socket
import time
from collections.abc import Callable

from localchat.adapters.tcp.client import CLIENT_MAX_FRAME_BYTES
from localchat.adapters.wire.framing import FrameDecoder
from tests.servers import RunningServer
from tests.wire_support import hello_frame, json_frame

CLIENTS = 500


def ensure_open_files(needed: int) -> None:
    """Each connection costs two descriptors here (client and server share this process)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


class RawReader:
    """Reads many sockets at once with one selector; payloads are decoded with json (fast)."""

    def __init__(self, socks: list[socket.socket]) -> None:
        self.selector = selectors.DefaultSelector()
        self.decoders: dict[int, FrameDecoder] = {}
        self.seen: dict[int, list[dict[str, object]]] = {}
        for index, sock in enumerate(socks):
            sock.setblocking(False)
            self.decoders[index] = FrameDecoder(CLIENT_MAX_FRAME_BYTES)
            self.seen[index] = []
            self.selector.register(sock, selectors.EVENT_READ, index)

    def read_until(self, done: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            remaining = deadline - time.monotonic()
            assert remaining > 0, "timed out"
            for key, _ in self.selector.select(min(remaining, 0.5)):
                index = key.data
                data = key.fileobj.recv(1 << 20)  # type: ignore[union-attr]
                assert data, f"connection {index} closed"
                decoder = self.decoders[index]
                decoder.receive_data(data)
                while (payload := decoder.next_frame()) is not None:
                    self.seen[index].append(json.loads(payload))

    def count(self, index: int, kind: str) -> int:
        return sum(1 for packet in self.seen[index] if packet["type"] == kind)


def test_five_hundred_connections_at_once(chat_server: RunningServer) -> None:
    ensure_open_files(2 * CLIENTS + 200)
    socks = [
        socket.create_connection(("127.0.0.1", chat_server.port), timeout=10)
        for _ in range(CLIENTS)
    ]
    try:
        for index, sock in enumerate(socks):
            sock.sendall(hello_frame(f"user{index:03d}"))
        reader = RawReader(socks)
        reader.read_until(
            lambda: all(reader.count(i, "welcome") for i in range(CLIENTS)), timeout=30
        )
        assert chat_server.server.service.user_count == CLIENTS
        welcomes = [
            next(x for x in reader.seen[i] if x["type"] == "welcome") for i in range(CLIENTS)
        ]
        assert sorted(len(w["users"]) for w in welcomes) == list(range(1, CLIENTS + 1))  # type: ignore[arg-type]

        socks[123].sendall(json_frame({"type": "say", "text": "hello, all 500"}))

        def everyone_got_it() -> bool:
            return all(reader.count(i, "message") for i in range(CLIENTS))

        reader.read_until(everyone_got_it, timeout=30)
        for index in range(CLIENTS):
            messages = [x for x in reader.seen[index] if x["type"] == "message"]
            assert [(m["seq"], m["sender"], m["text"]) for m in messages] == [
                (1, "user123", "hello, all 500")
            ]
            assert reader.count(index, "error") == 0
            # Everyone who registered later was announced to this one, once each.
            assert reader.count(index, "joined") == CLIENTS - len(welcomes[index]["users"])  # type: ignore[arg-type]
    finally:
        for sock in socks:
            sock.close()
