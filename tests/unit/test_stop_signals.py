"""StopSignals: SIGTERM/SIGINT reach the main thread's wait whichever thread takes them."""

from __future__ import annotations

import os
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
        threading.Timer(0.05, os.kill, (os.getpid(), signum)).start()
        assert stop.wait() == signum
        done.set()
        for worker in workers:
            worker.join()
    assert signal.SIGTERM not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
