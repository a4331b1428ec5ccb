"""Domain errors: one leaf per rule, each with the stable code that goes on the wire.

::

    DomainError
    ├── fatal (the server closes the connection after sending it)
    │   ├── NameTaken            name_taken
    │   ├── InvalidName          invalid_name
    │   ├── AuthFailed           auth_failed
    │   ├── ServerFull           server_full
    │   ├── UnsupportedProtocol  unsupported_protocol
    │   └── NotRegistered        not_registered
    └── non-fatal (the connection stays open)
        ├── AlreadyRegistered    already_registered
        ├── NotInRoom            not_in_room
        ├── AlreadyInRoom        already_in_room
        ├── InvalidRoom          invalid_room
        ├── NoSuchRoom           no_such_room
        ├── NoSuchUser           no_such_user
        ├── InvalidText          invalid_text
        └── StoreUnavailable     store_unavailable

Whether an error is fatal is a property of its code (PROTOCOL.md §5), so it is a class
attribute, not a per-instance choice. The ``message`` is for people; programs match on
``code``.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from localchat.domain.protocol import PROTOCOL_VERSION


class CodedError(Protocol):
    """Anything that becomes an ``error`` on the wire: a :class:`DomainError`, a transport's
    own protocol error, a ``CommandRejected`` event. Read-only, so class attributes qualify."""

    @property
    def code(self) -> str: ...

    @property
    def message(self) -> str: ...

    @property
    def fatal(self) -> bool: ...


class DomainError(Exception):
    """Base of every chat rule violation."""

    code: ClassVar[str] = "domain_error"
    fatal: ClassVar[bool] = False
    default_message: ClassVar[str] = "the request broke a chat rule"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class NameTaken(DomainError):
    code = "name_taken"
    fatal = True
    default_message = "that name is taken; choose another"


class InvalidName(DomainError):
    code = "invalid_name"
    fatal = True
    default_message = "a name is 1 to 32 letters, digits, '_', '-' or '.'"


class AuthFailed(DomainError):
    code = "auth_failed"
    fatal = True
    default_message = "wrong or missing password"


class ServerFull(DomainError):
    code = "server_full"
    fatal = True
    default_message = "the server is full; try again later"


class UnsupportedProtocol(DomainError):
    code = "unsupported_protocol"
    fatal = True
    default_message = f"this server speaks LocalChat protocol {PROTOCOL_VERSION}"


class NotRegistered(DomainError):
    code = "not_registered"
    fatal = True
    default_message = "send hello first"


class AlreadyRegistered(DomainError):
    code = "already_registered"
    default_message = "you are already registered"


class NotInRoom(DomainError):
    code = "not_in_room"
    default_message = "you are not a member of that room"


class AlreadyInRoom(DomainError):
    code = "already_in_room"
    default_message = "you are already a member of that room"


class InvalidRoom(DomainError):
    code = "invalid_room"
    default_message = "a room name is '#' and 1 to 32 letters, digits, '_', '-' or '.'"


class NoSuchRoom(DomainError):
    code = "no_such_room"
    default_message = "no such room"


class NoSuchUser(DomainError):
    code = "no_such_user"
    default_message = "nobody has that name"


class InvalidText(DomainError):
    code = "invalid_text"
    default_message = "the text is empty, only white space, too long or has control characters"


class StoreUnavailable(DomainError):
    """The message store failed (disk full, I/O error): nothing was stored or sent.

    Not in PROTOCOL.md §5, which is silent on store failures; see docs/store.md. Non-fatal:
    the failure is the server's, not the client's, and it may pass (space freed).
    """

    code = "store_unavailable"
    default_message = (
        "the server cannot store messages right now, so yours was not sent; try again later"
    )
