"""The presenter's pure helpers: line formatting, slash parsing, the outbox, the connect
dialog's directory hook, and the preferences file."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from localchat.adapters.gui import slash
from localchat.adapters.gui.connect import ConnectForm, ConnectPresenter
from localchat.adapters.gui.formatting import NAME_COLOURS, mentions, name_colour, spans
from localchat.adapters.gui.outbox import Outbox, Request, RequestLog
from localchat.adapters.gui.preferences import JsonPreferences, LastConnection
from localchat.domain.commands import ListRooms, PostMessage, SendDirect
from localchat.domain.names import RoomName
from localchat.ports.discovery import ServerEntry
from localchat.ports.session import ConnectTarget
from tests.unit.gui.fakes import FakeConnectView, StaticDirectory


@given(st.text())
def test_spans_keep_every_character(text: str) -> None:
    assert "".join(span.text for span in spans(text)) == text


def test_urls_are_spans_without_trailing_punctuation() -> None:
    assert [(s.text, s.url) for s in spans("(see www.example.org/a.)")] == [
        ("(see ", False),
        ("www.example.org/a", True),
        (".)", False),
    ]


def test_name_colours_are_stable_and_case_blind() -> None:
    assert name_colour("Ada") == name_colour("ada") in NAME_COLOURS
    assert len({name_colour(n) for n in ("ada", "bob", "cy", "dee", "eve", "fay")}) > 2


def test_mentions() -> None:
    assert mentions("hi ada", "Ada")
    assert mentions("@ADA: look", "ada")
    assert mentions("thanks, ada.", "ada")
    assert mentions("STRASSE!", "straße")
    assert not mentions("adam", "ada")
    assert not mentions("nada", "ada")
    assert not mentions("ada_2 says", "ada")


def test_slash_parsing() -> None:
    lobby = RoomName.parse("#lobby")
    cases = {
        "hello": slash.Say(text="hello"),
        "//me waves": slash.Say(text="/me waves"),
        "/join lobby": slash.Join(room=lobby),
        "/JOIN #Lobby": slash.Join(room=lobby),
        "/leave": slash.Leave(target=None),
        "/leave #dev": slash.Leave(target="#dev"),
        "/msg @bob hi there": slash.Msg(to="bob", text="hi there"),
        "/msg bob": slash.Msg(to="bob", text=""),
        "/users": slash.Users(room=None),
        "/users #lobby": slash.Users(room=lobby),
        "/rooms": slash.Rooms(),
        "/switch bob": slash.Switch(target="bob"),
        "/help": slash.Help(),
        "/quit": slash.Quit(),
    }
    for line, intent in cases.items():
        assert slash.parse_line(line) == intent, line
    for wrong in ("/join", "/join #a!", "/msg", "/switch", "/users #!", "/nope"):
        assert isinstance(slash.parse_line(wrong), slash.Mistake), wrong


def test_the_outbox_keeps_lines_until_settled_and_resends_after_a_loss() -> None:
    outbox = Outbox()
    lobby = RoomName.parse("#lobby")
    first = outbox.add("#lobby", PostMessage(text="one", room=lobby))
    second = outbox.add("@bob", SendDirect(to="bob", text="two"))
    assert outbox.waiting() == [first, second]
    outbox.mark_sent(first)
    assert outbox.waiting() == [second]
    outbox.connection_lost()
    assert outbox.waiting() == [first, second]
    outbox.mark_sent(first)
    outbox.settle(first)
    assert (len(outbox), outbox.waiting()) == (1, [second])


def test_an_error_answers_the_oldest_open_request() -> None:
    log = RequestLog()
    rooms = Request(ListRooms())
    say = Request(PostMessage(text="x"))
    log.add(rooms)
    log.add(say)
    assert log.answer(lambda c: isinstance(c, ListRooms)) is rooms
    assert log.reject() is say
    assert log.reject() is None


def test_the_dialog_shows_servers_from_a_directory_as_they_appear() -> None:
    directory = StaticDirectory()
    submitted: list[ConnectTarget] = []
    dialog = ConnectPresenter(
        ConnectForm(name="ada"),
        on_submit=submitted.append,
        on_cancel=lambda: None,
        directory=directory,
    )
    view = FakeConnectView()
    dialog.attach(view)
    assert view.form.servers == ()
    found = ServerEntry(label="Office chat", host="192.168.1.20", port=5051)
    directory.entries = (found,)
    dialog.refresh()
    assert [row.entry for row in view.form.servers] == [found]
    shown = len(view.forms)
    dialog.refresh()
    assert len(view.forms) == shown  # nothing changed, nothing redrawn
    dialog.server_chosen(found)
    assert (view.form.host, view.form.port) == ("192.168.1.20", "5051")
    dialog.submit(view.form.host, view.form.port, view.form.name)
    assert submitted == [
        ConnectTarget(host="192.168.1.20", port=5051, name="ada", label="Office chat")
    ]


def test_preferences_round_trip_and_never_fail(tmp_path: Path) -> None:
    path = tmp_path / "config" / "client.json"
    preferences = JsonPreferences(path)
    assert preferences.load() is None
    last = LastConnection(host="10.0.0.5", port=5050, name="Zoë")
    preferences.save(last)
    assert preferences.load() == last
    assert "password" not in json.loads(path.read_text(encoding="utf-8"))
    path.write_text("{not json", encoding="utf-8")
    assert preferences.load() is None
    path.write_text('{"host": 1}', encoding="utf-8")
    assert preferences.load() is None
    blocked = JsonPreferences(tmp_path / "config" / "client.json" / "below-a-file.json")
    blocked.save(last)  # cannot be written: logged, not raised
    assert blocked.load() is None
