"""User and room names (PROTOCOL.md §3).

A name is compared by its *key*, ``NFC(casefold(NFC(name)))``, so ``Straße``, ``STRASSE``
and ``strasse`` are the same user and ``#Straße`` is the room ``#strasse``. A user keeps the
NFC spelling they chose (shown everywhere); a room is always shown by its canonical name.

Parsing is pure and deterministic, so results are cached: the server parses the same few
room names on every ``say``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from localchat.domain.errors import InvalidName, InvalidRoom

MAX_NAME_CHARS = 32
_EXTRA_NAME_CHARS = frozenset("_-.")

# Casefolding turns one name letter, U+0130 (İ), into "i" + U+0307, a combining mark that
# is not a name character: the canonical name of "#İstanbul" is "#i̇stanbul". Room names are
# checked with that pair spelled back as İ, so every canonical name the server sends is a
# valid name of the same room (a unit test checks İ is the only such letter).
_CASEFOLDED_DOTTED_I = "i\u0307"
_DOTTED_CAPITAL_I = "\u0130"


def name_key(text: str) -> str:
    """The identity of a name: ``NFC(casefold(NFC(text)))``."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", text).casefold())


def sort_key(name: str) -> tuple[str, str]:
    """Lists are sorted by the casefold key, ties by code point."""
    return (name_key(name), name)


def _is_name_char(char: str) -> bool:
    if char in _EXTRA_NAME_CHARS:
        return True
    category = unicodedata.category(char)
    return category[0] == "L" or category == "Nd"


def _valid_name_body(text: str) -> bool:
    return 1 <= len(text) <= MAX_NAME_CHARS and all(_is_name_char(c) for c in text)


@dataclass(frozen=True, slots=True)
class UserName:
    """A valid user name: ``display`` is the NFC spelling, ``key`` the identity."""

    display: str
    key: str

    @staticmethod
    def parse(raw: str) -> UserName:
        """Return the name, or raise :class:`InvalidName`."""
        return _parse_user_name(raw)

    def __str__(self) -> str:
        return self.display


@lru_cache(maxsize=4096)
def _parse_user_name(raw: str) -> UserName:
    display = unicodedata.normalize("NFC", raw)
    if not _valid_name_body(display):
        raise InvalidName(f"{raw!r} is not a valid name: {InvalidName.default_message}")
    return UserName(display=display, key=name_key(display))


@dataclass(frozen=True, slots=True)
class RoomName:
    """A valid room name, always held in canonical form (``#`` + key)."""

    canonical: str

    @staticmethod
    def parse(raw: str) -> RoomName:
        """Return the canonical room, or raise :class:`InvalidRoom`."""
        return _parse_room_name(raw)

    def __str__(self) -> str:
        return self.canonical


@lru_cache(maxsize=4096)
def _parse_room_name(raw: str) -> RoomName:
    text = unicodedata.normalize("NFC", raw)
    if not text.startswith("#"):
        raise InvalidRoom(f"{raw!r} is not a room name: it must start with '#'")
    body = text[1:]
    key = name_key(body)
    letters = body.replace(_CASEFOLDED_DOTTED_I, _DOTTED_CAPITAL_I)
    if not (body and all(_is_name_char(c) for c in letters) and 1 <= len(key) <= MAX_NAME_CHARS):
        raise InvalidRoom(f"{raw!r} is not a valid room name: {InvalidRoom.default_message}")
    return RoomName(canonical="#" + key)


LOBBY = RoomName(canonical="#lobby")
