"""What a line typed into the input means: plain text or a slash command.

Parsing only: :func:`parse_line` turns text into one of the small frozen values below, and
the presenter decides what each does. ``//text`` sends ``/text`` literally.
"""

from __future__ import annotations

from dataclasses import dataclass

from localchat.domain.errors import InvalidRoom
from localchat.domain.names import RoomName


@dataclass(frozen=True, slots=True, kw_only=True)
class Say:
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Join:
    room: RoomName


@dataclass(frozen=True, slots=True, kw_only=True)
class Leave:
    target: str | None
    """A room (``#x``) or a direct conversation's name; None: the current conversation."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Msg:
    to: str
    text: str
    """May be empty: ``/msg bob`` just opens the conversation."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Users:
    room: RoomName | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Rooms:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Switch:
    target: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Help:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Quit:
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Mistake:
    """A slash command used wrongly: ``message`` says how to use it."""

    message: str


Intent = Say | Join | Leave | Msg | Users | Rooms | Switch | Help | Quit | Mistake

HELP = (
    ("/join #room", "join (or create) a room and switch to it"),
    ("/leave [#room]", "leave the current room (or the one named); closes a direct conversation"),
    ("/msg name [text]", "open a direct conversation with name, and send text"),
    ("/switch #room|name", "show another room or direct conversation"),
    ("/users [#room]", "list who is in the room"),
    ("/rooms", "list the rooms on the server"),
    ("/help", "this list"),
    ("/quit", "leave LocalChat (also Escape or Ctrl+Q)"),
    ("//text", "send text that starts with a slash"),
)


def room_argument(raw: str) -> RoomName:
    """A room named by a person: the ``#`` may be left out. Raises :class:`InvalidRoom`."""
    return RoomName.parse(raw if raw.startswith("#") else "#" + raw)


def _room_or_mistake(raw: str, usage: str) -> RoomName | Mistake:
    try:
        return room_argument(raw)
    except InvalidRoom:
        return Mistake(message=f"{raw!r} is not a room name. Usage: {usage}")


def parse_line(line: str) -> Intent:
    """The intent of one submitted line (already known not to be blank)."""
    if not line.startswith("/") or line.startswith("//"):
        return Say(text=line[1:] if line.startswith("//") else line)
    head, _, rest = line[1:].partition(" ")
    command = head.lower()
    rest = rest.strip()
    match command:
        case "join" | "j":
            if not rest:
                return Mistake(message="Usage: /join #room")
            room = _room_or_mistake(rest.split()[0], "/join #room")
            return room if isinstance(room, Mistake) else Join(room=room)
        case "leave" | "part" | "close":
            return Leave(target=rest.split()[0] if rest else None)
        case "msg" | "query" | "m":
            to, _, text = rest.partition(" ")
            if not to:
                return Mistake(message="Usage: /msg name [text]")
            return Msg(to=to.lstrip("@"), text=text.strip())
        case "users" | "names" | "who":
            if not rest:
                return Users(room=None)
            room = _room_or_mistake(rest.split()[0], "/users [#room]")
            return room if isinstance(room, Mistake) else Users(room=room)
        case "rooms" | "list":
            return Rooms()
        case "switch" | "go":
            if not rest:
                return Mistake(message="Usage: /switch #room|name")
            return Switch(target=rest.split()[0])
        case "help" | "?":
            return Help()
        case "quit" | "exit" | "bye":
            return Quit()
    return Mistake(message=f"Unknown command /{head}. Type /help for the list.")
