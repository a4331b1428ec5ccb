"""LocalChat: chat for a local network.

Importing the package does nothing but define ``__version__``; every component is built
explicitly by :mod:`localchat.app.bootstrap` (or by a program embedding the domain).
"""

__version__ = "0.1.0"
