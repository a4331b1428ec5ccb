"""Does anything answer at an address? A TCP connect to each, all at once, then closed.

Why a connect and not a LocalChat hello: it is enough to skip addresses that lead nowhere
(a VPN adapter, a stale VM bridge, another subnet), costs the server one accepted socket that
closes at once, and works the same for TLS and plain ports.
"""

from __future__ import annotations

import errno
import selectors
import socket
import time
from collections.abc import Sequence

from localchat.adapters.mdns.directory import Endpoint


def probe_all(endpoints: Sequence[Endpoint], timeout: float) -> dict[Endpoint, bool]:
    """Connect to every endpoint in parallel; True for each that accepted within ``timeout``."""
    results = dict.fromkeys(endpoints, False)
    selector = selectors.DefaultSelector()
    pending: dict[int, tuple[socket.socket, Endpoint]] = {}
    try:
        for endpoint in endpoints:
            started = _start_connect(endpoint)
            if started is not None:
                pending[started.fileno()] = (started, endpoint)
                selector.register(started, selectors.EVENT_WRITE)
        deadline = time.monotonic() + timeout
        while pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for key, _ in selector.select(remaining):
                sock, endpoint = pending.pop(key.fd)
                selector.unregister(sock)
                results[endpoint] = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
                sock.close()
    finally:
        for sock, _ in pending.values():
            sock.close()
        selector.close()
    return results


def _start_connect(endpoint: Endpoint) -> socket.socket | None:
    address, port = endpoint
    try:
        infos = socket.getaddrinfo(
            address, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
        )
    except socket.gaierror:
        return None
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setblocking(False)
    code = sock.connect_ex(sockaddr)
    if code not in (0, errno.EINPROGRESS):
        sock.close()
        return None
    return sock
