"""``localchat history`` and ``localchat export``: read a history file from the terminal.

Both open the file read-only (they can run while the server writes it, and can never alter
it). Errors a person can fix (no such file, no such room, not a history file) are one line
on stderr and exit code 2, like every other ``localchat`` command.

Formats:

* ``jsonl``: one protocol ``message`` object per line (PROTOCOL.md §5), so any program that
  reads the wire format reads an export; UTF-8, not escaped.
* ``txt``: ``2026-11-22T10:04:05.123Z #lobby 12 <ada> hello``; the further lines of a
  multi-line text are indented by four spaces.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

from localchat.adapters.sqlite.reader import SqliteHistoryReader
from localchat.adapters.wire.schema import message_json
from localchat.adapters.wire.times import utc_milliseconds
from localchat.app.bootstrap import store_path
from localchat.app.cli_support import fail
from localchat.app.settings import SettingsError, load_settings
from localchat.domain.errors import InvalidRoom
from localchat.domain.model import Message
from localchat.domain.names import RoomName
from localchat.ports.store import StoreError

DEFAULT_LAST = 50


class ExportFormat(enum.StrEnum):
    JSONL = "jsonl"
    TXT = "txt"


StoreOption = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="The history file. [default: the server's: LOCALCHAT_STORE, else history.db "
        "in your data directory]",
    ),
]


def _history_file(store: Path | None) -> Path:
    """``--store``, else the file the server would use with the same environment."""
    if store is not None:
        return store
    try:
        path = store_path(load_settings())
    except SettingsError as error:
        raise fail(str(error)) from None
    if path is None:
        raise fail("LOCALCHAT_STORE is ':memory:': there is no history file to read")
    return path


def _room(raw: str) -> RoomName:
    try:
        return RoomName.parse(raw)
    except InvalidRoom as error:
        raise fail(error.message) from None


def _check_room(reader: SqliteHistoryReader, room: RoomName) -> None:
    rooms = reader.rooms()
    if room not in rooms:
        known = ", ".join(r.canonical for r in rooms[:10]) + (", ..." if len(rooms) > 10 else "")
        raise fail(f"no message of {room} is stored in {reader.path} (rooms: {known})")


def text_lines(message: Message) -> str:
    """The ``txt`` form of one message (see the module docstring)."""
    first, *more = message.text.split("\n")
    sent_at = utc_milliseconds(message.sent_at)
    head = f"{sent_at} {message.room} {message.seq} <{message.sender}> {first}"
    return "\n".join([head, *(f"    {line}" for line in more)])


def json_line(message: Message) -> str:
    """The ``jsonl`` form of one message: the protocol's ``message`` object."""
    return message_json(message)


def _write(messages: Iterable[Message], form: ExportFormat) -> None:
    render = json_line if form is ExportFormat.JSONL else text_lines
    for message in messages:
        typer.echo(render(message))


def register_store_commands(app: typer.Typer) -> None:
    """Add ``history`` and ``export`` to the ``localchat`` command."""
    app.command("history")(history)
    app.command("export")(export)


def history(
    room: Annotated[str, typer.Option("--room", help="The room, e.g. '#lobby'.")],
    last: Annotated[
        int, typer.Option("--last", min=1, help="How many of the newest messages.")
    ] = DEFAULT_LAST,
    store: StoreOption = None,
) -> None:
    """Print the newest messages of a room, oldest first."""
    chosen = _room(room)
    try:
        with SqliteHistoryReader.open(_history_file(store)) as reader:
            _check_room(reader, chosen)
            _write(reader.last(chosen, last), ExportFormat.TXT)
    except StoreError as error:
        raise fail(str(error)) from None


def export(
    room: Annotated[
        str | None, typer.Option("--room", help="Only this room. [default: every room]")
    ] = None,
    form: Annotated[
        ExportFormat, typer.Option("--format", help="jsonl (one message object a line) or txt.")
    ] = ExportFormat.JSONL,
    store: StoreOption = None,
) -> None:
    """Write a history file's messages to standard output, for archiving.

    Rooms in name order, each room's messages oldest first.
    """
    chosen = _room(room) if room is not None else None
    try:
        with SqliteHistoryReader.open(_history_file(store)) as reader:
            if chosen is not None:
                _check_room(reader, chosen)
            for each in [chosen] if chosen is not None else reader.rooms():
                _write(reader.messages(each), form)
    except StoreError as error:
        raise fail(str(error)) from None
