"""Hypothesis strategies: the one definition of valid (and invalid) domain values."""

from __future__ import annotations

import unicodedata

from hypothesis import strategies as st

from localchat.domain.names import MAX_NAME_CHARS, name_key

_name_alphabet = st.characters(
    categories=("Lu", "Ll", "Lt", "Lm", "Lo", "Nd"), include_characters="_-."
)


def _valid_user(text: str) -> bool:
    nfc = unicodedata.normalize("NFC", text)
    return 1 <= len(nfc) <= MAX_NAME_CHARS and all(
        c in "_-." or unicodedata.category(c)[0] == "L" or unicodedata.category(c) == "Nd"
        for c in nfc
    )


user_names = st.text(_name_alphabet, min_size=1, max_size=MAX_NAME_CHARS).filter(_valid_user)
"""Valid user names (raw, as a client would send them)."""

ascii_user_names = st.text(
    st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-."),
    min_size=1,
    max_size=MAX_NAME_CHARS,
)

room_names = user_names.filter(lambda body: 1 <= len(name_key(body)) <= MAX_NAME_CHARS).map(
    lambda body: "#" + body
)
"""Valid room names (raw)."""

message_texts = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), include_characters="\n\t"),
    min_size=1,
    max_size=200,
).filter(lambda text: not text.isspace())
"""Valid message texts (short, for speed)."""
