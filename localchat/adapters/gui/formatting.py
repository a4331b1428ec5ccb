"""What a log line looks like, decided once for every view.

A :class:`LogLine` is display-ready data: the time as text, the sender, a stable colour for
the sender's name, and the text cut into spans so a view can show URLs apart. Views only
map :class:`LineKind` to their styles (Tk tags, a terminal prefix).
"""

from __future__ import annotations

import enum
import re
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import datetime, tzinfo

from localchat.domain.names import name_key


class LineKind(enum.StrEnum):
    MESSAGE = "message"
    OWN = "own"
    """A message the person sent (the server's echo)."""
    MENTION = "mention"
    """Someone else's message that names the person."""
    DIRECT = "direct"
    SYSTEM = "system"
    """Joins, leaves, connection news, command output."""
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    text: str
    url: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class LogLine:
    kind: LineKind
    time: str
    spans: tuple[Span, ...]
    sender: str = ""
    colour: str = ""

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)

    @property
    def height(self) -> int:
        """The lines of text it takes in a log (a message may hold newlines)."""
        return 1 + sum(span.text.count("\n") for span in self.spans)


NAME_COLOURS = (
    "#1f5fa8",
    "#b3261e",
    "#2e7d32",
    "#8e44ad",
    "#c25e00",
    "#00796b",
    "#ad1457",
    "#5d4037",
    "#3949ab",
    "#6b8e23",
    "#0277bd",
    "#9e7700",
)
"""Dark enough to read on white, far enough apart to tell names apart."""


def name_colour(name: str) -> str:
    """The same colour for a name in every window and every run (not ``hash()``: salted)."""
    return NAME_COLOURS[zlib.crc32(name_key(name).encode()) % len(NAME_COLOURS)]


_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
_URL_TRAILER = ".,;:!?)]}'\""


def spans(text: str) -> tuple[Span, ...]:
    """``text`` cut into plain and URL spans (trailing punctuation is not part of a URL)."""
    result: list[Span] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group().rstrip(_URL_TRAILER)
        if not url:
            continue
        start = match.start()
        if start > position:
            result.append(Span(text=text[position:start]))
        result.append(Span(text=url, url=True))
        position = start + len(url)
    if position < len(text) or not result:
        result.append(Span(text=text[position:]))
    return tuple(result)


def _is_name_char(char: str) -> bool:
    return (
        char in "_-" or unicodedata.category(char)[0] == "L" or unicodedata.category(char) == "Nd"
    )


def mentions(text: str, name: str) -> bool:
    """Whether ``text`` names ``name`` as a whole word, case-insensitively (``@`` optional).

    A ``.`` may follow (``thanks, ada.``) although names may contain dots.
    """
    key = name_key(name)
    if not key:
        return False
    folded = name_key(text)
    start = folded.find(key)
    while start >= 0:
        end = start + len(key)
        before_ok = start == 0 or not _is_name_char(folded[start - 1])
        after_ok = end == len(folded) or not _is_name_char(folded[end])
        if before_ok and after_ok:
            return True
        start = folded.find(key, start + 1)
    return False


def clock_time(moment: datetime, zone: tzinfo | None) -> str:
    """``HH:MM`` in the person's time zone (``None``: the machine's)."""
    return moment.astimezone(zone).strftime("%H:%M")
