"""The presenter's trust decisions with a FakeView, fake sessions and in-memory trust:
first contact (accept, decline, advertised fingerprint matching or not), a changed
certificate, a server without TLS, reconnects with the pin, and servers remembered."""

from __future__ import annotations

from localchat.adapters.gui.connect import LOOKING, NOTHING_FOUND, ConnectForm
from localchat.adapters.gui.preferences import LastConnection
from localchat.domain.events import RoomsListed, RoomSummary
from localchat.domain.names import LOBBY
from localchat.ports.discovery import ServerEntry
from localchat.ports.session import (
    CertificateChanged,
    ConnectionDropped,
    ConnectionOpened,
    ConnectTarget,
    UnencryptedServerReached,
    UnknownCertificatePresented,
)
from tests.unit.gui.fakes import StaticDirectory
from tests.unit.gui.presenter_support import TARGET, Client

ADDRESS = "10.0.0.5:5050"
PRESENTED = "SHA256:" + ":".join(["AB"] * 32)
OTHER = "SHA256:" + ":".join(["CD"] * 32)


def first_contact(c: Client, advertised: str | None = None) -> None:
    c.feed(
        UnknownCertificatePresented(address=ADDRESS, fingerprint=PRESENTED, advertised=advertised)
    )


def connected(c: Client, fingerprint: str | None = PRESENTED) -> None:
    """The session's report of an opened connection, then the welcome."""
    c.session.emit(ConnectionOpened(address=ADDRESS, fingerprint=fingerprint))
    c.welcome()


def test_first_contact_shows_the_fingerprint_and_accepting_pins_and_connects() -> None:
    c = Client()
    c.presenter.start(TARGET, ConnectForm())
    first_contact(c)
    question = c.view.questions[-1]
    assert question.fingerprint == PRESENTED
    assert ADDRESS in question.text
    assert "printed when it started" in question.after
    assert question.warning == ""
    assert (question.yes, question.no) == ("Trust and connect", "Cancel")
    assert not c.view.chat_shown
    assert len(c.sessions.opened) == 1

    c.presenter.answer(question, yes=True)
    assert c.trust.pins == {ADDRESS: PRESENTED}
    assert len(c.sessions.opened) == 2  # a new session applies the pin
    assert c.session.target.host == TARGET.host
    connected(c)
    assert c.view.chat_shown
    assert c.view.security == (f"Encrypted (TLS) · server certificate {PRESENTED[:30]}…", False)
    assert f"The connection is encrypted; server certificate {PRESENTED}" in c.view.texts("#lobby")
    assert c.view.title == "LocalChat — ada on 10.0.0.5:5050"
    assert len(c.view.questions) == 1


def test_declining_a_first_contact_goes_back_to_the_dialog_without_pinning() -> None:
    c = Client()
    c.presenter.start(None, ConnectForm(host="10.0.0.5", name="ada"))
    assert c.view.dialog is not None
    c.view.dialog.submit("10.0.0.5", "5050", "ada")
    assert c.view.dialog_view is not None
    assert c.view.dialog_view.form.busy
    first_contact(c)
    c.presenter.answer(c.view.questions[-1], yes=False)
    assert c.trust.pins == {}
    assert len(c.sessions.opened) == 1
    form = c.view.dialog_view.form
    assert not form.busy
    assert form.error == f"Not connected: you did not trust the certificate of {ADDRESS}"
    assert c.view.dialogs_opened == 1  # the same dialog, back for another try


def test_the_fingerprint_announced_on_the_network_is_compared() -> None:
    matching = Client()
    matching.presenter.start(TARGET, ConnectForm())
    first_contact(matching, advertised=PRESENTED)
    question = matching.view.questions[-1]
    assert "matches the fingerprint the server announced" in question.after
    assert question.warning == ""

    impostor = Client()
    impostor.presenter.start(TARGET, ConnectForm())
    first_contact(impostor, advertised=OTHER)
    question = impostor.view.questions[-1]
    assert "does NOT match the fingerprint announced on the network" in question.warning
    assert OTHER in question.warning
    assert question.fingerprint == PRESENTED
    impostor.presenter.answer(question, yes=False)
    assert impostor.trust.pins == {}


def test_a_changed_certificate_is_refused_loudly_and_never_asked_about() -> None:
    c = Client()
    c.presenter.start(TARGET, ConnectForm())
    c.feed(CertificateChanged(address=ADDRESS, pinned=OTHER, presented=PRESENTED))
    assert c.view.questions == []
    alert = c.view.alerts[-1]
    assert "WARNING" in alert.title
    assert OTHER in alert.text
    assert PRESENTED in alert.text
    assert f"localchat trust {ADDRESS} --forget" in alert.text
    assert c.view.dialog_view is not None
    assert f"localchat trust {ADDRESS} --forget" in c.view.dialog_view.form.error
    assert len(c.sessions.opened) == 1
    assert c.trust.pins == {}


def test_a_certificate_changed_on_a_reconnect_is_refused_in_the_window() -> None:
    c = Client()
    c.presenter.start(TARGET, ConnectForm())
    connected(c)
    c.drop(code=None, retry_in=0.5)
    c.feed(CertificateChanged(address=ADDRESS, pinned=PRESENTED, presented=OTHER))
    assert c.view.banner is not None
    assert c.view.banner.startswith("Disconnected: Refused: the certificate of 10.0.0.5:5050")
    assert "--forget" in c.view.texts("#lobby")[-1]
    assert c.view.alerts
    assert len(c.sessions.opened) == 1  # nothing reconnects by itself
    assert c.view.dialog_view is not None
    assert "--forget" in c.view.dialog_view.form.error


def test_a_server_without_tls_is_asked_about_once_and_marked_not_encrypted() -> None:
    c = Client()
    c.presenter.start(ConnectTarget(host="10.0.0.5", name="ada", password="pw"), ConnectForm())
    c.feed(UnencryptedServerReached(address=ADDRESS))
    question = c.view.questions[-1]
    assert "does not encrypt" in question.title
    assert "your password" in question.text
    assert question.prompt == "Connect without encryption?"
    assert question.warning == ""
    c.presenter.answer(question, yes=True)
    assert c.trust.unencrypted == {ADDRESS}
    assert len(c.sessions.opened) == 2
    connected(c, fingerprint=None)
    assert c.view.security is not None
    assert c.view.security[1] is True
    assert c.view.security[0].startswith("NOT ENCRYPTED")
    assert c.view.title.endswith("(not encrypted)")
    assert "NOT encrypted" in c.view.texts("#lobby")[1]


def test_declining_an_unencrypted_server_remembers_nothing() -> None:
    c = Client()
    c.presenter.start(TARGET, ConnectForm())
    c.feed(UnencryptedServerReached(address=ADDRESS))
    c.presenter.answer(c.view.questions[-1], yes=False)
    assert c.trust.unencrypted == set()
    assert c.view.dialog_view is not None
    assert c.view.dialog_view.form.error == f"Not connected: {ADDRESS} does not encrypt"


def test_an_unencrypted_answer_from_a_server_announced_with_tls_is_suspicious() -> None:
    c = Client()
    announced = ConnectTarget(host="10.0.0.5", name="ada", advertised_fingerprint=PRESENTED)
    c.presenter.start(announced, ConnectForm())
    c.feed(UnencryptedServerReached(address=ADDRESS))
    assert "announced on the network as an encrypted server" in c.view.questions[-1].warning


def test_a_trusted_server_that_stops_encrypting_is_refused() -> None:
    c = Client()
    c.presenter.start(TARGET, ConnectForm())
    c.feed(UnencryptedServerReached(address=ADDRESS, pinned=PRESENTED))
    assert c.view.questions == []
    assert "no longer encrypts" in c.view.alerts[-1].title
    assert f"localchat trust {ADDRESS} --forget" in c.view.alerts[-1].text
    assert c.view.dialog_view is not None
    assert "no longer encrypts" in c.view.dialog_view.form.error
    assert c.trust.unencrypted == set()


def test_reconnects_reuse_the_pin_without_asking() -> None:
    c = Client()
    c.presenter.start(TARGET, ConnectForm())
    connected(c)
    c.feed(RoomsListed(rooms=(RoomSummary(room=LOBBY, members=2),)))
    lines = len(c.view.texts("#lobby"))
    c.drop(code=None, retry_in=0.5)
    connected(c)  # the same session reconnected; the pin held
    assert c.view.questions == []
    assert len(c.sessions.opened) == 1
    assert c.view.banner is None
    new_lines = c.view.texts("#lobby")[lines:]
    assert not any("encrypted" in line for line in new_lines)  # said once, not per reconnect
    assert c.view.security is not None
    assert c.view.security[1] is False


def test_only_the_open_question_is_answered_and_only_once() -> None:
    c = Client()
    c.presenter.start(TARGET, ConnectForm())
    first_contact(c)
    question = c.view.questions[-1]
    c.presenter.answer(question, yes=True)
    c.presenter.answer(question, yes=True)  # a double click
    assert len(c.sessions.opened) == 2
    first_contact(c)  # the new session met another certificate meanwhile
    c.presenter.answer(question, yes=True)  # the old question: ignored
    assert len(c.sessions.opened) == 2
    assert c.trust.pins == {ADDRESS: PRESENTED}


def test_an_answer_that_cannot_be_saved_is_said_and_not_retried() -> None:
    c = Client()
    c.trust.broken = True
    c.presenter.start(TARGET, ConnectForm())
    first_contact(c)
    c.presenter.answer(c.view.questions[-1], yes=True)
    assert len(c.sessions.opened) == 1
    assert c.view.dialog_view is not None
    assert c.view.dialog_view.form.error == ("Cannot remember your answer: No space left on device")


def test_servers_that_worked_are_remembered_and_offered() -> None:
    c = Client()
    c.preferences.last = LastConnection(
        host="10.0.0.9",
        port=6000,
        name="ada",
        recent=(ServerEntry(label="Attic", host="10.0.0.9", port=6000),),
    )
    c.presenter.start(ConnectTarget(host="10.0.0.5", name="ada", label="Team room"), ConnectForm())
    connected(c)
    assert c.preferences.last is not None
    assert c.preferences.last.recent == (
        ServerEntry(label="Team room", host="10.0.0.5", port=5050),
        ServerEntry(label="Attic", host="10.0.0.9", port=6000),
    )
    c.presenter.quit()

    later = Client()
    later.preferences.last = c.preferences.last
    later.presenter.start(None, ConnectForm())
    assert later.view.dialog_view is not None
    rows = later.view.dialog_view.form.servers
    assert [row.text for row in rows] == [
        "Team room — 10.0.0.5:5050 — used before",
        "Attic — 10.0.0.9:6000 — used before",
    ]
    assert later.view.dialog is not None
    later.view.dialog.server_activated(rows[1].entry, "ada")
    assert later.session.target == ConnectTarget(
        host="10.0.0.9", port=6000, name="ada", password="from-env", label="Attic"
    )


def test_the_dialog_lists_servers_found_and_carries_their_fingerprint() -> None:
    directory = StaticDirectory()
    directory.searching = True
    c = Client(directory=directory)
    c.preferences.last = LastConnection(
        host="10.0.0.5",
        port=5050,
        name="ada",
        recent=(ServerEntry(label="", host="10.0.0.5", port=5050),),
    )
    c.presenter.start(None, ConnectForm(name="ada"))
    dialog, view = c.view.dialog, c.view.dialog_view
    assert dialog is not None
    assert view is not None
    assert view.form.discovery == LOOKING
    assert [row.text for row in view.form.servers] == ["10.0.0.5:5050 — used before"]

    directory.searching = False
    dialog.refresh()
    assert view.form.discovery == NOTHING_FOUND
    assert "multicast" in NOTHING_FOUND
    assert "VPN" in NOTHING_FOUND
    assert "another subnet" in NOTHING_FOUND

    team = ServerEntry(
        label="Team room", host="10.0.0.5", port=5050, tls=True, fingerprint=PRESENTED
    )
    attic = ServerEntry(label="Attic", host="10.0.0.9", port=6000, tls=False, password=True)
    directory.entries = (attic, team)
    dialog.refresh()
    assert view.form.discovery == ""
    assert [row.text for row in view.form.servers] == [
        "Attic — 10.0.0.9:6000 — NOT encrypted, password",
        "Team room — 10.0.0.5:5050 — encrypted",  # found now: not listed twice
    ]
    dialog.server_activated(team, "ada")
    assert c.session.target.advertised_fingerprint == PRESENTED
    assert c.session.target.label == "Team room"
    first_contact(c, advertised=c.session.target.advertised_fingerprint)
    assert "matches" in c.view.questions[-1].after

    directory.entries = ()
    directory.problem = "no usable network interface"
    c.presenter.answer(c.view.questions[-1], yes=False)
    dialog.refresh()
    assert "Cannot look for servers on your network (no usable network interface)" in (
        view.form.discovery
    )


def test_a_typed_address_of_a_found_server_is_that_server() -> None:
    directory = StaticDirectory()
    directory.entries = (
        ServerEntry(label="Team room", host="10.0.0.5", port=5050, tls=True, fingerprint=OTHER),
    )
    c = Client(directory=directory)
    c.presenter.start(None, ConnectForm())
    assert c.view.dialog is not None
    c.view.dialog.submit("10.0.0.5", "5050", "ada")
    assert c.session.target.advertised_fingerprint == OTHER
    c.feed(UnknownCertificatePresented(address=ADDRESS, fingerprint=PRESENTED, advertised=OTHER))
    assert "does NOT match" in c.view.questions[-1].warning


def test_a_plain_client_at_a_tls_server_is_told_to_use_tls() -> None:
    c = Client()
    c.presenter.start(TARGET, ConnectForm())
    c.feed(ConnectionDropped(reason="this server requires TLS", code="tls_required"))
    assert c.view.dialog_view is not None
    assert c.view.dialog_view.form.error.startswith("This server requires encryption")
    assert "--no-tls" in c.view.dialog_view.form.error
