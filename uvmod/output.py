"""Text output for people: a rich Console that wraps only on a terminal.

Piped or redirected output (`uvmod venv list | grep`, a file attached to a ticket) must keep
one row per line and names whole, so when the stream is not a terminal the width is unbounded
(rich would otherwise assume 80 columns, or $COLUMNS, and fold paths in the middle). Colour is
rich's own decision: none when not a terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console

UNBOUNDED = 1_000_000  # columns: no line uvmod prints comes near it


def is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):  # a closed or minimal stream
        return False


def console(out: TextIO, width: int | None = None) -> Console:
    """`width` forces a width (tests); None: the terminal's, unbounded when not a terminal."""
    from rich.console import Console

    if width is None and not is_terminal(out):
        width = UNBOUNDED
    return Console(file=out, width=width, highlight=False)
