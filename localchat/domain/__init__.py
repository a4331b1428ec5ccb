"""The pure chat domain: values, the Room aggregate, commands, events and errors.

Standard library only. Nothing here reads a clock, touches a socket or logs: time and
session ids come in as arguments, and every rule violation is a :class:`DomainError` leaf
carrying the stable wire code.
"""
