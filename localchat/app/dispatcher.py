"""The dispatcher: the one thread that runs the chat core, and its group commit.

Transports submit ``(session, command)`` batches from their own threads. The dispatcher
thread runs each command through the :class:`~localchat.app.services.ChatService`; what a
command causes joins the *open group* (:class:`~localchat.app.groups.Group`). A group's new
messages become durable in one store commit, run by a second thread, the committer, so that
the dispatcher goes on running commands during the fsync::

    dispatcher   run A | run B ... (B grows)  | deliver A | run C ... | deliver B
    committer          | commit A (fsync) ... | commit B (fsync) ...  | commit C

* One commit at a time. When it returns, the open group (B: what arrived meanwhile) is
  sealed and its commit starts at once; then A's deliveries go out, so the next fsync
  overlaps the delivery work. Under load, groups grow to what one fsync takes to arrive.
* Groups are delivered in order, each only after its commit: no message reaches anyone
  before it is durable, and no event overtakes an earlier one. A group without new
  messages needs no commit and goes out as soon as the groups before it have.
* Each delivery hands events to the transports, then flushes each transport once: one
  encode per event and one ``send`` per connection per group.
* A failed commit (disk full): every message not yet durable -- that group's and the open
  group's -- is withdrawn: its sender gets ``store_unavailable``, its room hands the ``seq``
  out again, history pages drop it; all other events still go out, in order.

One thread for the core means it needs no locks and every room has exactly one order.
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
from localchat.ports.store import Commit, MessageStore, StoreError, already_durable
from localchat.ports.transport import Inbound, Reply, ServerTransport

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 256
"""Commands run before the dispatcher looks at its groups again."""
_STOP: list[tuple[SessionId, Inbound]] = []  # sentinels, by identity
_WAKE: list[tuple[SessionId, Inbound]] = []


@dataclass(frozen=True, slots=True)
class _Committed:
    """The committer's answer: ``group``'s commit returned (``error`` None) or failed."""

    group: Group
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
        self._inbox: queue.SimpleQueue[Sequence[tuple[SessionId, Inbound]]] = queue.SimpleQueue()
        self._finished: collections.deque[_Committed] = collections.deque()
        """Commits that returned, oldest first (appended by the committer thread)."""
        self._commits: queue.SimpleQueue[tuple[Group, Commit] | None] = queue.SimpleQueue()
        self._ids = itertools.count(1)
        self._owners: dict[SessionId, ServerTransport] = {}
        self._transports: list[ServerTransport] = []
        self._thread: threading.Thread | None = None
        self._committer: threading.Thread | None = None
        self._open = Group()
        self._in_flight: Group | None = None
        self.batches = 0
        """How many groups were delivered (for benchmarks and tests)."""
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
        self._commits.put(None)
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
                    if finished:  # a commit returned: start the next one and deliver now,
                        self._committed(finished.popleft())  # not after the queue ahead
                    if commands >= self._max_batch:
                        break
                    try:
                        item = inbox.get_nowait()
                    except queue.Empty:
                        break
                self._advance()
            except Exception:  # pragma: no cover - the safety net keeps the server alive
                log.exception("the dispatcher failed on a batch")
            if stopping and self._in_flight is None and not self._open:
                return

    def _execute(self, batch: Sequence[tuple[SessionId, Inbound]]) -> int:
        """Run ``batch`` into the open group; return how many commands ran."""
        handle = self._service.handle
        group = self._open
        for session, command in batch:
            if isinstance(command, Reply):  # the transport's own answer: keep it in line
                group.deliveries.append(ReplyDelivery(command, (session,)))
                continue
            try:
                produced = handle(session, command)
            except Exception:
                log.exception("command %r from session %s failed", command, session)
                produced = []
            kind = type(command)
            group.add(session, produced, posting=kind is PostMessage)
            if kind is Disconnect or kind is Quit:
                group.ended.append(session)
        self.commands += len(batch)
        return len(batch)

    def _advance(self) -> None:
        """If no commit is running, seal the open group: commit it, or deliver it at once
        if it has no new message."""
        if self._in_flight is not None or not self._open:
            return
        group, self._open = self._open, Group()
        if group.posted:
            commit = self._store.seal()
            if commit is already_durable:  # an in-memory store: no fsync to wait for
                self._deliver(group)
                return
            self._in_flight = group
            self._commits.put((group, commit))
        else:
            self._deliver(group)

    def _committed(self, done: _Committed) -> None:
        group = self._in_flight
        assert group is done.group, "commits answer in the order they were sealed"
        self._in_flight = None
        if done.error is not None:
            self.commit_stats.failed += 1
            self._withdraw([group, self._open])
            return
        self.commit_stats.record(len(group.posted), done.seconds)
        if self._open.posted:
            self._advance()  # the next fsync runs while this group is delivered
        self._deliver(group)

    def _withdraw(self, groups: list[Group]) -> None:
        """A commit failed (the store logged why): withdraw every message not yet durable
        and deliver the rest of ``groups``, in order."""
        self._store.discard()
        self._open = Group()
        lost = [message for group in groups for message in group.messages()]
        self._service.withdraw(lost)
        keys = {(m.room.canonical, m.seq) for m in lost}
        for group in groups:
            if group:  # an open group may be empty: nothing to deliver or flush
                self._deliver(withdrawn(group, keys))

    def _deliver(self, group: Group) -> None:
        self._route(group.deliveries)
        for session in group.ended:
            self._owners.pop(session, None)
        self.batches += 1

    # -- the committer thread -------------------------------------------------------------------

    def _commit_loop(self) -> None:
        while True:
            job = self._commits.get()
            if job is None:
                return
            self._finished.append(self._run_commit(*job))
            self._inbox.put(_WAKE)  # in case the dispatcher waits for work

    def _run_commit(self, group: Group, commit: Commit) -> _Committed:
        """Run ``group``'s commit and time it (on the committer thread, or on the caller's
        in :meth:`run_batch`); the answer goes to :meth:`_committed`."""
        started = time.perf_counter()
        error: StoreError | None = None
        try:
            commit()
        except StoreError as failure:
            error = failure
        except Exception:  # a store bug counts as a failed commit, not a lost group
            log.exception("a store commit failed")
            error = StoreError("the store failed unexpectedly")
        return _Committed(group, time.perf_counter() - started, error)

    # -- without threads ------------------------------------------------------------------------

    def run_batch(self, work: Sequence[Sequence[tuple[SessionId, Inbound]]]) -> None:
        """Run commands, commit on this thread, deliver, flush: one group, deterministic.

        For tests and tools that drive the core step by step; not while :meth:`start`-ed.
        """
        for batch in work:
            self._execute(batch)
        group, self._open = self._open, Group()
        if not group.posted:
            self._deliver(group)
            return
        self._in_flight = group
        self._committed(self._run_commit(group, self._store.seal()))

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
