"""User and room names (PROTOCOL.md §3): NFC, casefold keys, allowed characters, limits."""

from __future__ import annotations

import itertools
import sys
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from localchat.domain.errors import InvalidName, InvalidRoom
from localchat.domain.names import LOBBY, MAX_NAME_CHARS, RoomName, UserName, name_key, sort_key
from tests.strategies import room_names, user_names

FAST = settings(max_examples=200, deadline=None)


def protocol_name_char(char: str) -> bool:
    """PROTOCOL.md §3, written out independently of the code under test."""
    category = unicodedata.category(char)
    return category.startswith("L") or category == "Nd" or char in "_-."


# -- user names ---------------------------------------------------------------------------------


def test_user_name_keeps_the_chosen_spelling_and_compares_by_casefold_key() -> None:
    name = UserName.parse("Straße")
    assert name.display == "Straße"
    assert name.key == "strasse"
    assert str(name) == "Straße"
    assert UserName.parse("STRASSE").key == name.key
    assert UserName.parse("strasse").key == name.key
    assert UserName.parse("\u1e9e").key == "ss"  # LATIN CAPITAL LETTER SHARP S


def test_user_name_is_normalised_to_nfc_before_anything_else() -> None:
    decomposed = UserName.parse("Jose\u0301")
    assert decomposed.display == "Jos\u00e9"
    assert decomposed.key == "jos\u00e9"
    assert decomposed.key == UserName.parse("JOS\u00c9").key


def test_key_is_nfc_of_casefold_of_nfc() -> None:
    # U+01F0 (j with caron) casefolds to "j" + U+030C, which NFC composes back.
    assert name_key("\u01f0") == "\u01f0"
    assert name_key("A\u030a") == "\u00e5"  # Å decomposed -> å composed


@pytest.mark.parametrize(
    "raw",
    [
        "a",
        "A",
        "\u01c5",  # Lt: Dž
        "\u02b0",  # Lm: modifier letter small h
        "\u4e2d\u6587",  # Lo
        "\u0663",  # Nd: Arabic-Indic digit three
        "0123456789",
        "_",
        "-",
        ".",
        "a.b-c_d",
        "x" * MAX_NAME_CHARS,
    ],
)
def test_valid_user_names(raw: str) -> None:
    assert UserName.parse(raw).display == unicodedata.normalize("NFC", raw)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "x" * (MAX_NAME_CHARS + 1),
        "has space",
        "tab\there",
        "new\nline",
        "#room",
        "a@b",
        "a!",
        "\u216b",  # Nl: Roman numeral twelve
        "\u00b2",  # No: superscript two
        "q\u0307",  # Mn left over after NFC (no precomposed q with dot above)
        "\u203f",  # Pc other than "_"
        "\u2013",  # Pd other than "-"
        "\u00a0",  # no-break space
        "\U0001f600",  # emoji (So)
        "\ud800",  # lone surrogate
        "\x00",
    ],
)
def test_invalid_user_names_raise_invalid_name(raw: str) -> None:
    with pytest.raises(InvalidName) as raised:
        UserName.parse(raw)
    assert raised.value.code == "invalid_name"
    assert raised.value.fatal


def test_user_name_limit_counts_characters_after_nfc() -> None:
    decomposed = "e\u0301" * MAX_NAME_CHARS  # 64 code points, 32 after NFC
    assert UserName.parse(decomposed).display == "\u00e9" * MAX_NAME_CHARS
    with pytest.raises(InvalidName):
        UserName.parse("e\u0301" * (MAX_NAME_CHARS + 1))


@FAST
@given(user_names)
def test_valid_user_names_parse_to_their_nfc_spelling_and_key(raw: str) -> None:
    name = UserName.parse(raw)
    assert name.display == unicodedata.normalize("NFC", raw)
    assert name.key == unicodedata.normalize("NFC", name.display.casefold())
    assert UserName.parse(name.display) == name


@FAST
@given(st.text(max_size=40))
def test_any_text_is_a_user_name_exactly_when_the_protocol_says_so(raw: str) -> None:
    nfc = unicodedata.normalize("NFC", raw)
    expected_valid = 1 <= len(nfc) <= MAX_NAME_CHARS and all(protocol_name_char(c) for c in nfc)
    try:
        name = UserName.parse(raw)
    except InvalidName:
        assert not expected_valid
    else:
        assert expected_valid
        assert name.display == nfc


# -- room names ---------------------------------------------------------------------------------


def test_room_canonical_name_is_hash_and_casefold_key() -> None:
    assert RoomName.parse("#Straße").canonical == "#strasse"
    assert RoomName.parse("#STRASSE") == RoomName.parse("#Straße")
    assert RoomName.parse("#LOBBY") == LOBBY
    assert LOBBY.canonical == "#lobby"
    assert str(RoomName.parse("#Dev")) == "#dev"


@pytest.mark.parametrize(
    "raw",
    ["", "#", "lobby", "##a", "#a b", "#a#b", " #a", "#a\n", "#\u216b", "#\U0001f600", "#\ud800"],
)
def test_invalid_room_names_raise_invalid_room(raw: str) -> None:
    with pytest.raises(InvalidRoom) as raised:
        RoomName.parse(raw)
    assert raised.value.code == "invalid_room"
    assert not raised.value.fatal
    assert not isinstance(raised.value, InvalidName)


def test_room_limit_applies_to_the_canonical_name() -> None:
    assert RoomName.parse("#" + "a" * MAX_NAME_CHARS).canonical == "#" + "a" * MAX_NAME_CHARS
    with pytest.raises(InvalidRoom):
        RoomName.parse("#" + "a" * (MAX_NAME_CHARS + 1))
    # 16 sharp s are 32 characters once casefolded: allowed; 17 (17 characters as typed) are not.
    assert RoomName.parse("#" + "ß" * 16).canonical == "#" + "ss" * 16
    with pytest.raises(InvalidRoom):
        RoomName.parse("#" + "ß" * 17)


def test_room_name_is_normalised_before_its_checks() -> None:
    assert RoomName.parse("#Cafe\u0301").canonical == "#caf\u00e9"
    assert RoomName.parse("#" + "e\u0301" * MAX_NAME_CHARS).canonical == "#" + "é" * MAX_NAME_CHARS


@FAST
@given(room_names)
@example("#İstanbul")
@example("#Straße")
def test_the_canonical_name_of_a_room_is_itself_a_valid_name_of_that_room(raw: str) -> None:
    """The server sends canonical names; a client must be able to send them back."""
    room = RoomName.parse(raw)
    assert room.canonical == "#" + name_key(raw[1:])
    assert len(room.canonical) <= MAX_NAME_CHARS + 1
    assert RoomName.parse(room.canonical) == room


def test_no_other_name_character_casefolds_into_non_name_characters() -> None:
    """The exception made for U+0130 in room names covers every such letter of this Unicode."""
    odd = [
        char
        for char in map(chr, range(sys.maxunicode + 1))
        if char.casefold() != char
        and all(protocol_name_char(c) for c in unicodedata.normalize("NFC", char))
        and not all(protocol_name_char(c) for c in name_key(char))
    ]
    assert odd == ["\u0130"]
    assert RoomName.parse("#\u0130").canonical == "#i\u0307"
    assert RoomName.parse("#I\u0307") == RoomName.parse("#\u0130")


@FAST
@given(st.text(max_size=40))
def test_any_text_is_a_room_name_or_invalid_room(raw: str) -> None:
    try:
        room = RoomName.parse(raw)
    except InvalidRoom:
        return
    assert room.canonical.startswith("#")
    assert 2 <= len(room.canonical) <= MAX_NAME_CHARS + 1
    assert room.canonical == "#" + name_key(room.canonical[1:])


# -- sorting ------------------------------------------------------------------------------------


def test_sorting_is_by_key_then_code_point() -> None:
    names = ["bob", "Bob", "alice", "Zoe", "\u00e9mile", "Straße", "strasse", "ALICE"]
    assert sorted(names, key=sort_key) == [
        "ALICE",
        "alice",
        "Bob",
        "bob",
        "Straße",
        "strasse",
        "Zoe",
        "\u00e9mile",  # é (U+00E9) sorts after z (U+007A) by code point
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(user_names, max_size=12))
def test_sorted_lists_have_ascending_keys_and_ties_in_code_point_order(raw: list[str]) -> None:
    ordered = sorted(raw, key=sort_key)
    for first, second in itertools.pairwise(ordered):
        assert name_key(first) <= name_key(second)
        if name_key(first) == name_key(second):
            assert first <= second
