"""The composition root: the only place that names concrete adapters.

:func:`build_server` turns :class:`~localchat.app.settings.Settings` into a
:class:`~localchat.app.server.LocalChatServer`. Tests and embedding programs pass their
own ``transports``, ``store`` or ``clock`` (in-memory fakes, a fixed clock).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import platformdirs

from localchat.adapters.mdns.advertiser import (
    MdnsAdvertiser,
    NothingToAdvertise,
    advertisable_addresses,
)
from localchat.adapters.mdns.txt import ServerAdvert
from localchat.adapters.memory.store import InMemoryMessageStore
from localchat.adapters.sqlite.store import SqliteMessageStore
from localchat.adapters.system_clock import SystemClock
from localchat.adapters.tcp.transport import TcpServerTransport
from localchat.adapters.tls.certificate import (
    CertificateError,
    ServerCertificate,
    ensure_self_signed,
    load_certificate,
)
from localchat.app.dispatcher import Dispatcher
from localchat.app.netinfo import lan_addresses
from localchat.app.server import LocalChatServer
from localchat.app.services import ChatService, ServerPolicy
from localchat.app.settings import Settings, SettingsError
from localchat.domain.protocol import PROTOCOL_VERSION
from localchat.ports.clock import Clock
from localchat.ports.store import MessageStore, StoreError
from localchat.ports.transport import ServerTransport, TransportFactory, TransportOptions

TRANSPORT_GROUP = "localchat.transports"
MEMORY_STORE = ":memory:"
"""The ``store`` setting that keeps history in memory only (``--no-store``)."""


def installed_transports() -> dict[str, EntryPoint]:
    """The transports registered under the ``localchat.transports`` entry points, by name,
    not loaded: only the ones a server serves are imported (:func:`build_transports`)."""
    return {entry.name: entry for entry in entry_points(group=TRANSPORT_GROUP)}


def tls_directory() -> Path:
    """Where the self-signed certificate made on first start is kept."""
    return Path(platformdirs.user_data_dir("localchat")) / "tls"


def server_certificate(settings: Settings) -> ServerCertificate | None:
    """The certificate native transports serve (None with ``tls = false``).

    The person's own with ``tls_cert``/``tls_key``; otherwise the self-signed one in
    :func:`tls_directory`, made on first start and reused after, so that clients which
    pinned its fingerprint keep trusting the server.
    """
    if not settings.tls:
        return None
    try:
        if settings.tls_cert is not None and settings.tls_key is not None:
            return load_certificate(settings.tls_cert, settings.tls_key)
        return ensure_self_signed(tls_directory(), server_name(settings))
    except CertificateError as error:
        raise SettingsError(str(error)) from None


def transport_options(
    settings: Settings, certificate: ServerCertificate | None = None
) -> TransportOptions:
    """Options for every transport; TLS files only when ``certificate`` is given."""
    return TransportOptions(
        host=settings.host,
        port=settings.port,
        server_software="localchat",
        max_frame_bytes=settings.max_frame_bytes,
        max_outbound_bytes=settings.max_outbound_bytes,
        handshake_timeout=settings.handshake_timeout,
        ping_interval=settings.ping_interval,
        idle_timeout=settings.idle_timeout,
        rate_limit=settings.rate_limit,
        rate_burst=settings.rate_burst,
        max_pending=settings.max_clients,
        tls_cert_file=None if certificate is None else str(certificate.cert_file),
        tls_key_file=None if certificate is None else str(certificate.key_file),
    )


def build_transports(
    settings: Settings, certificate: ServerCertificate | None = None
) -> list[ServerTransport]:
    """Instantiate the configured transports; unknown names fail with the installed list."""
    available = installed_transports()
    names = settings.transport_names or ["tcp"]
    unknown = [name for name in names if name not in available]
    if unknown:
        raise SettingsError(
            f"unknown transport {unknown[0]!r}; installed: {', '.join(sorted(available))}"
        )
    options = transport_options(settings, certificate)
    factories: list[TransportFactory] = [available[name].load() for name in names]
    return [factory(options) for factory in factories]


def server_policy(settings: Settings) -> ServerPolicy:
    return ServerPolicy(
        max_clients=settings.max_clients,
        password=settings.password_value,
        max_text_chars=settings.max_text_chars,
        history_on_join=settings.history_on_join,
    )


def server_name(settings: Settings) -> str:
    return settings.server_name or socket.gethostname()


def default_store_path() -> Path:
    """``history.db`` in the user's data directory (e.g. ``~/.local/share/localchat``)."""
    return platformdirs.user_data_path("localchat", appauthor=False) / "history.db"


def store_path(settings: Settings) -> Path | None:
    """The history file the settings choose, or None for history in memory only."""
    if settings.store == MEMORY_STORE:
        return None
    if settings.store:
        return Path(settings.store).expanduser()
    return default_store_path()


def open_store(settings: Settings) -> MessageStore:
    """The store the settings choose; raises :class:`StoreError` (one line) if unusable."""
    path = store_path(settings)
    if path is None:
        return InMemoryMessageStore()
    if not settings.store:  # the default place may not exist yet; a chosen one must
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(
                f"cannot create the directory {path.parent}: {error.strerror or error}"
            ) from None
    return SqliteMessageStore.open(path)


def build_server(
    settings: Settings,
    *,
    transports: list[ServerTransport] | None = None,
    store: MessageStore | None = None,
    clock: Clock | None = None,
    certificate: ServerCertificate | None = None,
) -> LocalChatServer:
    """Wire a server; nothing is started (call ``start()``).

    Without ``transports``, the configured ones are built, over TLS with ``certificate``
    (resolved from the settings when not given, see :func:`server_certificate`). Without
    ``store``, the one the settings choose is opened (see :func:`open_store`); raises
    :class:`StoreError` or :class:`SettingsError` with one line for a person.
    """
    if transports is None:
        transports = build_transports(settings, certificate or server_certificate(settings))
    own_store = store is None
    store = open_store(settings) if store is None else store
    try:
        service = ChatService(
            clock=clock if clock is not None else SystemClock(),
            store=store,
            policy=server_policy(settings),
        )
    except BaseException:
        if own_store:
            store.close()
        raise
    return LocalChatServer(
        service=service,
        dispatcher=Dispatcher(service, store),
        transports=transports,
        store=store,
    )


@dataclass(frozen=True, slots=True)
class LanReach:
    """How other machines reach a started server: its native TCP transport, and the
    addresses for it (every LAN address for a wildcard bind, else the bound one; none for
    loopback). What the start-up hint prints and what mDNS announces."""

    transport: TcpServerTransport
    addresses: list[str]

    @property
    def every_interface(self) -> bool:
        """Bound to a wildcard (``0.0.0.0``, ``::``): the addresses are the LAN's."""
        return ipaddress.ip_address(self.transport.bound_host).is_unspecified


def lan_reach(server: LocalChatServer) -> LanReach | None:
    """See :class:`LanReach`; None without a native TCP transport. It enumerates the
    network interfaces: compute it once and pass it on."""
    tcp = next((t for t in server.transports if isinstance(t, TcpServerTransport)), None)
    if tcp is None:
        return None
    return LanReach(tcp, advertisable_addresses(tcp.bound_host, lan_addresses()))


def build_advertiser(
    settings: Settings,
    server: LocalChatServer,
    certificate: ServerCertificate | None,
    reach: LanReach | None,
) -> MdnsAdvertiser:
    """The mDNS announcement of a started server's native TCP transport (``reach``: its
    :func:`lan_reach`).

    Raises :class:`NothingToAdvertise` when it cannot be reached from other machines
    (bound to loopback, no TCP transport, no LAN address): then nothing is announced.
    """
    if reach is None:
        raise NothingToAdvertise("no native TCP transport is running")
    tcp = reach.transport
    if not reach.addresses:
        raise NothingToAdvertise(
            f"it listens on {tcp.bound_host} only, which no other machine reaches"
        )
    advert = ServerAdvert(
        name=server_name(settings),
        protocol=PROTOCOL_VERSION,
        password=settings.password is not None,
        tls=tcp.tls,
        fingerprint=None if certificate is None else certificate.fingerprint,
    )
    return MdnsAdvertiser(advert=advert, port=tcp.port, addresses=reach.addresses)
