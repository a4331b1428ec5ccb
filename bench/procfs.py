"""What Linux's /proc says about the server, the generator and one TCP connection.

The parsers are pure (text in, numbers out) so they are tested on sample text; the
``read_*`` functions add the file access and answer None when a process is gone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
ESTABLISHED = 1
TCP_STATES = {
    1: "ESTABLISHED",
    2: "SYN_SENT",
    3: "SYN_RECV",
    4: "FIN_WAIT1",
    5: "FIN_WAIT2",
    6: "TIME_WAIT",
    7: "CLOSE",
    8: "CLOSE_WAIT",
    9: "LAST_ACK",
    10: "LISTEN",
    11: "CLOSING",
}


@dataclass(frozen=True, slots=True)
class TcpEntry:
    """One line of /proc/net/tcp: a socket seen from its own side."""

    state: int
    send_queue: int
    """Bytes sent by this side and not yet acknowledged (unsent included)."""
    receive_queue: int
    """Bytes received by this side and not yet read by its process."""
    inode: int
    """0 once no process holds the socket (closed, the kernel still flushing it)."""

    @property
    def state_name(self) -> str:
        return TCP_STATES.get(self.state, str(self.state))


def parse_cpu_seconds(stat: str, ticks: int = CLOCK_TICKS) -> float:
    """utime + stime of a /proc/PID/stat line, in seconds (all threads)."""
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / ticks


def parse_status_kb(status: str, key: str) -> int | None:
    """A ``Key:  123 kB`` value of /proc/PID/status (VmRSS, VmHWM...)."""
    for line in status.splitlines():
        name, _, rest = line.partition(":")
        if name == key:
            return int(rest.split()[0])
    return None


def parse_machine_jiffies(stat: str) -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from the first line of /proc/stat."""
    values = [int(v) for v in stat.splitlines()[0].split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def parse_tcp_entry(table: str, local_port: int, remote_port: int) -> TcpEntry | None:
    """The socket with these ports in a /proc/net/tcp (or tcp6) table, if any."""
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        if int(fields[1].rsplit(":", 1)[1], 16) != local_port:
            continue
        if int(fields[2].rsplit(":", 1)[1], 16) != remote_port:
            continue
        send_queue, receive_queue = (int(v, 16) for v in fields[4].split(":"))
        return TcpEntry(int(fields[3], 16), send_queue, receive_queue, int(fields[9]))
    return None


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def read_cpu_seconds(pid: int) -> float | None:
    text = _read(f"/proc/{pid}/stat")
    return None if text is None else parse_cpu_seconds(text)


def read_status_kb(pid: int, key: str) -> int | None:
    text = _read(f"/proc/{pid}/status")
    return None if text is None else parse_status_kb(text, key)


def read_machine_jiffies() -> tuple[int, int]:
    text = _read("/proc/stat")
    return (0, 0) if text is None else parse_machine_jiffies(text)


def read_tcp_entry(local_port: int, remote_port: int) -> TcpEntry | None:
    """The socket bound to ``local_port`` and connected to ``remote_port`` on this machine."""
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        text = _read(path)
        entry = None if text is None else parse_tcp_entry(text, local_port, remote_port)
        if entry is not None:
            return entry
    return None
