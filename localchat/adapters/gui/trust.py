"""What the client says to a person about trusting a server: the questions and the warnings.

Pure text decisions for the presenter (no toolkit): the first-contact question with the
certificate fingerprint (and the one announced on the network, matched or not), the question
before talking to a server that does not encrypt, and the loud refusals when a trusted
server's certificate changes or its encryption disappears. Both views draw these: Tk as
dialogs, the terminal as ``[y/N]`` prompts and ``!!!`` lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from localchat.adapters.tls.known_servers import forget_command


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    """A yes/no question; the view answers with ``ChatIntents.answer(question, yes)``."""

    title: str
    text: str
    """The explanation; paragraphs separated by a blank line."""
    fingerprint: str = ""
    """Shown apart after ``text``, in a fixed-width font, selectable (people compare it)."""
    after: str = ""
    """Said after the fingerprint."""
    warning: str = ""
    """Something suspicious, shown loudly; empty when nothing is."""
    prompt: str
    """The question itself, for a terminal (``Trust this server and connect?``)."""
    yes: str
    """The accepting button."""
    no: str = "Cancel"


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """A loud notice with one button: something was refused for the person's safety."""

    title: str
    text: str


def first_contact(address: str, fingerprint: str, advertised: str | None) -> Question:
    """Nothing is trusted yet at ``address``: show what it presented, ask to trust it."""
    if advertised is None:
        check = (
            "Compare it with the fingerprint the server printed when it started (ask its "
            "operator). If they match, nobody is in the middle."
        )
        warning = ""
    elif advertised == fingerprint:
        check = "It matches the fingerprint the server announced on the network."
        warning = ""
    else:
        check = (
            "Compare it with the fingerprint the server printed when it started (ask its operator)."
        )
        warning = (
            f"It does NOT match the fingerprint announced on the network ({advertised}). "
            "Someone may be impersonating the server: do not connect unless the operator "
            "confirms the fingerprint above."
        )
    return Question(
        title="New server: check its identity",
        text=(
            f"This is your first connection to {address}. The connection is encrypted; "
            "the server's certificate fingerprint is:"
        ),
        fingerprint=fingerprint,
        after=(
            f"{check}\n\nIf you trust it, LocalChat remembers it and warns you if it ever changes."
        ),
        warning=warning,
        prompt="Trust this server and connect?",
        yes="Trust and connect",
    )


def unencrypted(address: str, *, announced_tls: bool, password: bool) -> Question:
    """``address`` does not speak TLS: ask before talking to it in clear text."""
    what = "your messages, your name and your password" if password else "your messages"
    warning = (
        "It was announced on the network as an encrypted server: someone may be impersonating it."
        if announced_tls
        else ""
    )
    return Question(
        title="This server does not encrypt",
        text=(
            f"The server at {address} runs without encryption (--no-tls). Anyone on the "
            f"network can read {what}, and change them.\n\n"
            "Use it only on a network you trust. LocalChat remembers your answer for this "
            "server and shows NOT ENCRYPTED while you are connected."
        ),
        warning=warning,
        prompt="Connect without encryption?",
        yes="Connect without encryption",
    )


def certificate_changed(address: str, pinned: str, presented: str) -> Alert:
    """The certificate of a trusted server changed: refuse, and say how to undo the pin."""
    return Alert(
        title="WARNING: the server's identity has changed",
        text=(
            f"The certificate of the server at {address} is not the one you trusted before. "
            "Someone may be intercepting the connection, or the server got a new "
            f"certificate.\n\nThe certificate you trusted:\n{pinned}\n"
            f"The certificate presented now:\n{presented}\n\n"
            "LocalChat did not connect. If the server's operator confirms the new "
            f"certificate, run:\n\n    {forget_command(address)}\n\nand connect again."
        ),
    )


def encryption_dropped(address: str, pinned: str) -> Alert:
    """A server trusted with TLS answers without it: a downgrade, refused."""
    return Alert(
        title="WARNING: the server no longer encrypts",
        text=(
            f"The server at {address} used to encrypt its connections (you trusted its "
            f"certificate {pinned}), and now it answers without encryption. Someone may be "
            "redirecting you to another server, or the operator turned encryption off.\n\n"
            "LocalChat did not connect. If the operator confirms that the server now runs "
            f"without encryption, run:\n\n    {forget_command(address)}\n\nand connect again."
        ),
    )


def short_fingerprint(fingerprint: str, pairs: int = 8) -> str:
    """``SHA256:AB:CD:...`` cut to its first ``pairs`` bytes, for a status line."""
    head, _, digits = fingerprint.partition(":")
    parts = digits.split(":")
    if len(parts) <= pairs:
        return fingerprint
    return f"{head}:{':'.join(parts[:pairs])}…"


def security_note(fingerprint: str | None) -> str:
    """The status line about the current connection's protection."""
    if fingerprint is None:
        return "NOT ENCRYPTED: anyone on the network can read this chat"
    return f"Encrypted (TLS) · server certificate {short_fingerprint(fingerprint)}"
