"""I-JSON (RFC 7493) parsing: JSON that every implementation reads the same way.

``json.loads`` alone is too lenient for a contract other programs rely on: it accepts
``NaN``, duplicate keys (last wins), lone surrogates and integers no JavaScript client can
hold. :func:`loads_object` rejects all of those, and nesting deeper than 32, with
:class:`MalformedPacket`. The costly checks run only when the raw text could need them
(an escape for surrogates, enough brackets for depth), so a plain ``say`` pays almost nothing.
"""

from __future__ import annotations

import json
import math
from typing import Any

from localchat.adapters.wire.errors import MalformedPacket

MAX_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1
_MAX_INT_DIGITS = len(str(MAX_SAFE_INTEGER)) + 1  # a sign


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedPacket(f"duplicate key {key!r}")
            seen.add(key)
    return result


def _reject_constant(name: str) -> Any:
    raise MalformedPacket(f"{name} is not a JSON number")


def _safe_int(text: str) -> int:
    if len(text) > _MAX_INT_DIGITS:
        raise MalformedPacket("integer out of range (more than 2^53-1 in magnitude)")
    value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise MalformedPacket("integer out of range (more than 2^53-1 in magnitude)")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise MalformedPacket(f"number {text[:40]} is out of range")
    return value


_DECODER = json.JSONDecoder(
    object_pairs_hook=_object_without_duplicates,
    parse_constant=_reject_constant,
    parse_int=_safe_int,
    parse_float=_finite_float,
)


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= char <= "\udfff" for char in text)


def _check_tree(value: Any, check_depth: bool, check_strings: bool) -> None:
    """Walk containers iteratively: depth limit and lone surrogates in keys and strings."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if check_depth and depth > MAX_DEPTH:
            raise MalformedPacket(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            for key, child in item.items():
                if check_strings and _has_surrogate(key):
                    raise MalformedPacket("a key holds a lone surrogate")
                if isinstance(child, dict | list):
                    stack.append((child, depth + 1))
                elif check_strings and isinstance(child, str) and _has_surrogate(child):
                    raise MalformedPacket("a string holds a lone surrogate")
        elif isinstance(item, list):
            for child in item:
                if isinstance(child, dict | list):
                    stack.append((child, depth + 1))
                elif check_strings and isinstance(child, str) and _has_surrogate(child):
                    raise MalformedPacket("a string holds a lone surrogate")


def loads_object(payload: bytes) -> dict[str, Any]:
    """Parse one I-JSON object from UTF-8 bytes, or raise :class:`MalformedPacket`."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedPacket(f"the payload is not UTF-8 (byte {error.start})") from None
    try:
        value = _DECODER.decode(text)
    except MalformedPacket:
        raise
    except RecursionError:
        raise MalformedPacket(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:
        raise MalformedPacket(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise MalformedPacket("the payload must be a JSON object")
    check_strings = "\\u" in text
    check_depth = text.count("{") + text.count("[") > MAX_DEPTH
    if check_strings or check_depth:
        _check_tree(value, check_depth, check_strings)
    return value
