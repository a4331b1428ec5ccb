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

import itertools
import logging
import queue
import threading
from collections.abc import Sequence

from localchat.app.services import ChatService
from localchat.domain.commands import Command, Disconnect, Quit
from localchat.domain.events import Delivery
from localchat.domain.model import SessionId
from localchat.ports.store import MessageStore
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

    # -- CommandSink ----------------------------------------------------------------------------

    def open_session(self, transport: ServerTransport) -> SessionId:
        session = SessionId(next(self._ids))
        self._owners[session] = transport
        return session

    def submit(self, batch: Sequence[tuple[SessionId, Command]]) -> None:
        if batch:
            self._inbox.put(batch)

    @property
    def open_sessions(self) -> int:
        """Sessions a transport opened and has not ended yet."""
        return len(self._owners)

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
        ended: list[SessionId] = []
        for batch in work:
            for session, command in batch:
                try:
                    deliveries.extend(handle(session, command))
                except Exception:
                    log.exception("command %r from session %s failed", command, session)
                if type(command) is Disconnect or type(command) is Quit:
                    ended.append(session)
                self.commands += 1
        self._store.commit()
        self.batches += 1
        self._route(deliveries)
        for session in ended:
            self._owners.pop(session, None)

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
