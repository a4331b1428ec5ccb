"""In-process adapters: a transport for embedding and fast tests, a bounded message store."""
