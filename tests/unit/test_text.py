"""Message text rules (PROTOCOL.md §3): length after NFC, not only white space, no Cc but
tab and newline, relayed exactly as sent."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localchat.domain.errors import InvalidText
from localchat.domain.text import DEFAULT_MAX_TEXT_CHARS, check_text
from tests.strategies import message_texts


def protocol_accepts(text: str, max_chars: int) -> bool:
    """PROTOCOL.md §3, written out independently of the code under test, plus the project's
    decision that a lone surrogate (never valid on the wire: I-JSON) is not text either."""
    return (
        1 <= len(unicodedata.normalize("NFC", text)) <= max_chars
        and not text.isspace()
        and not any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text)
        and not any(unicodedata.category(c) == "Cs" for c in text)
    )


def test_default_limit_is_4000_characters() -> None:
    assert DEFAULT_MAX_TEXT_CHARS == 4000
    assert check_text("a" * 4000) == "a" * 4000
    with pytest.raises(InvalidText):
        check_text("a" * 4001)


@pytest.mark.parametrize(
    "text",
    ["hi", "  padded  ", "a\nb\tc", "Cafe\u0301", "\u200bzero width is Cf, not Cc", "\u00e9"],
)
def test_accepted_text_is_returned_exactly_as_sent(text: str) -> None:
    assert check_text(text) == text
    assert check_text(text) is text


def test_length_counts_characters_after_nfc() -> None:
    assert check_text("e\u0301" * 5, max_chars=5) == "e\u0301" * 5  # 10 code points, 5 in NFC
    with pytest.raises(InvalidText):
        check_text("e\u0301" * 6, max_chars=5)
    # U+0958 is excluded from composition: NFC makes it two characters.
    assert len(unicodedata.normalize("NFC", "\u0958")) == 2
    with pytest.raises(InvalidText):
        check_text("\u0958", max_chars=1)
    assert check_text("\u0958", max_chars=2) == "\u0958"


@pytest.mark.parametrize("text", ["", " ", "   ", "\n", "\t\n ", "\u3000", "\u00a0", "\u2028"])
def test_empty_or_white_space_only_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidText) as raised:
        check_text(text)
    assert raised.value.code == "invalid_text"
    assert not raised.value.fatal


def test_every_control_character_but_tab_and_newline_is_refused() -> None:
    everything = map(chr, range(sys.maxunicode + 1))
    controls = [char for char in everything if unicodedata.category(char) == "Cc"]
    assert len(controls) == 65
    for char in controls:
        if char in "\n\t":
            continue
        with pytest.raises(InvalidText):
            check_text(f"before{char}after")
    assert check_text("tab\tand\nnewline") == "tab\tand\nnewline"


@settings(max_examples=300, deadline=None)
@given(
    st.text(st.characters(codec=None), max_size=12),
    st.integers(min_value=1, max_value=10),
)
def test_check_text_decides_as_the_protocol_says(text: str, max_chars: int) -> None:
    try:
        result = check_text(text, max_chars)
    except InvalidText:
        assert not protocol_accepts(text, max_chars)
    else:
        assert protocol_accepts(text, max_chars)
        assert result == text


@pytest.mark.parametrize("text", ["\ud800", "a\udfffb", "\udc00\ud83d"])
def test_lone_surrogates_are_refused(text: str) -> None:
    """They cannot arrive over the wire, but an in-process client could send them, and no
    encoder can put them in UTF-8 for the other members."""
    with pytest.raises(InvalidText):
        check_text(text)


@settings(max_examples=100, deadline=None)
@given(message_texts)
def test_valid_texts_pass_unchanged(text: str) -> None:
    assert check_text(text) == text
