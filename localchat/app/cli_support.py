"""What every ``localchat`` command shares: how an error a person can fix ends it, and
how log lines look.

An error: one line on stderr, prefixed ``localchat:``, and exit code 2
(:data:`EXIT_USAGE`); never a traceback.
"""

from __future__ import annotations

import logging
import sys

import typer

EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``message`` for a person; the caller raises what this returns."""
    typer.echo(f"localchat: {message}", err=True)
    return typer.Exit(code)


def configure_logging(level: str) -> None:
    """Log lines on stderr, with time, level and logger, from ``level`` up."""
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
