"""Ports: the interfaces the chat core and its adapters meet through (``typing.Protocol``).

Ports import the domain only. Adapters implement them; the composition root
(:mod:`localchat.app.bootstrap`) picks the implementations.
"""

from localchat.ports.clock import Clock
from localchat.ports.store import MessageStore, StoreError
from localchat.ports.transport import (
    CommandSink,
    Inbound,
    Outbound,
    Reply,
    ServerTransport,
    TransportFactory,
    TransportOptions,
)

__all__ = [
    "Clock",
    "CommandSink",
    "Inbound",
    "Outbound",
    "Reply",
    "MessageStore",
    "ServerTransport",
    "StoreError",
    "TransportFactory",
    "TransportOptions",
]
