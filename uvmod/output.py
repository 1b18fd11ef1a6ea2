"""Text output for people: a rich Console that wraps only on a terminal.

Piped or redirected output (`uvmod venv list | grep`, a file attached to a ticket) must keep
one row per line and names whole, so when the stream is not a terminal the width is unbounded
(rich would otherwise assume 80 columns, or $COLUMNS, and fold paths in the middle). Colour is
rich's own decision: none when not a terminal.

Every value is printed as written. rich parses a str it prints for markup (`[bold]`, and a
project path holding `[/]` stopped `venv list` with rich.errors.MarkupError) and emoji codes
(`:smile:`); the one Console uvmod prints through (`console`) parses neither, so styling is
given as `Text` styles (`text`), never spelled inside a string, and `shown` escapes control
characters. tests/test_output_escaping.py checks that no other module makes a Console.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

UNBOUNDED = 1_000_000  # columns: no line uvmod prints comes near it


def is_terminal(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):  # a closed or minimal stream
        return False


def console(out: TextIO, width: int | None = None, *, soft_wrap: bool = False) -> Console:
    """`width` forces a width (tests); None: the terminal's, unbounded when not a terminal.
    No markup, emoji codes nor highlighting: what is printed is what the value holds."""
    from rich.console import Console

    if width is None and not is_terminal(out):
        width = UNBOUNDED
    return Console(
        file=out, width=width, highlight=False, markup=False, emoji=False, soft_wrap=soft_wrap
    )


def text(value: object, style: str | None = None) -> Text:
    """`value` as a rich Text, shown on one line (control characters escaped), in `style`."""
    from rich.text import Text

    return Text(shown(str(value)), style=style or "")


def shown(value: str) -> str:
    """A value on one line: control characters (a hostile file name) escaped, as repr does."""
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in value)


def columns(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Rows aligned under their header, two spaces apart, each on one line. rich's Table
    measures every cell and takes about a second per 2,000 rows; this takes milliseconds."""
    cells = [list(header), *([shown(c) for c in row] for row in rows)]
    widths = [max(map(len, column)) for column in zip(*cells, strict=True)][:-1]
    lines = [
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]).rstrip()
        for row in cells
    ]
    return "\n".join(lines) + "\n"


def write_json(data: dict[str, Any], out: TextIO) -> None:
    """Indented like `json.dumps(indent=2)` down to the items of each list, which take one line
    each: the indenting encoder is pure Python and takes seconds for 50,000 rows, the compact
    one is C. The document is the same JSON."""
    lines = []
    for key, value in data.items():
        if isinstance(value, list) and value:
            items = ",\n".join(f"    {json.dumps(item)}" for item in value)
            lines.append(f"  {json.dumps(key)}: [\n{items}\n  ]")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    out.write("{\n" + ",\n".join(lines) + "\n}\n")
