"""Adapters: the technologies behind the ports (wire codec, TCP, memory, SQLite, Tk)."""
