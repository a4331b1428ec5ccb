"""Fan-out throughput over TLS as a fraction of plain TCP, measured in one run.

    make bench ARGS="--tls -- [--clients 50] [--senders 10] [--seconds 2] [--rounds 2]"

Starts the same ``localchat run-server`` build twice on 127.0.0.1 (``--no-tls`` and
``--tls`` with a throw-away certificate; always ``--no-advertise``) and drives both, in
alternating rounds, with the same load generator: ``clients`` connections in ``#lobby``,
``senders`` of them posting as fast as a window of unacknowledged messages allows (the
echo is the acknowledgement). It prints, per mode, the deliveries per second (message
frames received, summed over all clients; best round) and the server's CPU time per
delivery (from /proc), then two ratios TLS / plain (target: at least 0.7):

* throughput: what this one machine achieves. The generator decrypts for all its clients
  on one core, work that real clients do on their own machines, so when the generator is
  the bottleneck this ratio understates the server;
* server CPU efficiency: plain CPU per delivery / TLS CPU per delivery, the server's own
  cost of encryption, which holds whoever the bottleneck is.

The generator is one process, one thread, a selector over raw sockets; TLS uses the
project's :class:`~localchat.adapters.tls.channel.TlsChannel`, so both modes share every
line but the encryption. chatload does not speak TLS; this script exists for that reason.
Keep runs short on a shared machine. The servers are :class:`bench.server.ServerProcess`
(scratch folder, flood control off), with their data and config directories in a temporary
folder. (Other benchmarks run their servers with ``--no-tls``.)
"""

from __future__ import annotations

import argparse
import selectors
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.procfs import read_cpu_seconds
from bench.server import ServerError, ServerProcess, localchat_command, server_environment
from localchat.adapters.tcp.client import CLIENT_MAX_FRAME_BYTES
from localchat.adapters.tls.certificate import ensure_self_signed
from localchat.adapters.tls.channel import TlsChannel, client_context
from localchat.adapters.wire import packets as p
from localchat.adapters.wire.framing import FrameDecoder
from localchat.adapters.wire.schema import ServerPacket, encode_packet, parse_server_packet

WINDOW = 32
TEXT = "benchmark message " * 5


@dataclass
class Client:
    name: str
    sock: socket.socket
    tls: TlsChannel | None
    decoder: FrameDecoder = field(default_factory=lambda: FrameDecoder(CLIENT_MAX_FRAME_BYTES))
    marker: bytes = b""
    in_flight: int = 0
    received: int = 0
    unsent: bytearray = field(default_factory=bytearray)

    def wire(self, data: bytes) -> bytes:
        return data if self.tls is None else self.tls.encrypt(data)


def start_server(mode: str, tls_args: list[str], env: dict[str, str]) -> ServerProcess:
    """A ``localchat run-server`` on loopback that never announces itself, history in memory
    (both servers run at once, and the store is not what is compared)."""
    command = localchat_command(["--no-advertise", "--no-store", *tls_args])
    server = ServerProcess(command, label=f"tls-bench-{mode}", env=env)
    try:
        server.wait_ready()
    except ServerError as error:
        server.stop()
        raise SystemExit(str(error)) from None
    return server


def connect(port: int, name: str, use_tls: bool) -> Client:
    """A registered client (blocking set-up), then switched to non-blocking."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client = Client(name, sock, None)
    if use_tls:
        channel = TlsChannel(client_context(), server_side=False)
        sock.sendall(channel.start())
        while not channel.established:
            client.decoder.receive_data(channel.receive(sock.recv(65536)))
            sock.sendall(channel.take_output())
        client.tls = channel
    sock.sendall(client.wire(encode_packet(p.Hello(name=name, protocol=1))))
    while not any(isinstance(k, p.Welcome) for k in read_blocking(client)):
        pass
    sock.setblocking(False)
    return client


def read_blocking(client: Client) -> list[ServerPacket]:
    data = client.sock.recv(65536)
    if not data:
        raise SystemExit(f"{client.name}: the server closed the connection")
    if client.tls is not None:
        data = client.tls.receive(data)
    client.decoder.receive_data(data)
    packets: list[ServerPacket] = []
    while (payload := client.decoder.next_frame()) is not None:
        packets.append(parse_server_packet(payload))
    return packets


def send(client: Client, data: bytes) -> None:
    client.unsent += client.wire(data)
    try:
        sent = client.sock.send(client.unsent)
    except BlockingIOError:
        return
    del client.unsent[:sent]


def on_readable(client: Client, buffer: bytearray, view: memoryview) -> int:
    """Read what is there; return the number of message frames it completed."""
    try:
        count = client.sock.recv_into(buffer)
    except BlockingIOError:
        return 0
    if not count:
        raise SystemExit(f"{client.name}: the server closed the connection")
    data: bytes | memoryview = view[:count]
    if client.tls is not None:
        data = client.tls.receive(data)
    decoder = client.decoder
    decoder.receive_data(data)
    frames = 0
    marker = client.marker
    while (payload := decoder.next_frame()) is not None:
        frames += 1
        if marker and marker in payload:
            client.in_flight -= 1
    return frames


@dataclass
class Round:
    deliveries: int
    seconds: float
    server_cpu: float

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds

    @property
    def cpu_per_delivery(self) -> float:
        return self.server_cpu / self.deliveries


def server_cpu(server: ServerProcess) -> float:
    """CPU seconds (user + system) the server has used (Linux /proc)."""
    seconds = read_cpu_seconds(server.pid)
    if seconds is None:
        raise SystemExit(f"{server.label}: the server is gone")
    return seconds


def run_load(server: ServerProcess, use_tls: bool, tag: str, args: argparse.Namespace) -> Round:
    """One measured round against one server (after everyone is registered)."""
    people = [connect(server.port, f"{tag}u{i:03d}", use_tls) for i in range(args.clients)]
    senders = people[: args.senders]
    for client in senders:
        client.marker = f'"sender":"{client.name}"'.encode()
    selector = selectors.DefaultSelector()
    for client in people:
        selector.register(client.sock, selectors.EVENT_READ, client)
    buffer = bytearray(262_144)
    view = memoryview(buffer)
    settle = time.monotonic() + 0.5  # let the joined/user_list traffic of registration pass
    while time.monotonic() < settle:
        for key, _ in selector.select(0.05):
            on_readable(key.data, buffer, view)
    frame = encode_packet(p.Say(text=TEXT, room="#lobby"))
    delivered = 0
    cpu_before = server_cpu(server)
    started = time.monotonic()
    deadline = started + args.seconds
    while (now := time.monotonic()) < deadline:
        for client in senders:
            while client.in_flight < WINDOW:
                send(client, frame)
                client.in_flight += 1
        for key, _ in selector.select(0.05):
            delivered += on_readable(key.data, buffer, view)
    cpu = server_cpu(server) - cpu_before
    selector.close()
    for client in people:
        client.sock.close()
    return Round(delivered, now - started, cpu)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=2.0, help="per round")
    parser.add_argument("--rounds", type=int, default=2, help="per mode, alternating")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            **server_environment(),
            "XDG_DATA_HOME": f"{scratch}/data",
            "XDG_CONFIG_HOME": f"{scratch}/config",
        }
        certificate = ensure_self_signed(Path(scratch) / "tls", "bench")
        own_certificate = ["--tls-cert", str(certificate.cert_file)]
        own_certificate += ["--tls-key", str(certificate.key_file)]
        servers = {"plain": start_server("plain", ["--no-tls"], env)}
        rounds: dict[str, list[Round]] = {"plain": [], "tls": []}
        try:
            servers["tls"] = start_server("tls", ["--tls", *own_certificate], env)
            for number in range(args.rounds):
                for mode, server in servers.items():
                    result = run_load(server, mode == "tls", f"r{number}", args)
                    rounds[mode].append(result)
                    print(
                        f"  round {number + 1} {mode:>5}: {result.rate:>9,.0f} deliveries/s, "
                        f"server {1e6 * result.cpu_per_delivery:.2f} CPU-us/delivery",
                        flush=True,
                    )
        finally:
            for server in servers.values():
                server.stop()
    best = {mode: max(r.rate for r in results) for mode, results in rounds.items()}
    cpu = {
        mode: sum(r.server_cpu for r in results) / sum(r.deliveries for r in results)
        for mode, results in rounds.items()
    }
    print(
        f"fan-out, {args.clients} clients, {args.senders} senders, "
        f"{args.rounds} x {args.seconds:g} s per mode:"
    )
    for mode in ("plain", "tls"):
        print(
            f"{mode:>5}: {best[mode]:>9,.0f} deliveries/s (best round), "
            f"server {1e6 * cpu[mode]:.2f} CPU-us per delivery"
        )
    print(
        f"ratio TLS/plain: throughput {best['tls'] / best['plain']:.2f}, "
        f"server CPU efficiency {cpu['plain'] / cpu['tls']:.2f} (target >= 0.70)"
    )


if __name__ == "__main__":
    main()
