"""The POSIX-sh `uv` wrapper: a few assignments in front of the static body in sh/uv-wrapper.sh."""

from __future__ import annotations

from collections.abc import Mapping

from uvmod import __version__
from uvmod.render import MARKER, packaged_text


def sh_quote(value: str) -> str:
    """Single-quote for POSIX sh: everything is literal inside '...' except the quote itself."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def body() -> str:
    """The wrapper's static part: the stale-key functions, then the body."""
    # The stale-key check is a function the body calls; it is pasted first so both stay real
    # files that `sh -n` checks on their own.
    return packaged_text("sh", "uvmod-key.sh") + packaged_text("sh", "uv-wrapper.sh")


def render_wrapper(assignments: Mapping[str, str]) -> str:
    lines = [
        "#!/bin/sh",
        f"# {MARKER}: written by uvmod {__version__} build-modulefiles; do not edit.",
    ]
    lines += [f"{name}={sh_quote(value)}" for name, value in assignments.items()]
    return "\n".join(lines) + "\n" + body()
