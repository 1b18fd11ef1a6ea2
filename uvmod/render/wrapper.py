"""The POSIX-sh scripts of the module's bin/: a few assignments in front of a static body from
sh/ (`uv`: sh/uvmod-key.sh + sh/uv-wrapper.sh; `uvx`: sh/uvx.sh; `uvmod`: sh/uvmod.sh), and the
Jupyter kernel launcher of libexec/ (sh/uvmod-kernel.sh)."""

from __future__ import annotations

from collections.abc import Mapping

from uvmod import __version__
from uvmod.render import MARKER, packaged_text


def sh_quote(value: str) -> str:
    """Single-quote for POSIX sh: everything is literal inside '...' except the quote itself."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def render_script(assignments: Mapping[str, str], *bodies: str) -> str:
    """`#!/bin/sh`, the marker, one `NAME='value'` line per assignment, then the bodies (names of
    files in sh/) in order."""
    lines = [
        "#!/bin/sh",
        f"# {MARKER}: written by uvmod {__version__} build-modulefiles; do not edit.",
    ]
    lines += [f"{name}={sh_quote(value)}" for name, value in assignments.items()]
    return "\n".join(lines) + "\n" + "".join(packaged_text("sh", body) for body in bodies)


# The stale-key check is a function the body calls; it is pasted first so both stay real
# files that `sh -n` checks on their own.
WRAPPER_BODIES = ("uvmod-key.sh", "uv-wrapper.sh")


def body() -> str:
    """The uv wrapper's static part (the build id covers it: uvmod/plan.py)."""
    return "".join(packaged_text("sh", name) for name in WRAPPER_BODIES)


def render_wrapper(assignments: Mapping[str, str]) -> str:
    return render_script(assignments, *WRAPPER_BODIES)


def render_uvx(wrapper: str) -> str:
    return render_script({"UVMOD_UV_WRAPPER": wrapper}, "uvx.sh")


def render_uvmod(module: str, python: str, program: str) -> str:
    return render_script(
        {"UVMOD_MODULE": module, "UVMOD_PYTHON": python, "UVMOD_PROGRAM": program}, "uvmod.sh"
    )


def render_kernel_launcher(module: str) -> str:
    return render_script({"UVMOD_MODULE": module}, "uvmod-kernel.sh")
