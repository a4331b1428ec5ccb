"""I-JSON (RFC 7493) as PROTOCOL.md §1 requires it: what is refused, and nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from localchat.adapters.wire.errors import MalformedPacket
from localchat.adapters.wire.strict_json import MAX_DEPTH, MAX_SAFE_INTEGER, loads_object


def nested(depth: int, *, leaf: str = "0") -> bytes:
    """An object nested ``depth`` levels deep, the top-level object counting as 1."""
    text = leaf
    for level in range(depth - 1):
        text = f"[{text}]" if level % 2 else f'{{"k":{text}}}'
    return f'{{"type":"ping","id":{text}}}'.encode()


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


def test_a_plain_object_parses() -> None:
    assert loads_object(b'{"type":"say","text":"h\\u00e9 \xc3\xa9","n":[1,2.5,null,true]}') == {
        "type": "say",
        "text": "h\u00e9 \u00e9",
        "n": [1, 2.5, None, True],
    }


@pytest.mark.parametrize(
    "payload",
    [
        b'{"a":NaN}',
        b'{"a":Infinity}',
        b'{"a":-Infinity}',
        b'{"a":[1,NaN]}',
        b'{"a":1e400}',
        b'{"a":-1e400}',
    ],
)
def test_non_finite_numbers_are_refused(payload: bytes) -> None:
    with pytest.raises(MalformedPacket):
        loads_object(payload)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"a":"\\ud800"}',
        b'{"a":"x\\udfffy"}',
        b'{"\\ud800":1}',
        b'{"a":["\\udc00"]}',
        b'{"a":{"\\udbff":1}}',
        b'{"a":{"b":"\\ude00\\ud83d"}}',  # low before high: two lone surrogates
        b'{"a":"\\ud83d"}',
    ],
)
def test_lone_surrogates_are_refused_in_keys_and_values(payload: bytes) -> None:
    with pytest.raises(MalformedPacket, match="surrogate"):
        loads_object(payload)


def test_a_surrogate_pair_is_one_character() -> None:
    assert loads_object(b'{"a":"\\ud83d\\ude00"}') == {"a": "\U0001f600"}


@pytest.mark.parametrize(
    "payload",
    [b'{"a":1,"a":1}', b'{"a":1,"b":2,"a":3}', b'{"x":{"k":1,"k":2}}', b'{"x":[{"k":1,"k":2}]}'],
)
def test_duplicate_keys_are_refused(payload: bytes) -> None:
    with pytest.raises(MalformedPacket, match="duplicate"):
        loads_object(payload)


def test_nesting_of_exactly_32_is_accepted_and_33_refused() -> None:
    assert MAX_DEPTH == 32
    accepted = loads_object(nested(32))
    assert depth_of(accepted) == 32
    with pytest.raises(MalformedPacket, match="nested"):
        loads_object(nested(33))
    with pytest.raises(MalformedPacket, match="nested"):
        loads_object(nested(33, leaf="[]"))  # an empty container counts as a level
    assert depth_of(loads_object(nested(31, leaf="{}"))) == 32


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = "[{" * 100
    assert loads_object(json.dumps({"type": "say", "text": text}).encode())["text"] == text


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_very_deep_nesting_is_refused_without_recursion_errors(depth: int) -> None:
    with pytest.raises(MalformedPacket):
        loads_object(b'{"a":' + b"[" * depth + b"]" * depth + b"}")


@pytest.mark.parametrize("value", [MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 0, -0, 1])
def test_integers_within_the_safe_range_are_accepted(value: int) -> None:
    assert MAX_SAFE_INTEGER == 2**53 - 1
    assert loads_object(f'{{"n":{value}}}'.encode()) == {"n": value}


@pytest.mark.parametrize(
    "text", [str(2**53), str(-(2**53)), str(2**63), "1" + "0" * 20, "-" + "9" * 5000]
)
def test_integers_outside_the_safe_range_are_refused(text: str) -> None:
    with pytest.raises(MalformedPacket, match="range"):
        loads_object(f'{{"n":{text}}}'.encode())


@pytest.mark.parametrize("payload", [b"[]", b'"x"', b"1", b"null", b"true", b'[{"type":"bye"}]'])
def test_the_top_level_must_be_an_object(payload: bytes) -> None:
    with pytest.raises(MalformedPacket, match="object"):
        loads_object(payload)


@pytest.mark.parametrize(
    "payload",
    [
        b'{"a":"\xff"}',
        b'{"a":"\xc0\xaf"}',  # overlong
        b'{"a":"\xed\xa0\x80"}',  # an encoded surrogate
        b'{"a":"\xe2\x82"}',  # cut short
        b"\xfe\xff{}",
    ],
)
def test_invalid_utf8_is_refused(payload: bytes) -> None:
    with pytest.raises(MalformedPacket, match="UTF-8"):
        loads_object(payload)


@pytest.mark.parametrize(
    "payload",
    [b"", b" ", b"{", b"{'a':1}", b"{} {}", b'{"a":1,}', b"\xef\xbb\xbf{}", b'{"a":"\x01"}'],
)
def test_text_that_is_not_json_is_refused(payload: bytes) -> None:
    with pytest.raises(MalformedPacket):
        loads_object(payload)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_any_bytes_give_an_object_or_malformed_packet(payload: bytes) -> None:
    try:
        value = loads_object(payload)
    except MalformedPacket:
        return
    assert isinstance(value, dict)


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
i_json = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(max_size=4), i_json, max_size=4), st.booleans())
def test_i_json_objects_round_trip(value: dict[str, Any], ascii_only: bool) -> None:
    payload = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert loads_object(payload) == value
