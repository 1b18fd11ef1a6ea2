"""What uvmod does for a site's pip stack rules, shared by the build, the wrapper and doctor.

- The manylinux switch (`[wheelhouse] manylinux = false`, docs/design.md#manylinux-switch): uv
  asks each environment's interpreter whether manylinux wheels fit, with `python -I`, so the only
  place it honours a `_manylinux.py` is the environment's own site-packages, and it remembers the
  answer per interpreter path in its cache. The wrapper therefore writes MANYLINUX_TEXT there
  before uv first looks at the environment (creating project environments itself), drops uv's
  cached interpreter answers, and leaves MANYLINUX_FLAG at the environment's top so later calls
  need one stat() to know it is done.
- Offline projects (`pypi = false`, docs/design.md#offline-projects): uv locks for every
  platform, so a wheelhouse of Linux wheels cannot satisfy a macOS-only dependency; the
  `environments` line of `[tool.uv]` (which uv accepts in pyproject.toml only) narrows the lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

MANYLINUX_FILE = "_manylinux.py"
# What uv's copy of packaging (`_manylinux.py`, `_is_compatible`) reads: the per-tag attributes
# and the PEP 600 function, all "no".
MANYLINUX_TEXT = """\
# Written by uvmod: this site refuses manylinux wheels (docs/design.md#manylinux-switch).
manylinux1_compatible = False
manylinux2010_compatible = False
manylinux2014_compatible = False


def manylinux_compatible(*args, **kwargs):
    return False
"""
MANYLINUX_FLAG = ".uvmod-no-manylinux"


def environments_line(markers: Sequence[str]) -> str:
    """The `environments = [...]` TOML line for pyproject's `[tool.uv]`; "" for no markers.
    The markers are validated (uvmod/config.py): no `"`, `\\` or control characters, so a TOML
    basic string holds each as written."""
    if not markers:
        return ""
    return "environments = [" + ", ".join(f'"{marker}"' for marker in markers) + "]"


def site_packages(env: Path) -> list[Path]:
    """The site-packages directories of a virtual environment (one per Python version)."""
    return sorted(env.glob("lib/python*/site-packages"))


def refuses_manylinux(env: Path) -> bool:
    """Whether every site-packages of `env` holds a `_manylinux.py` that says no (ours, or any
    other whose text says `manylinux2014_compatible = False`)."""
    dirs = site_packages(env)
    if not dirs:
        return False
    for directory in dirs:
        try:
            text = (directory / MANYLINUX_FILE).read_text("utf-8", errors="replace")
        except OSError:
            return False
        if "manylinux2014_compatible = False" not in text:
            return False
    return True
