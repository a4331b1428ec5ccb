"""Issue 2, "Done when": nothing a client sends can crash the server or stall other clients.

One client sends seeded random garbage (raw bytes, broken frames, random JSON, packets with
random fields, valid commands in between), reconnecting whenever the server drops it, while
two others chat. The two get every message, in order, promptly; the server logs no internal
error; afterwards it still serves newcomers.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from localchat.adapters.wire import packets as p
from localchat.adapters.wire.framing import encode_frame
from tests.integration.support import Inbox
from tests.servers import RunningServer
from tests.wire_support import json_frame

FIELDS = ["type", "name", "protocol", "password", "text", "room", "to", "before", "limit", "id"]
TYPES = [*p.CLIENT_MODELS, "welcome", "message", "error", "", "SAY", "say ", "x" * 300]
CHARS = "aZ09_-.# \n\t\u0000\u0007\u00e9\u0301\u200b\u202e\ud800\udfff\U0001f600ßİ\u3000"
MESSAGES = 60  # per chatting client


def random_string(rng: random.Random, longest: int = 40) -> str:
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(0, longest)))


def random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth < 40 and roll < 0.15:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 40 and roll < 0.3:
        size = rng.randint(0, 3)
        return {random_string(rng, 8): random_value(rng, depth + 1) for _ in range(size)}
    return rng.choice(
        [
            None,
            True,
            False,
            rng.randint(-(2**64), 2**64),
            rng.randint(-3, 300),
            rng.choice([2**53 - 1, 2**53, -(2**53), 0]),
            rng.uniform(-1e308, 1e308),
            random_string(rng),
            "#" + random_string(rng, 10),
            "x" * rng.choice([1, 4000, 4001, 20_000]),
        ]
    )


def random_packet(rng: random.Random) -> dict[str, Any]:
    packet = {field: random_value(rng) for field in rng.sample(FIELDS, rng.randint(0, 5))}
    if rng.random() < 0.9:
        packet["type"] = rng.choice(TYPES)
    return packet


def valid_command(rng: random.Random) -> bytes:
    room = rng.choice(["#lobby", "#den", "#Straße", "#x"])
    return json_frame(
        rng.choice(
            [
                {"type": "say", "text": random_string(rng) or "hi", "room": room},
                {"type": "join", "room": room},
                {"type": "leave", "room": room},
                {"type": "list_rooms"},
                {"type": "list_users", "room": room},
                {"type": "direct", "to": rng.choice(["alice", "BOB", "nobody"]), "text": "hey"},
                {"type": "ping", "id": random_value(rng)},
                {"type": "history", "room": room, "limit": rng.randint(1, 200)},
            ]
        )
    )


def garbage(rng: random.Random) -> bytes:
    """One chunk of bytes a broken or hostile client might send."""
    roll = rng.random()
    if roll < 0.05:
        return rng.randbytes(rng.randint(1, 64))  # anything, framing included
    if roll < 0.10:
        return struct.pack(">I", rng.choice([0, 65_537, 2**32 - 1]))
    if roll < 0.20:
        return encode_frame(rng.randbytes(rng.randint(1, 200)))
    if roll < 0.30:
        data = bytearray(json.dumps(random_packet(rng)).encode())
        for _ in range(rng.randint(1, 3)):  # flip a few bytes
            if data:
                data[rng.randrange(len(data))] = rng.randrange(256)
        return encode_frame(bytes(data))
    if roll < 0.40:
        text = json.dumps(random_packet(rng))
        return encode_frame(text[: rng.randint(1, max(1, len(text)))].encode())  # cut short
    if roll < 0.75:
        encoded = json.dumps(random_packet(rng)).encode()
        return encode_frame(encoded) if len(encoded) <= 65_536 else b""
    return valid_command(rng)


def hostile_client(port: int, seed: int, stop: threading.Event, counts: dict[str, int]) -> None:
    rng = random.Random(seed)
    sock: socket.socket | None = None
    while not stop.is_set():
        if sock is None:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            counts["connections"] += 1
            if rng.random() < 0.8:
                name = rng.choice(["mallory", "Mallory", "eve", "trudy", random_string(rng, 8)])
                sock.sendall(json_frame({"type": "hello", "name": name, "protocol": 1}))
        data = garbage(rng)
        # Split at random points, as a stream may arrive.
        cuts = sorted(rng.sample(range(len(data) + 1), min(len(data) + 1, rng.randint(0, 3))))
        try:
            for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
                if start < end:
                    sock.sendall(data[start:end])
            counts["chunks"] += 1
            sock.setblocking(False)
            try:
                while sock.recv(1 << 20):  # read what is there, if anything
                    pass
                sock.close()  # the server closed it
                sock = None
            except BlockingIOError:
                sock.settimeout(5)
        except OSError:
            sock.close()
            sock = None
    if sock is not None:
        sock.close()


@pytest.mark.parametrize("seed", [20261122, 7])
def test_garbage_from_one_client_harms_nobody(
    start_server: Callable[..., RunningServer], caplog: pytest.LogCaptureFixture, seed: int
) -> None:
    caplog.set_level(logging.ERROR)
    server = start_server(max_text_chars=4000, handshake_timeout=0.5)
    alice = server.connect("alice")
    bob = server.connect("bob")
    inboxes = {"alice": Inbox(alice), "bob": Inbox(bob)}

    stop = threading.Event()
    counts = {"connections": 0, "chunks": 0}
    hostile = threading.Thread(target=hostile_client, args=(server.port, seed, stop, counts))
    hostile.start()
    try:
        worst = 0.0
        for index in range(MESSAGES):
            for name, client in (("alice", alice), ("bob", bob)):
                sent = time.monotonic()
                client.say(f"{name} {index}")
                inboxes[name].wait_for(
                    p.ChatMessage, lambda m, n=name, i=index: m.sender == n and m.text == f"{n} {i}"
                )
                worst = max(worst, time.monotonic() - sent)
    finally:
        stop.set()
        hostile.join(10)

    assert counts["chunks"] > 100, counts  # the garbage really flowed meanwhile
    assert worst < 2.0, worst
    for inbox in inboxes.values():
        chat = [m for m in inbox.of_type(p.ChatMessage) if m.room == "#lobby"]
        ours = [(m.sender, m.text) for m in chat if m.sender in ("alice", "bob")]
        assert ours == [(n, f"{n} {i}") for i in range(MESSAGES) for n in ("alice", "bob")]
        seqs = [m.seq for m in chat]
        assert seqs == sorted(set(seqs)), "seq must increase"
        assert not inbox.of_type(p.Error)
        assert not inbox.closed.is_set()

    newcomer = server.connect("newcomer")
    newcomer.say("all fine?")
    inboxes["alice"].wait_for(p.ChatMessage, lambda m: m.text == "all fine?")
    assert not caplog.records, caplog.text  # no internal error caught by a safety net
