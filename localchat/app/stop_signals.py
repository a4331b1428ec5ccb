"""Waiting for SIGINT/SIGTERM in a process full of threads.

The kernel delivers a process-directed signal to *any* thread that does not block it.
Python runs signal handlers only in the main thread, and a main thread asleep in a lock
wait is not woken when another thread took the signal: a server could ignore Ctrl+C or
SIGTERM until its wait times out. So the signals are blocked *before* any thread starts (new
threads inherit the mask) and the main thread takes them synchronously with ``sigwait``.
Where POSIX signal masks do not exist (Windows), a handler and a short polling wait serve.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType

STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})
_POLL_SECONDS = 0.2


class StopSignals:
    """``with StopSignals() as stop: start threads; stop.wait()`` returns the signal."""

    def __init__(self) -> None:
        self._masked = hasattr(signal, "pthread_sigmask") and hasattr(signal, "sigwait")
        self._received = threading.Event()
        self._signal = 0
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if self._masked:
            signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        else:  # pragma: no cover - Windows
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:  # pragma: no cover
        self._signal = signum
        self._received.set()

    def wait(self) -> int:
        """Block until SIGINT or SIGTERM arrives; return its number."""
        if self._masked:
            return signal.sigwait(STOP_SIGNALS)
        while not self._received.wait(_POLL_SECONDS):  # pragma: no cover - Windows
            pass
        return self._signal  # pragma: no cover

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._masked:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        else:  # pragma: no cover - Windows
            for signum, handler in self._previous.items():
                signal.signal(signum, handler)  # type: ignore[arg-type]
