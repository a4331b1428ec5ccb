"""SQLite adapters: the durable message store of a server and a read-only view of its file."""
