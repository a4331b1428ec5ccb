"""A real full disk under a running server: the sender hears ``store_unavailable``, nobody
else hears anything, ``seq`` is not used up, and the server recovers once space returns.

The disk is a 2 MiB tmpfs mounted for the test (root only; the same behaviour is tested
without root through a store whose commits fail, in tests/unit/test_group_commit.py).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from localchat.adapters.sqlite.store import SqliteMessageStore
from localchat.adapters.wire import packets as p
from tests.helpers import unavailable
from tests.integration.support import next_packet
from tests.servers import RunningServer


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        unavailable("mounting a small tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode:
        unavailable(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full, to the last byte it takes."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (65_536, 4096, 512, 1):
            while True:
                try:
                    os.write(fd, b"\0" * chunk)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_refuses_messages_and_the_server_recovers(
    small_disk: Path, start_server: Callable[..., RunningServer]
) -> None:
    server = start_server(store=SqliteMessageStore.open(small_disk / "history.db"))
    ada = server.connect("ada")
    bob = server.connect("bob")
    ada.receive(timeout=5)  # bob joined
    ada.say("before")
    assert next_packet(bob, (p.ChatMessage, p.Error)).seq == 1  # type: ignore[union-attr]
    assert next_packet(ada, (p.ChatMessage, p.Error)).seq == 1  # type: ignore[union-attr]

    filler = fill(small_disk)
    ada.say("é" * 4000)  # needs new pages in the write-ahead log
    refused = next_packet(ada, (p.ChatMessage, p.Error))
    assert isinstance(refused, p.Error)
    assert (refused.code, refused.fatal) == ("store_unavailable", False)
    bob.history("#lobby")
    page = next_packet(bob, p.HistoryPage)
    assert [m.text for m in page.messages] == ["before"]  # and no message reached bob

    filler.unlink()
    ada.say("after")
    for client in (bob, ada):
        message = next_packet(client, (p.ChatMessage, p.Error))
        assert isinstance(message, p.ChatMessage)
        assert (message.seq, message.text) == (2, "after")
