"""The per-architecture site policy as TOML: a system-level uv.toml found through
XDG_CONFIG_DIRS. What it holds is decided in uvmod/policy.py and reaches this renderer through
the module description (ModuleDescription.policies)."""

from __future__ import annotations

import tomli_w

from uvmod import __version__
from uvmod.moduledesc import ArchPolicy
from uvmod.render import MARKER


def render_uv_toml(policy: ArchPolicy) -> str:
    return (
        f"# {MARKER}: written by uvmod {__version__} for architecture {policy.arch!r}; "
        "do not edit.\n"
        "# uv reads the first <dir>/uv/uv.toml of XDG_CONFIG_DIRS as its system configuration.\n"
        + tomli_w.dumps(dict(policy.settings))
    )
