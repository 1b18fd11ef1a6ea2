"""Pure renderers: a description in, file text out. No I/O here except reading packaged bodies."""

from __future__ import annotations

from importlib import resources

MARKER = "uvmod-generated"
"""Every generated file carries this word near its top; the writer refuses to replace a file that
does not (the same guard as pre-commit's `is_our_script`)."""


def packaged_text(package: str, name: str) -> str:
    """A static body shipped with uvmod (lua/, tcl/, sh/ in the repository)."""
    return resources.files("uvmod").joinpath(package, name).read_text("utf-8")
