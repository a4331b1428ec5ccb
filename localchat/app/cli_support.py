"""What every ``localchat`` command shares: how an error a person can fix ends it.

One line on stderr, prefixed ``localchat:``, and exit code 2 (:data:`EXIT_USAGE`); never a
traceback.
"""

from __future__ import annotations

import typer

EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``message`` for a person; the caller raises what this returns."""
    typer.echo(f"localchat: {message}", err=True)
    return typer.Exit(code)
