"""Message text rules (PROTOCOL.md §3).

Text is relayed exactly as sent; the rules only decide whether it is accepted. Length counts
code points after NFC. The checks are C-speed (a regex, ``str.isspace``) because they run
on every message, and texts may be thousands of characters long.
"""

from __future__ import annotations

import re
import unicodedata

from localchat.domain.errors import InvalidText

DEFAULT_MAX_TEXT_CHARS = 4000

# Category Cc is exactly U+0000-U+001F and U+007F-U+009F; tab and newline are allowed.
# Lone surrogates (Cs) never arrive over the wire (I-JSON refuses them), but an in-process
# client could send one, and no encoder could then write the message as UTF-8 for the others.
_FORBIDDEN_CHARACTER = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def check_text(text: str, max_chars: int = DEFAULT_MAX_TEXT_CHARS) -> str:
    """Return ``text`` unchanged if it may be sent, else raise :class:`InvalidText`."""
    length = len(text)
    if length > max_chars or not unicodedata.is_normalized("NFC", text):
        length = len(unicodedata.normalize("NFC", text))
    if length == 0:
        raise InvalidText("the text is empty")
    if length > max_chars:
        raise InvalidText(f"the text is {length} characters long; the limit is {max_chars}")
    if text.isspace():
        raise InvalidText("the text is only white space")
    match = _FORBIDDEN_CHARACTER.search(text)
    if match is not None:
        raise InvalidText(
            f"the text contains U+{ord(match.group()):04X}; control characters other than "
            "tab and newline, and lone surrogates, are not allowed"
        )
    return text
