"""The dispatcher: the one thread that runs the chat core.

Transports submit ``(session, command)`` batches from their own threads; the dispatcher
takes everything queued (up to ``max_batch`` commands), runs each command through the
:class:`~localchat.app.services.ChatService`, commits the store once for the whole batch
(group commit: nothing is delivered before it is durable), then hands every delivery to the
transport that owns each recipient and asks each transport to flush once.

One thread means the core needs no locks and every room has exactly one order; batching
means one commit, one encode per event and one ``send`` per connection per batch, however
busy the server is.
"""

from __future__ import annotations

import collections
import itertools
import logging
import queue
import threading
from collections.abc import Sequence

from localchat.app.services import ChatService
from localchat.domain.commands import Command, Disconnect, PostMessage, Quit
from localchat.domain.errors import StoreUnavailable
from localchat.domain.events import CommandRejected, Delivery, HistoryFetched, MessagePosted
from localchat.domain.model import Message, SessionId
from localchat.ports.store import MessageStore, StoreError
from localchat.ports.transport import ServerTransport

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 512
_STOP: list[tuple[SessionId, Command]] = []  # a sentinel by identity


class Dispatcher:
    """Runs the chat core on its own thread; implements :class:`~localchat.ports.CommandSink`."""

    def __init__(
        self,
        service: ChatService,
        store: MessageStore,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
    ) -> None:
        self._service = service
        self._store = store
        self._max_batch = max_batch
        self._inbox: queue.SimpleQueue[Sequence[tuple[SessionId, Command]]] = queue.SimpleQueue()
        self._ids = itertools.count(1)
        self._owners: dict[SessionId, ServerTransport] = {}
        self._transports: list[ServerTransport] = []
        self._thread: threading.Thread | None = None
        self.batches = 0
        """How many batches ran (for benchmarks and tests)."""
        self.commands = 0
        """How many commands ran."""
        self.commit_sizes: collections.Counter[int] = collections.Counter()
        """Group commit: messages per successful commit -> how many commits had that many."""
        self.failed_commits = 0
        """Commits the store refused (their messages were withdrawn)."""

    # -- CommandSink ----------------------------------------------------------------------------

    def open_session(self, transport: ServerTransport) -> SessionId:
        session = SessionId(next(self._ids))
        self._owners[session] = transport
        return session

    def submit(self, batch: Sequence[tuple[SessionId, Command]]) -> None:
        if batch:
            self._inbox.put(batch)

    # -- lifecycle ------------------------------------------------------------------------------

    def add_transport(self, transport: ServerTransport) -> None:
        self._transports.append(transport)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="localchat-dispatcher")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Finish the batch in progress and stop; queued commands are not run."""
        if self._thread is None:
            return
        self._inbox.put(_STOP)
        self._thread.join(timeout)
        self._thread = None
        if self.commit_sizes or self.failed_commits:
            log.info("%s", self.commit_summary())

    # -- the loop -------------------------------------------------------------------------------

    def _run(self) -> None:
        inbox = self._inbox
        while True:
            first = inbox.get()
            if first is _STOP:
                return
            work = [first]
            count = len(first)
            stop = False
            while count < self._max_batch:
                try:
                    more = inbox.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                work.append(more)
                count += len(more)
            try:
                self.run_batch(work)
            except Exception:  # pragma: no cover - the safety net keeps the server alive
                log.exception("a dispatcher batch failed")
            if stop:
                return

    def run_batch(self, work: Sequence[Sequence[tuple[SessionId, Command]]]) -> None:
        """Run commands, commit once, deliver, flush. Public for deterministic tests."""
        handle = self._service.handle
        deliveries: list[Delivery] = []
        posted: list[tuple[int, SessionId]] = []  # (index of a MessagePosted, its sender)
        ended: list[SessionId] = []
        for batch in work:
            for session, command in batch:
                try:
                    produced = handle(session, command)
                except Exception:
                    log.exception("command %r from session %s failed", command, session)
                    produced = []
                if type(command) is PostMessage:
                    for offset, delivery in enumerate(produced):
                        if type(delivery.event) is MessagePosted:
                            posted.append((len(deliveries) + offset, session))
                elif type(command) is Disconnect or type(command) is Quit:
                    ended.append(session)
                deliveries.extend(produced)
                self.commands += 1
        try:
            self._store.commit()
        except StoreError:
            # The store logged the cause; the senders hear store_unavailable.
            self.failed_commits += 1
            deliveries = self._withdraw(deliveries, posted)
        else:
            if posted:
                self.commit_sizes[len(posted)] += 1
        self.batches += 1
        self._route(deliveries)
        for session in ended:
            self._owners.pop(session, None)

    def _withdraw(
        self, deliveries: list[Delivery], posted: list[tuple[int, SessionId]]
    ) -> list[Delivery]:
        """The commit failed: rewind the rooms and replace what mentioned the lost messages."""
        self._service.withdraw(lost_messages(deliveries, posted))
        return withdraw_lost_messages(deliveries, posted)

    def commit_summary(self) -> str:
        """One line about group commit, for the log and the benchmark."""
        return describe_commit_sizes(self.commit_sizes, self.failed_commits)

    def _route(self, deliveries: list[Delivery]) -> None:
        transports = self._transports
        if len(transports) == 1:
            transport = transports[0]
            deliver = transport.deliver
            for delivery in deliveries:
                deliver(delivery.event, delivery.recipients)
        else:
            owners = self._owners
            for delivery in deliveries:
                groups: dict[int, tuple[ServerTransport, list[SessionId]]] = {}
                for session in delivery.recipients:
                    owner = owners.get(session)
                    if owner is not None:
                        groups.setdefault(id(owner), (owner, []))[1].append(session)
                for owner, sessions in groups.values():
                    owner.deliver(delivery.event, sessions)
        for transport in transports:
            try:
                transport.flush()
            except Exception:  # pragma: no cover - a transport bug must not stop the others
                log.exception("flushing transport %s failed", transport.name)


STORE_FAILED = CommandRejected.from_error(StoreUnavailable())


def lost_messages(
    deliveries: Sequence[Delivery], posted: Sequence[tuple[int, SessionId]]
) -> list[Message]:
    """The messages announced at the ``posted`` indexes of ``deliveries``."""
    lost: list[Message] = []
    for index, _ in posted:
        event = deliveries[index].event
        assert isinstance(event, MessagePosted)
        lost.append(event.message)
    return lost


def withdraw_lost_messages(
    deliveries: Sequence[Delivery], posted: Sequence[tuple[int, SessionId]]
) -> list[Delivery]:
    """The deliveries of a batch whose commit failed: each lost message becomes
    ``store_unavailable`` for its sender alone, and history pages drop the lost messages
    (staged messages count in pages, so a page of the same batch may show them)."""
    senders = dict(posted)
    lost = {(m.room.canonical, m.seq) for m in lost_messages(deliveries, posted)}
    kept: list[Delivery] = []
    for index, delivery in enumerate(deliveries):
        event = delivery.event
        if index in senders:
            kept.append(Delivery(STORE_FAILED, (senders[index],)))
        elif isinstance(event, HistoryFetched):
            messages = tuple(m for m in event.messages if (m.room.canonical, m.seq) not in lost)
            page = HistoryFetched(room=event.room, messages=messages)
            kept.append(Delivery(page, delivery.recipients))
        else:
            kept.append(delivery)
    return kept


def describe_commit_sizes(sizes: collections.Counter[int], failed: int = 0) -> str:
    """``group commit: N commits, M messages, per commit mean/p50/p99/max, F failed``."""
    commits = sum(sizes.values())
    messages = sum(size * count for size, count in sizes.items())
    if not commits:
        return f"group commit: no commit, {failed} failed"
    ordered = sorted(sizes.items())

    def percentile(fraction: float) -> int:
        rank = fraction * commits
        seen = 0
        for size, count in ordered:
            seen += count
            if seen >= rank:
                return size
        return ordered[-1][0]

    return (
        f"group commit: {commits} commits, {messages} messages; messages per commit: "
        f"mean {messages / commits:.1f}, p50 {percentile(0.5)}, p90 {percentile(0.9)}, "
        f"p99 {percentile(0.99)}, max {ordered[-1][0]}; {failed} failed"
    )
