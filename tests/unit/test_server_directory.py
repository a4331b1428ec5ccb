"""The discovery model: only what answers is shown, one entry per server, best address first."""

from __future__ import annotations

from localchat.adapters.mdns.directory import DiscoveryModel, address_rank
from localchat.adapters.mdns.txt import ServerAdvert
from localchat.adapters.tls.fingerprint import Fingerprint

FP = Fingerprint(b"\x01" * 32)
ROOM = ServerAdvert(name="Team room", tls=True, fingerprint=FP)


def _answer(directory: DiscoveryModel, now: float, up: set[str]) -> None:
    for address, port in directory.probes_due(now):
        directory.probed((address, port), address in up, now)


def test_nothing_is_shown_before_an_address_answers() -> None:
    directory = DiscoveryModel()
    directory.announced("a", ROOM, ["10.0.0.5"], 5050)
    assert directory.servers() == ()
    assert directory.probes_due(0.0) == [("10.0.0.5", 5050)]
    assert directory.probes_due(0.0) == []  # already being checked
    assert directory.probed(("10.0.0.5", 5050), True, 0.0)
    (server,) = directory.servers()
    assert (server.name, server.host, server.port, server.tls) == (
        "Team room",
        "10.0.0.5",
        5050,
        True,
    )
    assert server.fingerprint == str(FP)


def test_addresses_that_do_not_answer_are_skipped() -> None:
    directory = DiscoveryModel()
    directory.announced("a", ROOM, ["172.17.0.1", "10.0.0.5", "10.8.0.2"], 5050)
    _answer(directory, 0.0, up={"10.0.0.5"})
    (server,) = directory.servers()
    assert server.addresses == ("10.0.0.5",)
    directory.announced("dead", ServerAdvert(name="Gone"), ["10.9.9.9"], 5050)
    _answer(directory, 1.0, up=set())
    assert [s.name for s in directory.servers()] == ["Team room"]


def test_one_server_on_several_interfaces_is_one_entry() -> None:
    directory = DiscoveryModel()
    directory.announced("Team room (vm:5050)", ROOM, ["fe80::1%eth0", "192.168.1.5"], 5050)
    # the same server again under a conflict-renamed instance, seen on another interface
    directory.announced("Team room (vm:5050) (2)", ROOM, ["10.0.0.5"], 5050)
    _answer(directory, 0.0, up={"fe80::1%eth0", "192.168.1.5", "10.0.0.5"})
    (server,) = directory.servers()
    assert server.addresses == ("192.168.1.5", "10.0.0.5", "fe80::1%eth0")
    assert server.host == "192.168.1.5"


def test_announcements_sharing_an_endpoint_are_one_server() -> None:
    directory = DiscoveryModel()
    plain = ServerAdvert(name="Plain", tls=False)
    directory.announced("x", plain, ["10.0.0.5"], 6000)
    directory.announced("y", plain, ["10.0.0.5", "10.0.0.6"], 6000)
    _answer(directory, 0.0, up={"10.0.0.5", "10.0.0.6"})
    assert len(directory.servers()) == 1


def test_several_servers_on_one_host_stay_apart() -> None:
    directory = DiscoveryModel()
    directory.announced("a", ROOM, ["10.0.0.5"], 5050)
    directory.announced("b", ROOM, ["10.0.0.5"], 5051)  # same certificate, other port
    directory.announced("c", ServerAdvert(name="Another", tls=False), ["10.0.0.5"], 6000)
    _answer(directory, 0.0, up={"10.0.0.5"})
    assert [(s.name, s.port) for s in directory.servers()] == [
        ("Another", 6000),
        ("Team room", 5050),
        ("Team room", 5051),
    ]


def test_withdrawn_servers_disappear_and_their_endpoints_are_forgotten() -> None:
    directory = DiscoveryModel()
    directory.announced("a", ROOM, ["10.0.0.5"], 5050)
    _answer(directory, 0.0, up={"10.0.0.5"})
    version = directory.version
    assert directory.withdrawn("a")
    assert directory.servers() == ()
    assert directory.version == version + 1
    assert directory.next_probe_at() is None
    assert not directory.withdrawn("a")


def test_answers_are_checked_again_and_silent_addresses_retried() -> None:
    directory = DiscoveryModel(recheck_up=30.0, retry_down=10.0)
    directory.announced("a", ROOM, ["10.0.0.5", "10.0.0.6"], 5050)
    _answer(directory, 0.0, up={"10.0.0.5"})
    assert directory.next_probe_at() == 10.0
    assert directory.probes_due(9.9) == []
    assert directory.probes_due(10.0) == [("10.0.0.6", 5050)]
    directory.probed(("10.0.0.6", 5050), True, 10.0)
    assert directory.servers()[0].addresses == ("10.0.0.5", "10.0.0.6")
    assert directory.probes_due(30.0) == [("10.0.0.5", 5050)]
    directory.probed(("10.0.0.5", 5050), False, 30.0)  # it stopped answering
    assert directory.servers()[0].addresses == ("10.0.0.6",)


def test_a_new_announcement_replaces_the_addresses() -> None:
    directory = DiscoveryModel()
    directory.announced("a", ROOM, ["10.0.0.5"], 5050)
    _answer(directory, 0.0, up={"10.0.0.5", "10.0.0.7"})
    directory.announced("a", ROOM, ["10.0.0.7"], 5050)
    assert directory.servers() == ()  # the new address is not checked yet
    _answer(directory, 1.0, up={"10.0.0.7"})
    assert directory.servers()[0].addresses == ("10.0.0.7",)


def test_the_version_moves_only_when_the_list_changes() -> None:
    directory = DiscoveryModel()
    directory.announced("a", ROOM, ["10.0.0.5"], 5050)
    assert directory.version == 0
    _answer(directory, 0.0, up={"10.0.0.5"})
    assert directory.version == 1
    assert not directory.announced("a", ROOM, ["10.0.0.5"], 5050)
    assert directory.version == 1


def test_address_rank() -> None:
    ranked = sorted(
        ["fe80::1", "169.254.1.1", "2001:db8::1", "10.0.0.1", "host.local"], key=address_rank
    )
    assert ranked == ["10.0.0.1", "2001:db8::1", "host.local", "169.254.1.1", "fe80::1"]
