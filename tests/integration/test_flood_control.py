"""Flood control (PROTOCOL.md §7): a flooder is slowed down, never dropped; others flow."""

from __future__ import annotations

import time
from collections.abc import Callable

from localchat.adapters.wire import packets as p
from localchat.adapters.wire.schema import encode_packet
from tests.integration.support import Inbox
from tests.servers import RunningServer

RATE = 20.0
BURST = 5
FLOOD = 25


def test_a_flooder_is_delayed_never_dropped_and_others_keep_flowing(
    start_server: Callable[..., RunningServer],
) -> None:
    server = start_server(rate_limit=RATE, rate_burst=BURST)
    observer = Inbox(server.connect("observer"))
    polite = server.connect("polite")
    polite_inbox = Inbox(polite)
    flooder = server.connect("flooder")
    flooder_inbox = Inbox(flooder)

    started = time.monotonic()
    flooder.send_raw(b"".join(encode_packet(p.Say(text=f"flood {i}")) for i in range(FLOOD)))
    # Once the burst is used up, the polite client talks, one message after another.
    observer.wait_for(p.ChatMessage, lambda m: m.sender == "flooder", count=BURST + 1)
    for i in range(3):
        polite.say(f"polite {i}")
        polite_inbox.wait_for(p.ChatMessage, lambda m, i=i: m.text == f"polite {i}")

    flood = observer.wait_for(
        p.ChatMessage, lambda m: m.sender == "flooder", count=FLOOD, timeout=10
    )
    elapsed = time.monotonic() - started
    # Every flood message, in order, none lost; the flooder stays connected.
    assert [m.text for m in flood] == [f"flood {i}" for i in range(FLOOD)]
    assert not flooder_inbox.closed.is_set()
    assert not flooder_inbox.of_type(p.Error)
    # It took about (FLOOD - BURST) / RATE seconds: the excess was delayed.
    assert elapsed >= 0.8 * (FLOOD - BURST) / RATE
    # The polite messages got in while the flood was still being metered out.
    messages = observer.of_type(p.ChatMessage)
    last_flood_seq = flood[-1].seq
    polite_seqs = [m.seq for m in messages if m.sender == "polite"]
    assert len(polite_seqs) == 3
    assert max(polite_seqs) < last_flood_seq
    assert [m.seq for m in messages] == list(range(1, FLOOD + 4))

    # After the flood the flooder is served normally again.
    flooder.say("calm now")
    observer.wait_for(p.ChatMessage, lambda m: m.text == "calm now")


def test_a_long_backlog_is_not_mistaken_for_silence(
    start_server: Callable[..., RunningServer],
) -> None:
    """Frames the server holds back are frames heard: metering a backlog out for longer
    than ``idle_timeout`` must not end in ``timeout`` (delayed, never dropped)."""
    server = start_server(rate_limit=RATE, rate_burst=1, ping_interval=0.2, idle_timeout=0.6)
    observer = Inbox(server.connect("observer"))
    flooder = server.connect("flooder")
    flooder_inbox = Inbox(flooder)
    count = 30  # 1.5 s of backlog at RATE, all in one read
    flooder.send_raw(b"".join(encode_packet(p.Say(text=f"flood {i}")) for i in range(count)))
    flood = observer.wait_for(
        p.ChatMessage, lambda m: m.sender == "flooder", count=count, timeout=10
    )
    assert [m.text for m in flood] == [f"flood {i}" for i in range(count)]
    assert not observer.of_type(p.Left)
    assert not flooder_inbox.of_type(p.Error)
