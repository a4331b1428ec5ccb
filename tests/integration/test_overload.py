"""With flood control off, clients that send faster than the chat core runs do not make
the server queue without bound: the transport stops reading senders while the dispatcher
is behind, and reads them again when it has caught up."""

from __future__ import annotations

import threading
from collections.abc import Callable

from localchat.adapters.memory.store import InMemoryMessageStore
from localchat.adapters.tcp.transport import BACKLOG_HIGH
from localchat.adapters.wire import packets as p
from localchat.domain.model import Message
from tests.helpers import wait_until, wait_until_stable
from tests.integration.support import Inbox
from tests.servers import RunningServer
from tests.wire_support import json_frame

FLOOD = 40_000


class StallingStore(InMemoryMessageStore):
    """An in-memory store whose ``append`` waits while the gate is closed: a chat core
    that has fallen behind, on demand."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()

    def append(self, message: Message) -> None:
        self.gate.wait()
        super().append(message)


def test_senders_are_not_read_while_the_core_is_behind(
    start_server: Callable[..., RunningServer],
) -> None:
    store = StallingStore()
    server = start_server(store=store)
    flooder = server.connect("flooder")
    inbox = Inbox(flooder)  # the flooder reads, or it would be a slow consumer
    dispatcher = server.server.dispatcher
    store.gate.clear()
    frames = json_frame({"type": "say", "text": "x"}) * 1000
    sent = threading.Event()

    def flood() -> None:
        for _ in range(FLOOD // 1000):
            flooder.send_raw(frames)
        sent.set()

    threading.Thread(target=flood, daemon=True).start()
    wait_until(lambda: dispatcher.backlog() >= BACKLOG_HIGH, what="a backlog")
    # Now it stops growing (it would reach FLOOD): what is not read waits in the kernel.
    held = wait_until_stable(dispatcher.backlog, what="the backlog")
    assert held < BACKLOG_HIGH + 5_000  # one read per held client past the mark, at most

    store.gate.set()
    inbox.wait_for(p.ChatMessage, count=FLOOD, timeout=60)
    assert [m.seq for m in inbox.of_type(p.ChatMessage)] == list(range(1, FLOOD + 1))
    assert sent.is_set()
    wait_until(lambda: dispatcher.backlog() == 0, what="the backlog drained")
