"""Real Tk windows meeting a TLS server and a (fake) discovery source: the fingerprint
question, trusting and chatting, no question the second time, a changed certificate
refused, servers listed live in the connect dialog and a double click connecting, and
"nothing found" explained. No packet leaves 127.0.0.1: discovery here is a fake."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.server import free_port
from localchat.adapters.gui.connect import NOTHING_FOUND
from localchat.adapters.gui.discovery_feed import DiscoveryFeed
from localchat.adapters.tcp.client import ChatClient, TlsTrust
from localchat.adapters.tls.known_servers import KnownServers, ServerAddress, user_known_servers
from localchat.adapters.wire import packets as p
from tests.fakes import OTHER_FINGERPRINT, FakeDiscovery, discovered
from tests.integration.gui.windows import TkClient, spin
from tests.integration.support import next_packet
from tests.servers import RunningServer


def observer(server: RunningServer, tmp_path: Path) -> ChatClient:
    """A library client over TLS, with pins of its own."""
    trust = TlsTrust(known_servers=KnownServers(tmp_path / "observer_pins"), accept_new=True)
    return server.connect("obs", tls=trust)


@pytest.fixture
def feeds() -> Iterator[list[DiscoveryFeed]]:
    made: list[DiscoveryFeed] = []
    yield made
    for feed in made:
        feed.close()


def test_first_contact_asks_then_chats_and_the_next_start_does_not_ask(
    start_server: Callable[..., RunningServer],
    open_window: Callable[..., TkClient],
    tmp_path: Path,
) -> None:
    server = start_server(tls=True)
    watcher = observer(server, tmp_path)
    ada = open_window(server.port, "ada", tls=True)
    question = spin(ada, until=lambda: ada.view.question, what="the fingerprint question")
    assert question.fingerprint is not None
    assert question.fingerprint.get() == str(server.fingerprint)
    assert f"first connection to 127.0.0.1:{server.port}" in question.question.text
    assert ada.root.state() == "withdrawn"  # nothing is shown as connected yet
    assert user_known_servers().all() == {}

    question.yes_button.invoke()
    spin(ada, until=ada.connected, what="the chat window")
    assert (
        user_known_servers().get(ServerAddress.of("127.0.0.1", server.port)) == server.fingerprint
    )
    assert ada.view.security.cget("text").startswith("Encrypted (TLS)")
    assert f"server certificate {server.fingerprint}" in ada.log()
    ada.type("hello over TLS")
    said = next_packet(watcher, p.ChatMessage, timeout=10)
    assert (said.sender, said.text) == ("ada", "hello over TLS")
    ada.presenter.quit()

    again = open_window(server.port, "ada", tls=True)
    spin(again, until=again.connected, what="the second start to connect")
    assert again.view.question is None
    again.type("no question this time")
    assert next_packet(watcher, p.ChatMessage, timeout=10).text == "no question this time"


def test_declining_the_fingerprint_goes_back_to_the_dialog(
    start_server: Callable[..., RunningServer], open_window: Callable[..., TkClient]
) -> None:
    server = start_server(tls=True)
    ada = open_window(server.port, "ada", tls=True)
    question = spin(ada, until=lambda: ada.view.question, what="the fingerprint question")
    question.no_button.invoke()
    dialog = spin(ada, until=lambda: ada.view.dialog, what="the connect dialog")
    assert "did not trust the certificate" in dialog.error.cget("text")
    assert user_known_servers().all() == {}


def test_a_changed_certificate_is_a_loud_refusal(
    start_server: Callable[..., RunningServer], open_window: Callable[..., TkClient]
) -> None:
    server = start_server(tls=True)
    address = ServerAddress.of("127.0.0.1", server.port)
    user_known_servers().pin(address, OTHER_FINGERPRINT)
    ada = open_window(server.port, "ada", tls=True)
    alert = spin(ada, until=lambda: ada.view.alert, what="the warning")
    assert alert.window.winfo_exists()
    text = alert.text.cget("text")
    assert f"localchat trust {address} --forget" in text
    assert str(OTHER_FINGERPRINT) in text
    assert str(server.fingerprint) in text
    assert ada.view.question is None
    dialog = spin(ada, until=lambda: ada.view.dialog, what="the connect dialog")
    assert "--forget" in dialog.error.cget("text")
    assert not ada.connected()
    assert user_known_servers().get(address) == OTHER_FINGERPRINT
    alert.close_button.invoke()
    assert alert.closed


def test_the_dialog_lists_servers_found_live_and_a_double_click_connects(
    start_server: Callable[..., RunningServer],
    open_window: Callable[..., TkClient],
    feeds: list[DiscoveryFeed],
) -> None:
    server = start_server(tls=True)
    fake = FakeDiscovery()
    feed = DiscoveryFeed(fake)
    feeds.append(feed)
    window = open_window(None, "ada", tls=True, directory=feed)
    dialog = spin(window, until=lambda: window.view.dialog, what="the connect dialog")
    spin(window, until=lambda: fake.started, what="discovery to start")

    team = discovered("Team room", server.port, fingerprint=str(server.fingerprint))
    attic = discovered("Attic", free_port(), password=True)
    fake.publish(team, attic)
    spin(window, until=lambda: dialog.servers.size() == 2, what="two servers listed")
    assert dialog.servers.get(0, "end") == (
        f"Attic — 127.0.0.1:{attic.port} — NOT encrypted, password",
        f"Team room — 127.0.0.1:{server.port} — encrypted",
    )
    fake.publish(team)  # the attic went away
    spin(window, until=lambda: dialog.servers.size() == 1, what="the attic to disappear")

    x, y, _, height = dialog.servers.bbox(0)
    for kind in ("<ButtonPress-1>", "<ButtonRelease-1>", "<ButtonPress-1>"):
        dialog.servers.event_generate(kind, x=x + 2, y=y + height // 2)
    question = spin(window, until=lambda: window.view.question, what="the fingerprint question")
    assert "It matches the fingerprint the server announced" in question.question.after
    assert question.warning is None
    question.yes_button.invoke()
    spin(window, until=window.connected, what="the chat window")
    assert "Connected to 127.0.0.1" in window.log()


def test_when_nothing_is_found_the_dialog_says_why(
    open_window: Callable[..., TkClient], feeds: list[DiscoveryFeed]
) -> None:
    feed = DiscoveryFeed(FakeDiscovery(), search_seconds=0.3)
    feeds.append(feed)
    window = open_window(None, "ada", tls=True, directory=feed)
    dialog = spin(window, until=lambda: window.view.dialog, what="the connect dialog")
    spin(
        window,
        until=lambda: dialog.discovery.cget("text") == NOTHING_FOUND,
        what="the explanation",
    )
    assert dialog.discovery.winfo_ismapped()
    assert dialog.servers.size() == 0
    assert str(dialog.fields["host"].cget("state")) == "normal"  # manual entry stays open
