"""Every error leaf carries the code and fatality of PROTOCOL.md §5, and every code there
has exactly one leaf."""

from __future__ import annotations

import pytest

from localchat.adapters.wire.errors import PacketError, ProtocolError
from localchat.domain import errors
from localchat.domain.errors import DomainError

# PROTOCOL.md §5, "Error codes", copied as written there.
PROTOCOL_FATAL = [
    "bad_frame",
    "frame_too_large",
    "too_many_errors",
    "not_registered",
    "handshake_timeout",
    "name_taken",
    "invalid_name",
    "auth_failed",
    "server_full",
    "unsupported_protocol",
    "timeout",
    "slow_consumer",
    "shutting_down",
]
PROTOCOL_NON_FATAL = [
    "bad_message",
    "unknown_type",
    "already_registered",
    "not_in_room",
    "already_in_room",
    "invalid_room",
    "no_such_room",
    "no_such_user",
    "invalid_text",
]
# Codes LocalChat adds where PROTOCOL.md is silent (docs/protocol.md §8).
ADDED_FATAL = ["tls_required"]
ADDED_NON_FATAL = ["store_unavailable"]
PROTOCOL_CODES = {
    **dict.fromkeys(PROTOCOL_FATAL, True),
    **dict.fromkeys(PROTOCOL_NON_FATAL, False),
}
ALL_CODES = {
    **PROTOCOL_CODES,
    **dict.fromkeys(ADDED_FATAL, True),
    **dict.fromkeys(ADDED_NON_FATAL, False),
}


def leaves(base: type[Exception]) -> list[type[Exception]]:
    found: list[type[Exception]] = []
    for sub in base.__subclasses__():
        found.extend(leaves(sub) if sub.__subclasses__() else [sub])
    return found


DOMAIN_LEAVES = leaves(DomainError)
PROTOCOL_LEAVES = leaves(ProtocolError)


def test_the_protocol_lists_22_distinct_codes() -> None:
    assert len(PROTOCOL_FATAL) + len(PROTOCOL_NON_FATAL) == len(PROTOCOL_CODES) == 22


def test_every_protocol_code_has_exactly_one_leaf() -> None:
    codes = [leaf.code for leaf in DOMAIN_LEAVES + PROTOCOL_LEAVES]  # type: ignore[attr-defined]
    assert sorted(codes) == sorted(ALL_CODES)


def test_every_domain_error_class_is_a_leaf() -> None:
    defined = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, DomainError) and value is not DomainError
    ]
    assert set(defined) == set(DOMAIN_LEAVES)
    assert len(defined) == len(DOMAIN_LEAVES)


@pytest.mark.parametrize("leaf", DOMAIN_LEAVES, ids=lambda leaf: leaf.__name__)
def test_domain_leaf_code_and_fatality(leaf: type[DomainError]) -> None:
    assert leaf.code in ALL_CODES
    assert leaf.fatal is ALL_CODES[leaf.code]
    error = leaf()
    assert error.code == leaf.code
    assert error.fatal is ALL_CODES[leaf.code]
    assert error.message == leaf.default_message
    assert error.message
    assert leaf("custom words").message == "custom words"


@pytest.mark.parametrize("leaf", PROTOCOL_LEAVES, ids=lambda leaf: leaf.__name__)
def test_protocol_leaf_code_and_fatality(leaf: type[ProtocolError]) -> None:
    assert leaf.code in ALL_CODES
    assert leaf.fatal is ALL_CODES[leaf.code]
    assert leaf().fatal is ALL_CODES[leaf.code]
    assert issubclass(leaf, PacketError) is not leaf.fatal
