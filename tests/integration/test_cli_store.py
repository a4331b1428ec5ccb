"""``localchat history``, ``localchat export`` and the store errors of ``run-server`` at
start-up: one line on stderr, exit code 2, no traceback, the file left alone."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from localchat.adapters.sqlite.store import SqliteMessageStore
from localchat.domain.model import Message
from localchat.domain.names import RoomName
from tests.cli_process import Outcome, assert_one_line_error, invoke
from tests.integration.store_support import START, unwritable


@pytest.fixture
def history_file(tmp_path: Path) -> Path:
    """#lobby: 3 messages (one of two lines); #straße: 1 message."""
    path = tmp_path / "history.db"
    store = SqliteMessageStore.open(path)
    lobby, strasse = RoomName.parse("#lobby"), RoomName.parse("#Straße")
    texts = ["hello", "two\nlines", "ünïcode 😀"]
    for seq, text in enumerate(texts, start=1):
        sent = START + timedelta(seconds=seq)
        store.append(Message(room=lobby, seq=seq, sender="Ada", text=text, sent_at=sent))
    store.append(Message(room=strasse, seq=1, sender="bob", text="moin", sent_at=START))
    store.close()
    return path


def test_export_writes_every_room_as_protocol_messages(history_file: Path) -> None:
    code, out, _ = invoke("export", "--store", str(history_file))
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(m["room"], m["seq"]) for m in lines] == [
        ("#lobby", 1),
        ("#lobby", 2),
        ("#lobby", 3),
        ("#strasse", 1),
    ]
    assert lines[1] == {
        "type": "message",
        "room": "#lobby",
        "seq": 2,
        "sender": "Ada",
        "text": "two\nlines",
        "sent_at": "2026-11-22T10:04:07.123Z",
    }
    assert "ünïcode 😀" in out  # UTF-8, not escaped


def test_export_one_room_as_text(history_file: Path) -> None:
    code, out, _ = invoke(
        "export", "--store", str(history_file), "--room", "#LOBBY", "--format", "txt"
    )
    assert code == 0
    assert out.splitlines() == [
        "2026-11-22T10:04:06.123Z #lobby 1 <Ada> hello",
        "2026-11-22T10:04:07.123Z #lobby 2 <Ada> two",
        "    lines",
        "2026-11-22T10:04:08.123Z #lobby 3 <Ada> ünïcode 😀",
    ]


def test_history_prints_the_newest_messages_oldest_first(history_file: Path) -> None:
    code, out, _ = invoke(
        "history", "--store", str(history_file), "--room", "#lobby", "--last", "2"
    )
    assert code == 0
    assert out.splitlines() == [
        "2026-11-22T10:04:07.123Z #lobby 2 <Ada> two",
        "    lines",
        "2026-11-22T10:04:08.123Z #lobby 3 <Ada> ünïcode 😀",
    ]


def test_history_reads_the_default_file_when_no_store_is_given(history_file: Path) -> None:
    code, out, _ = invoke(
        "history", "--room", "#straße", env={"LOCALCHAT_STORE": str(history_file)}
    )
    assert code == 0
    assert out == "2026-11-22T10:04:05.123Z #strasse 1 <bob> moin\n"


def test_history_of_a_room_with_no_stored_message(history_file: Path) -> None:
    assert_one_line_error(
        *invoke("history", "--store", str(history_file), "--room", "#nowhere"),
        "#nowhere",
        str(history_file),
        "#lobby, #strasse",
    )


def test_history_of_an_invalid_room(history_file: Path) -> None:
    assert_one_line_error(
        *invoke("history", "--store", str(history_file), "--room", "lobby"), "must start with '#'"
    )


@pytest.mark.parametrize("command", ["history", "export"])
def test_reading_a_missing_file(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "nope.db"
    assert_one_line_error(
        *invoke(command, "--store", str(missing), "--room", "#lobby"),
        f"there is no history file {missing}",
    )
    assert not missing.exists()


def test_reading_a_file_that_is_not_a_history(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    other.write_text("hello\n" * 500)
    assert_one_line_error(
        *invoke("export", "--store", str(other)), str(other), "not a SQLite database"
    )


def test_reading_a_file_while_its_server_writes_it(history_file: Path) -> None:
    store = SqliteMessageStore.open(history_file)
    try:
        store.append(
            Message(room=RoomName.parse("#lobby"), seq=4, sender="Ada", text="later", sent_at=START)
        )
        store.seal()()
        code, out, _ = invoke("history", "--store", str(history_file), "--room", "#lobby")
    finally:
        store.close()
    assert code == 0
    assert out.splitlines()[-1].endswith("<Ada> later")


# -- run-server: a store it cannot use is one line and exit code 2 ------------------------------


def run_server(store: Path, *more: str) -> Outcome:
    """``run-server`` in this process (on a busy port, should it get that far: see
    :func:`tests.cli_process.invoke`)."""
    return invoke("run-server", "--store", str(store), *more)


def test_run_server_refuses_a_corrupt_file(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"\x00garbage" * 1000)
    assert_one_line_error(
        *run_server(corrupt), str(corrupt), "not a SQLite database, or it is damaged"
    )


def test_run_server_refuses_a_newer_file_and_leaves_it_alone(history_file: Path) -> None:
    with contextlib.closing(sqlite3.connect(history_file, isolation_level=None)) as raw:
        raw.execute("INSERT INTO schema_version VALUES (7, 'future', 'x')")
    before = history_file.read_bytes()
    assert_one_line_error(
        *run_server(history_file), str(history_file), "newer LocalChat", "schema 7"
    )
    assert history_file.read_bytes() == before


def test_run_server_refuses_an_unwritable_file(history_file: Path) -> None:
    with unwritable(history_file):
        outcome = run_server(history_file)
    assert_one_line_error(*outcome, str(history_file))


def test_run_server_refuses_a_file_another_server_uses(history_file: Path) -> None:
    store = SqliteMessageStore.open(history_file)
    try:
        outcome = run_server(history_file)
    finally:
        store.close()
    assert_one_line_error(*outcome, str(history_file), "in use by another LocalChat server")


def test_run_server_refuses_store_and_no_store_together(tmp_path: Path) -> None:
    assert_one_line_error(
        *run_server(tmp_path / "x.db", "--no-store"), "--store and --no-store exclude each other"
    )
