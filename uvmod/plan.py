"""What `build-modulefiles` produces: every output file with its content and mode, no I/O.

Configuration → Layout (file names) → ModuleDescription (what goes in) → renderers → this plan,
which the writer then compares or writes (the split spack's module generation follows).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from uvmod import sitefacts
from uvmod.config import SiteConfig
from uvmod.layout import Layout
from uvmod.moduledesc import describe
from uvmod.render import lua, tcl, uvtoml, wrapper


@dataclass(frozen=True)
class PlannedFile:
    path: PurePosixPath  # relative to the prefix
    content: str
    mode: int = 0o644


def wrapper_assignments(config: SiteConfig, real_uv: str) -> dict[str, str]:
    return {"UVMOD_REAL_UV": real_uv}


def plan_tree(
    config: SiteConfig,
    layout: Layout,
    real_uv: str,
    missing_dirs: frozenset[str] = frozenset(),
) -> list[PlannedFile]:
    """All files of the tree, in write order: support files first, modulefiles last, so a
    concurrent `module load` never finds a modulefile pointing at files not yet written."""
    files = [
        PlannedFile(
            layout.wrapper,
            wrapper.render_wrapper(wrapper_assignments(config, real_uv)),
            0o755,
        )
    ]
    files.append(PlannedFile(layout.site_json, sitefacts.render_site_json(config, real_uv)))
    files += [
        PlannedFile(layout.uv_toml(arch), uvtoml.render_uv_toml(config, arch, missing_dirs))
        for arch in config.archs
    ]
    description = describe(config, layout)
    files += [
        PlannedFile(layout.lua_modulefile, lua.render_modulefile(description)),
        PlannedFile(layout.tcl_modulefile, tcl.render_modulefile(description)),
    ]
    return files
