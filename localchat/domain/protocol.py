"""The version of the LocalChat protocol this program speaks (``protocol`` in ``hello``).

A module of its own, importing nothing, so that every module can use the one definition:
:mod:`.commands` (where ``Register`` carries the client's version) imports the names and
the model, which import :mod:`.errors`, so :mod:`.errors` could not import it from there.
"""

from __future__ import annotations

PROTOCOL_VERSION = 1
