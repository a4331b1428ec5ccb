"""The /proc parsers, on text as Linux writes it."""

from __future__ import annotations

import os

from bench.procfs import (
    ESTABLISHED,
    parse_cpu_seconds,
    parse_machine_jiffies,
    parse_status_kb,
    parse_tcp_entry,
    read_cpu_seconds,
    read_status_kb,
)

STAT = (
    "4242 (python3 (odd) name) S 1 4242 4242 0 -1 4194560 2000 0 0 0 "
    "250 50 0 0 20 0 3 0 100 1000000 500 18446744073709551615"
)
STATUS = "Name:\tpython3\nVmHWM:\t   41756 kB\nVmRSS:\t   40480 kB\nThreads:\t3\n"
TCP = (
    "  sl local_address rem_address st tx_queue rx_queue tr tm->when retrnsmt uid timeout inode\n"
    "   0: 0100007F:1F90 0100007F:C350 01 003B9AC0:00000000 01:00000014 00000000 0 0 777 1\n"
    "   1: 0100007F:C350 0100007F:1F90 01 00000000:0001FB02 00:00000000 00000000 0 0 778 1\n"
    "   2: 0100007F:1F90 0100007F:C351 04 00001000:00000000 01:00000014 00000000 0 0 0 1\n"
)


def test_cpu_seconds_survive_a_name_with_parentheses() -> None:
    assert parse_cpu_seconds(STAT, ticks=100) == 3.0


def test_status_values_in_kib() -> None:
    assert parse_status_kb(STATUS, "VmRSS") == 40480
    assert parse_status_kb(STATUS, "VmHWM") == 41756
    assert parse_status_kb(STATUS, "VmSwap") is None


def test_machine_jiffies_count_idle_and_iowait_as_not_busy() -> None:
    assert parse_machine_jiffies("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n") == (150, 1000)


def test_tcp_entries_from_both_ends() -> None:
    server_side = parse_tcp_entry(TCP, 8080, 50000)
    assert server_side is not None
    assert (server_side.state, server_side.send_queue, server_side.inode) == (
        ESTABLISHED,
        3_906_240,
        777,
    )
    client_side = parse_tcp_entry(TCP, 50000, 8080)
    assert client_side is not None
    assert client_side.receive_queue == 129_794
    closed = parse_tcp_entry(TCP, 8080, 50001)
    assert closed is not None
    assert (closed.state_name, closed.inode) == ("FIN_WAIT1", 0)
    assert parse_tcp_entry(TCP, 8080, 1) is None


def test_this_process_can_be_read() -> None:
    assert (read_status_kb(os.getpid(), "VmRSS") or 0) > 0
    assert read_cpu_seconds(os.getpid()) is not None
    assert read_status_kb(2**22 + 1, "VmRSS") is None
