"""The threaded TCP transport (server) and the synchronous client library."""
