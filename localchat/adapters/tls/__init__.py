"""TLS for the native transports: certificates, fingerprints, trust on first use.

Shared by the TCP server transport, the client library and discovery (which advertises the
fingerprint). Nothing here opens sockets: :mod:`.channel` runs TLS over memory buffers so
the callers keep their own I/O model.
"""
