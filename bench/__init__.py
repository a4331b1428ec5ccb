"""LocalChat's own benchmark: a real ``localchat run-server`` process driven over loopback.

Run it with ``make bench`` (or ``python -m bench --help``). The load generator lives in
worker processes (``worker.py``) that own raw non-blocking sockets; the main process
starts servers, coordinates the workers, samples ``/proc`` and prints the report.
Nothing here runs at import time.
"""
