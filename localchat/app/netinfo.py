"""This machine's LAN addresses, for the start-up hint and the mDNS advert (no packets sent)."""

from __future__ import annotations

import ipaddress

import ifaddr


def lan_addresses() -> list[str]:
    """IPv4 addresses of this machine's non-loopback interfaces, for "connect to" hints."""
    found: list[str] = []
    try:
        adapters = ifaddr.get_adapters()
    except OSError:  # pragma: no cover - interface enumeration is best effort
        return found
    for adapter in adapters:
        for ip in adapter.ips:
            if not isinstance(ip.ip, str):
                continue
            address = ipaddress.ip_address(ip.ip)
            if address.is_loopback or address.is_link_local:
                continue
            if str(address) not in found:
                found.append(str(address))
    return found
