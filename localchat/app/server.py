"""A running LocalChat server: the dispatcher, its transports and its store, started and
stopped in the right order."""

from __future__ import annotations

import logging
import time

from localchat.app.dispatcher import Dispatcher
from localchat.app.services import ChatService
from localchat.ports.store import MessageStore
from localchat.ports.transport import ServerTransport

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 4.5
"""How long a server may take to stop: clients told, last batch committed, store closed."""


class LocalChatServer:
    """Owns the pieces built by :func:`localchat.app.bootstrap.build_server`."""

    def __init__(
        self,
        *,
        service: ChatService,
        dispatcher: Dispatcher,
        transports: list[ServerTransport],
        store: MessageStore,
    ) -> None:
        self.service = service
        self.dispatcher = dispatcher
        self.transports = transports
        self.store = store
        self._started = False

    def start(self) -> None:
        """Start the dispatcher, then every transport. Raises OSError if one cannot listen;
        then whatever started is stopped and the store is closed, as :meth:`stop` would."""
        self.dispatcher.start()
        started: list[ServerTransport] = []
        try:
            for transport in self.transports:
                self.dispatcher.add_transport(transport)
                transport.start(self.dispatcher)
                started.append(transport)
        except BaseException:
            for transport in started:
                transport.shutdown(1.0)
            self.dispatcher.stop()
            self._close_store()
            raise
        self._started = True

    def addresses(self) -> list[str]:
        return [address for t in self.transports for address in t.addresses()]

    def stop(self, timeout: float = SHUTDOWN_SECONDS) -> None:
        """Shut down within ``timeout`` seconds: the core stops first (its last batch is
        committed and delivered), then every client is told ``shutting_down``, then the
        store is closed."""
        if not self._started:
            return
        self._started = False
        deadline = time.monotonic() + timeout
        self.dispatcher.stop(timeout=min(1.0, timeout / 3))
        for transport in self.transports:
            transport.shutdown(max(0.1, deadline - time.monotonic() - 0.3))
        self._close_store()

    def _close_store(self) -> None:
        try:
            self.store.close()
        except Exception:  # a failing store must not keep the process alive
            log.exception("closing the message store failed")

    def __enter__(self) -> LocalChatServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
