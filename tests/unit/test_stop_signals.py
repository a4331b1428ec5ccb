"""StopSignals: SIGTERM/SIGINT end the main thread's wait while other threads run."""

from __future__ import annotations

import signal
import threading

import pytest

from localchat.app.stop_signals import StopSignals


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_sent_while_other_threads_run_ends_the_wait(signum: int) -> None:
    with StopSignals() as stop:
        # Busy threads started inside the block inherit the blocked mask, so the kernel
        # cannot hand them the signal: it stays pending for the main thread's sigwait.
        done = threading.Event()
        workers = [threading.Thread(target=done.wait) for _ in range(3)]
        for worker in workers:
            worker.start()
        # Aimed at the main thread, where it is blocked and so stays pending for sigwait.
        # (A process-wide kill could land in a thread an earlier test left behind, which
        # does not block it, and end the whole test run; the real process-wide case is
        # tested on the real server in tests/integration/test_cli_shutdown.py.)
        main = threading.main_thread().ident
        assert main is not None
        threading.Timer(0.05, signal.pthread_kill, (main, signum)).start()
        assert stop.wait() == signum
        done.set()
        for worker in workers:
            worker.join()
    assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
