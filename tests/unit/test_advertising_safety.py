"""Advertising can never happen on loopback, whatever the settings say (no packet is sent here)."""

from __future__ import annotations

import pytest

from localchat.adapters.mdns.advertiser import (
    MdnsAdvertiser,
    NothingToAdvertise,
    advertisable_addresses,
)
from localchat.adapters.mdns.txt import ServerAdvert

INTERFACES = ["127.0.0.1", "192.168.1.5", "10.0.0.5", "fe80::1", "2001:db8::5", "0.0.0.0"]


@pytest.mark.parametrize("bound", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_a_loopback_bind_has_nothing_to_advertise(bound: str) -> None:
    assert advertisable_addresses(bound, INTERFACES) == []


def test_a_wildcard_bind_advertises_every_lan_address_of_its_family() -> None:
    assert advertisable_addresses("0.0.0.0", INTERFACES) == ["192.168.1.5", "10.0.0.5"]
    assert advertisable_addresses("::", INTERFACES) == ["192.168.1.5", "10.0.0.5", "2001:db8::5"]


def test_a_specific_bind_advertises_itself_only() -> None:
    assert advertisable_addresses("10.0.0.5", INTERFACES) == ["10.0.0.5"]


def test_the_advertiser_refuses_loopback_addresses() -> None:
    with pytest.raises(NothingToAdvertise):
        MdnsAdvertiser(advert=ServerAdvert(name="x"), port=5050, addresses=["127.0.0.1", "::1"])
    advertiser = MdnsAdvertiser(
        advert=ServerAdvert(name="x"), port=5050, addresses=["127.0.0.1", "10.0.0.5"]
    )
    assert advertiser.addresses == ["10.0.0.5"]
