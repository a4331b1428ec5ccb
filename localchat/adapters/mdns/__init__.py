"""LAN discovery with DNS-SD over multicast DNS (the ``zeroconf`` package).

* :mod:`.txt`: what a server says about itself in its TXT record (pure).
* :mod:`.directory`: the discovery model: announcements and reachability in, one entry per
  server out (pure; time comes in as an argument).
* :mod:`.advertiser`: the server side, announcing ``_localchat._tcp.local.``.
* :mod:`.discovery`: the client side, a live :class:`~localchat.ports.discovery.ServerDiscovery`.
"""
