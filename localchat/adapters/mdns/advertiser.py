"""The server side of discovery: announce ``_localchat._tcp.local.`` with zeroconf.

Network safety by construction: only addresses that :func:`advertisable_addresses` lets
through are announced, and zeroconf is told to use exactly those interfaces. A server bound
to loopback has none, so it cannot announce anything, whatever the settings say.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Sequence

from zeroconf import IPVersion, ServiceInfo, Zeroconf

from localchat.adapters.mdns.txt import SERVICE_TYPE, ServerAdvert, encode_txt, instance_name

log = logging.getLogger(__name__)


class NothingToAdvertise(Exception):
    """The server listens on no address other machines could reach."""


def advertisable_addresses(bound_host: str, interface_addresses: Sequence[str]) -> list[str]:
    """The addresses to announce for a server bound to ``bound_host``.

    A wildcard bind (``0.0.0.0``; ``::`` adds IPv6) means every interface address of that
    family; a specific address means itself. Loopback, unspecified and IPv6 link-local
    addresses (unusable without a scope) are never announced.
    """
    host = bound_host.strip("[]")
    try:
        bound = ipaddress.ip_address(host or "0.0.0.0")
    except ValueError:
        return []
    if bound.is_unspecified:
        families = (4,) if bound.version == 4 else (4, 6)
        candidates = list(interface_addresses)
    else:
        families = (bound.version,)
        candidates = [host]
    found: list[str] = []
    for candidate in candidates:
        try:
            ip = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if ip.version not in families or ip.is_loopback or ip.is_unspecified:
            continue
        if ip.version == 6 and ip.is_link_local:
            continue
        if str(ip) not in found:
            found.append(str(ip))
    return found


class MdnsAdvertiser:
    """Announces one server until :meth:`close` (which says goodbye on the network)."""

    def __init__(
        self,
        *,
        advert: ServerAdvert,
        port: int,
        addresses: Sequence[str],
    ) -> None:
        # every family, IPv4 first (a stable sort keeps each family in interface order)
        safe = sorted(advertisable_addresses("::", addresses), key=lambda a: ":" in a)
        if not safe:
            raise NothingToAdvertise("no address other machines could reach")
        self._addresses = safe
        host = socket.gethostname().split(".", 1)[0] or "localchat"
        self._info = ServiceInfo(
            SERVICE_TYPE,
            f"{instance_name(advert.name, host, port)}.{SERVICE_TYPE}",
            port=port,
            properties=encode_txt(advert),
            server=f"{host}.local.",
            parsed_addresses=safe,
        )
        self._zeroconf: Zeroconf | None = None

    @property
    def addresses(self) -> list[str]:
        return list(self._addresses)

    @property
    def instance(self) -> str:
        """The registered instance name (zeroconf renames it on a conflict)."""
        return self._info.name

    def start(self) -> None:
        """Probe for the name and announce it (about a second; blocks)."""
        version = IPVersion.V4Only if all(":" not in a for a in self._addresses) else IPVersion.All
        self._zeroconf = Zeroconf(interfaces=self._addresses, ip_version=version)
        try:
            self._zeroconf.register_service(self._info, allow_name_change=True)
        except BaseException:
            self._zeroconf.close()
            self._zeroconf = None
            raise
        log.info("announced %r on %s", self.instance, ", ".join(self._addresses))

    def close(self) -> None:
        """Withdraw the announcement (goodbye packets) and stop."""
        zeroconf, self._zeroconf = self._zeroconf, None
        if zeroconf is None:
            return
        try:
            zeroconf.unregister_all_services()
        finally:
            zeroconf.close()
