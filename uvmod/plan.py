"""What `build-modulefiles` produces: every output file with its content and mode, no I/O.

The flow, each step a pure function of the ones before it (the split spack's module generation
follows):

    site.toml ─► config.load_config ─► SiteConfig
    SiteConfig + Layout (file names) + real uv ─► moduledesc.describe ─► ModuleDescription
        (environment actions, arch rules, cache key, per-arch policies, what the wrapper runs)
    ModuleDescription ─► render.uvtoml ─────────────────────► etc/<arch>/uv/uv.toml
                      ─► render.wrapper.build_id (+ those) ─► build id
                      ─► render.wrapper (+ build id) ───────► bin/uv, bin/uvx, bin/uvmod,
                                                               libexec/uv-rare.sh,
                                                               libexec/uvmod-kernel
                      ─► render.table ─► render.lua ────────► modulefiles/<name>/<ver>.lua,
                                     │                         lmod/uvmod_hooks.lua
                                     └─► render.tcl ────────► modulefiles/<name>/<ver>
    SiteConfig + real uv + build id ─► sitefacts ───────────► etc/uvmod-site.json
    plan_tree: [PlannedFile] ─► writer.write_tree (compare, or write atomically)

`uvmod/writer.py` alone does I/O; at run time the user-side commands find the same files
through the same Layout/InstallDir (SiteFacts.install).
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


def plan_tree(
    config: SiteConfig,
    layout: Layout,
    real_uv: str,
    missing_dirs: frozenset[str] = frozenset(),
    uvmod_python: str = "",
) -> list[PlannedFile]:
    """All files of the tree, in write order: support files first, modulefiles last, so a
    concurrent `module load` never finds a modulefile pointing at files not yet written.

    `uvmod_python` is the Python running this build, which bin/uvmod runs uvmod with unless the
    config names another uvmod (module.uvmod)."""
    description = describe(config, layout, real_uv=real_uv, missing_dirs=missing_dirs)
    policies = {p.arch: uvtoml.render_uv_toml(p) for p in description.policies}
    build = wrapper.build_id(description, policies.values())
    program = config.module.uvmod or ""
    files = [
        # The library before the wrapper that reads it.
        PlannedFile(layout.wrapper_library, wrapper.render_wrapper_library(description, build)),
        PlannedFile(layout.wrapper, wrapper.render_wrapper(description, build), 0o755),
        PlannedFile(layout.uvx, wrapper.render_uvx(layout.absolute(layout.wrapper)), 0o755),
        PlannedFile(
            layout.uvmod_command,
            wrapper.render_uvmod(description.name, "" if program else uvmod_python, program),
            0o755,
        ),
        PlannedFile(
            layout.kernel_launcher, wrapper.render_kernel_launcher(description.name), 0o755
        ),
    ]
    files.append(PlannedFile(layout.site_json, sitefacts.render_site_json(config, real_uv, build)))
    files += [PlannedFile(layout.uv_toml(arch), text) for arch, text in policies.items()]
    # The hooks before the SitePackage.lua that dofile()s them.
    files.append(PlannedFile(layout.lmod_hooks, lua.render_hooks(description)))
    files.append(
        PlannedFile(
            layout.lmod_site_package,
            lua.render_site_package(layout.absolute(layout.lmod_hooks)),
        )
    )
    files += [
        PlannedFile(layout.lua_modulefile, lua.render_modulefile(description)),
        PlannedFile(layout.tcl_modulefile, tcl.render_modulefile(description)),
    ]
    return files
