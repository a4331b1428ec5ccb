"""The sans-IO wire codec of LocalChat protocol 1 (see ``docs/protocol.md``).

Bytes in, frames and packets out; events in, bytes out. Nothing here touches a socket,
a thread, a clock or a logger, so every transport (threaded TCP, asyncio, TLS) shares it.
"""
