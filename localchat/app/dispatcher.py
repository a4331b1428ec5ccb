"""The dispatcher: the one thread that runs the chat core, and its group commit.

Transports submit ``(session, command)`` batches from their own threads. The dispatcher
thread runs each command through the :class:`~localchat.app.services.ChatService`; what a
run of commands causes is a *group* (:class:`~localchat.app.groups.Group`). New messages
become durable in store commits run by a second thread, the committer, so that the
dispatcher goes on running commands during the fsync::

    dispatcher   run A | run B ... | run C ... | deliver A | run D ... | deliver B, C
    committer    commit A (fsync) ...          | commit B, C (fsync) ...

* The committer seals and commits on its own: as soon as a commit returns, it seals
  everything staged meanwhile and starts the next one. No round trip through the
  dispatcher thread between two fsyncs (measured: that hand-over cost as much as the
  commit itself on a busy server), so under load groups grow to what one fsync takes to
  arrive, and a message waits for the rest of the commit in flight (if any) and its own.
* Messages are counted as they are staged; a commit reports how many are durable. A group
  goes out once every message up to its end is durable, groups in order: no message
  reaches anyone before it is durable, and no event overtakes an earlier one. A group
  without new messages goes out as soon as the groups before it have.
* Each round of delivery hands events to the transports, then flushes each transport
  once: one encode per event and one ``send`` per connection per round.
* A failed commit (disk full): every message not yet durable is withdrawn: its sender gets
  ``store_unavailable``, its room hands the ``seq`` out again, history pages drop it; all
  other events still go out, in order. The committer waits until the dispatcher has done
  so (the store forgets those messages first), then commits again when asked.

One thread for the core means it needs no locks and every room has exactly one order; the
only lock, ``_staging``, makes "staged so far" and the store's seal one step.
"""

from __future__ import annotations

import collections
import itertools
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from localchat.app.commit_stats import CommitStats
from localchat.app.groups import Group, ReplyDelivery, Routed, withdrawn
from localchat.app.services import ChatService
from localchat.domain.commands import Disconnect, PostMessage, Quit
from localchat.domain.model import SessionId
from localchat.ports.store import MessageStore, StoreError
from localchat.ports.transport import Inbound, Reply, ServerTransport

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 256
"""Commands run before the dispatcher looks at its groups again."""
_STOP: list[tuple[SessionId, Inbound]] = []  # sentinels, by identity
_WAKE: list[tuple[SessionId, Inbound]] = []


@dataclass(frozen=True, slots=True)
class _Committed:
    """The committer's answer: the first ``through`` messages staged are durable
    (``error`` None), or the commit of those after ``through - messages`` failed."""

    through: int
    messages: int
    seconds: float
    error: StoreError | None


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
        self._durable_at_once = store.durable_at_once
        """A store that keeps messages in memory only: groups go out at once, no committer."""
        self._inbox: queue.SimpleQueue[Sequence[tuple[SessionId, Inbound]]] = queue.SimpleQueue()
        self._finished: collections.deque[_Committed] = collections.deque()
        """Commits that returned, oldest first (appended by the committer thread)."""
        self._ids = itertools.count(1)
        self._owners: dict[SessionId, ServerTransport] = {}
        self._transports: list[ServerTransport] = []
        self._thread: threading.Thread | None = None
        self._committer: threading.Thread | None = None
        self._open = Group()
        self._waiting: collections.deque[tuple[Group, int]] = collections.deque()
        """Groups closed but not delivered, oldest first, each with the count of messages
        staged up to its end: it goes out once that many are durable."""
        self._staging = threading.Lock()
        self._staged = 0
        """Messages staged in the store since start, withdrawn ones taken off (written under
        ``_staging`` by the dispatcher thread; read by the committer as it seals)."""
        self._durable = 0
        """Of those, how many the committer reported durable (dispatcher thread)."""
        self._sealed = 0
        """The same count as the committer knows it (committer thread)."""
        self._work = threading.Event()  # something was staged: the committer looks
        self._resume = threading.Event()  # after a failed commit: the dispatcher withdrew
        self._closing = False
        self.batches = 0
        """How many rounds of delivery went out (for benchmarks and tests)."""
        self.commands = 0
        """How many commands ran (written by the dispatcher thread only)."""
        self._submitted = 0
        self._count_lock = threading.Lock()
        self.commit_stats = CommitStats()
        """Group commit: messages per commit and commit times (for benchmarks and tests)."""

    # -- CommandSink ----------------------------------------------------------------------------

    def open_session(self, transport: ServerTransport) -> SessionId:
        session = SessionId(next(self._ids))
        self._owners[session] = transport
        return session

    def submit(self, batch: Sequence[tuple[SessionId, Inbound]]) -> None:
        if batch:
            with self._count_lock:
                self._submitted += len(batch)
            self._inbox.put(batch)

    def backlog(self) -> int:
        return self._submitted - self.commands

    @property
    def open_sessions(self) -> int:
        """Sessions a transport opened and has not ended yet."""
        return len(self._owners)

    # -- lifecycle ------------------------------------------------------------------------------

    def add_transport(self, transport: ServerTransport) -> None:
        self._transports.append(transport)

    def start(self) -> None:
        self._closing = False
        self._work.clear()  # a stop() set both
        self._resume.clear()
        if not self._durable_at_once:
            self._committer = threading.Thread(
                target=self._commit_loop, name="localchat-committer", daemon=True
            )
            self._committer.start()
        self._thread = threading.Thread(target=self._run, name="localchat-dispatcher")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Run what was submitted before, commit and deliver it, and stop within ``timeout``."""
        if self._thread is None:
            return
        deadline = time.monotonic() + timeout
        self._inbox.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():  # pragma: no cover - a commit that hangs (a dead disk)
            log.warning("the dispatcher did not finish in time")
        self._thread = None
        self._closing = True
        self._work.set()
        self._resume.set()
        if self._committer is not None:
            self._committer.join(max(0.0, deadline - time.monotonic()))
            self._committer = None
        if self.commit_stats:
            log.info("%s", self.commit_stats.describe())

    # -- the dispatcher thread ------------------------------------------------------------------

    def _run(self) -> None:
        inbox = self._inbox
        finished = self._finished
        stopping = False
        while True:
            item = inbox.get()
            try:
                commands = 0
                while True:
                    if item is _STOP:
                        stopping = True
                    elif item is not _WAKE and not stopping:
                        commands += self._execute(item)
                    while finished:  # a commit returned: deliver now, not after the queue
                        self._committed(finished.popleft())
                    if commands >= self._max_batch:
                        break
                    try:
                        item = inbox.get_nowait()
                    except queue.Empty:
                        break
                self._advance()
            except Exception:  # pragma: no cover - the safety net keeps the server alive
                log.exception("the dispatcher failed on a batch")
            if stopping and not self._waiting and not self._open:
                return

    def _execute(self, batch: Sequence[tuple[SessionId, Inbound]]) -> int:
        """Run ``batch`` into the open group; return how many commands ran."""
        handle = self._service.handle
        group = self._open
        for session, command in batch:
            if isinstance(command, Reply):  # the transport's own answer: keep it in line
                group.deliveries.append(ReplyDelivery(command, (session,)))
                continue
            kind = type(command)
            try:
                if kind is PostMessage:
                    # Staging and counting are one step for the committer's seal.
                    with self._staging:
                        self._staged += group.add(session, handle(session, command), posting=True)
                else:
                    group.add(session, handle(session, command), posting=False)
            except Exception:
                log.exception("command %r from session %s failed", command, session)
            if kind is Disconnect or kind is Quit:
                group.ended.append(session)
        self.commands += len(batch)
        return len(batch)

    def _advance(self) -> None:
        """Close the open group: it waits for the commit of its messages (and the groups
        before it), or goes out at once if nothing is left to wait for."""
        if not self._open:
            return
        group, self._open = self._open, Group()
        through = self._staged
        if self._durable_at_once:
            self._store.seal()  # closes the store's group too: nothing to wait for
            self._deliver([group])
        elif not self._waiting and through <= self._durable:
            self._deliver([group])  # already durable (maybe sealed while it was open)
        else:
            self._waiting.append((group, through))
            self._work.set()

    def _committed(self, done: _Committed) -> None:
        """A commit's answer: deliver every group now wholly durable, or withdraw."""
        if done.error is not None:
            self.commit_stats.failed += 1
            self._withdraw()
            return
        if done.messages:
            self.commit_stats.record(done.messages, done.seconds)
        self._durable = done.through
        ready: list[Group] = []
        waiting = self._waiting
        while waiting and waiting[0][1] <= done.through:
            ready.append(waiting.popleft()[0])
        if ready:
            self._deliver(ready)

    def _withdraw(self) -> None:
        """A commit failed (the store logged why): withdraw every message not yet durable,
        deliver the rest of the waiting groups and the open one in order, and let the
        committer go on."""
        groups = [group for group, _ in self._waiting]
        if self._open:
            groups.append(self._open)
        self._waiting.clear()
        self._open = Group()
        messages = [message for group in groups for message in group.messages()]
        lost = messages[len(messages) - (self._staged - self._durable) :]
        try:
            self._store.discard()
            self._service.withdraw(lost)
            with self._staging:
                self._staged = self._durable
        finally:  # the committer goes on even if this failed: a stalled store stalls all
            self._resume.set()
        keys = {(m.room.canonical, m.seq) for m in lost}
        if groups:
            self._deliver([withdrawn(group, keys) for group in groups])

    def _deliver(self, groups: list[Group]) -> None:
        self._route([delivery for group in groups for delivery in group.deliveries])
        for group in groups:
            for session in group.ended:
                self._owners.pop(session, None)
        self.batches += 1

    # -- the committer thread -------------------------------------------------------------------

    def _commit_loop(self) -> None:
        while True:
            self._work.wait()
            self._work.clear()
            while (done := self._commit_staged()) is not None:
                if done.error is not None:
                    self._resume.clear()  # before the dispatcher can see the failure
                self._finished.append(done)
                self._inbox.put(_WAKE)  # in case the dispatcher waits for work
                if done.error is not None:
                    self._resume.wait()  # the dispatcher withdraws, the store discards
                    self._resume.clear()
            if self._closing:
                return

    def _commit_staged(self) -> _Committed | None:
        """Seal what was staged and not yet committed, commit it and time it (on the
        committer thread, or on the caller's in :meth:`run_batch`); None if nothing was
        staged since the last commit."""
        if self._durable_at_once:
            return None
        with self._staging:
            through = self._staged
            if through == self._sealed:
                return None  # not sealed: a message staged by a failing command waits
            commit = self._store.seal()  # for the next commit, it is not dropped
        messages = through - self._sealed
        started = time.perf_counter()
        error: StoreError | None = None
        try:
            commit()
        except StoreError as failure:
            error = failure
        except Exception:  # a store bug counts as a failed commit, not a lost group
            log.exception("a store commit failed")
            error = StoreError("the store failed unexpectedly")
        if error is None:
            self._sealed = through
        return _Committed(through, messages, time.perf_counter() - started, error)

    # -- without threads ------------------------------------------------------------------------

    def run_batch(self, work: Sequence[Sequence[tuple[SessionId, Inbound]]]) -> None:
        """Run commands, commit on this thread, deliver, flush: one group, deterministic.

        For tests and tools that drive the core step by step; not while :meth:`start`-ed.
        """
        for batch in work:
            self._execute(batch)
        self._advance()
        while (done := self._commit_staged()) is not None:
            self._committed(done)
            self._resume.clear()

    # -- routing --------------------------------------------------------------------------------

    def _route(self, deliveries: list[Routed]) -> None:
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
