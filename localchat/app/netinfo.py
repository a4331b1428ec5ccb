"""Facts about this machine that the CLI prints or adjusts (no packets are sent)."""

from __future__ import annotations

import ipaddress
import logging

import ifaddr

log = logging.getLogger(__name__)


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


def raise_open_file_limit() -> None:
    """Lift the soft limit on open files to the hard one: each client is a descriptor."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # pragma: no cover
            log.debug("cannot raise the open-file limit from %d", soft)
