"""What `build-modulefiles` produces: every output file with its content and mode, no I/O.

Configuration → Layout (file names) → ModuleDescription (what goes in) → renderers → this plan,
which the writer then compares or writes (the split spack's module generation follows).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from uvmod import sitefacts
from uvmod.cachekey import family_variables
from uvmod.config import SiteConfig
from uvmod.layout import Layout
from uvmod.moduledesc import describe
from uvmod.render import lua, tcl, uvtoml, wrapper


@dataclass(frozen=True)
class PlannedFile:
    path: PurePosixPath  # relative to the prefix
    content: str
    mode: int = 0o644


def build_id(config: SiteConfig, policies: Iterable[str]) -> str:
    """Names the wrapper's per-key uv.toml directory: it changes whenever what those files hold
    (a policy file, the key variable or packages, or the wrapper code that writes them) changes,
    so a rebuilt tree never reuses stale copies. It is in no path uv builds see
    (docs/design.md#per-key-builds): a new build id rewrites small files, never a wheel."""
    digest = hashlib.sha256()
    digest.update(wrapper.body().encode() + b"\0")
    for text in policies:
        digest.update(text.encode() + b"\0")
    digest.update(config.cache_key.variable.encode() + b"\0")
    digest.update(" ".join(config.cache_key.packages).encode())
    return digest.hexdigest()[:16]


def wrapper_assignments(
    config: SiteConfig, layout: Layout, real_uv: str, build: str
) -> dict[str, str]:
    """The site values at the top of the wrapper (their meaning: the header of sh/uv-wrapper.sh)."""
    return {
        "UVMOD_MODULE": config.module.name,
        "UVMOD_REAL_UV": real_uv,
        "UVMOD_ETC": layout.absolute(layout.install_dir / "etc"),
        "UVMOD_BUILD_ID": build,
        "UVMOD_KEY_VARIABLE": config.cache_key.variable,
        # Package names are validated ([A-Za-z0-9._-]), so the wrapper may split on spaces.
        "UVMOD_KEY_PACKAGES": " ".join(config.cache_key.packages),
        "UVMOD_KEY_MODULES": " ".join(config.cache_key.modules),
        "UVMOD_KEY_FAMILY_VARS": " ".join(
            variable
            for family in config.cache_key.families
            for variable in family_variables(family)
        ),
    }


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
    policies = {arch: uvtoml.render_uv_toml(config, arch, missing_dirs) for arch in config.archs}
    build = build_id(config, policies.values())
    program = config.module.uvmod or ""
    files = [
        PlannedFile(
            layout.wrapper,
            wrapper.render_wrapper(wrapper_assignments(config, layout, real_uv, build)),
            0o755,
        ),
        PlannedFile(layout.uvx, wrapper.render_uvx(layout.absolute(layout.wrapper)), 0o755),
        PlannedFile(
            layout.uvmod_command,
            wrapper.render_uvmod(config.module.name, "" if program else uvmod_python, program),
            0o755,
        ),
        PlannedFile(
            layout.kernel_launcher, wrapper.render_kernel_launcher(config.module.name), 0o755
        ),
    ]
    files.append(PlannedFile(layout.site_json, sitefacts.render_site_json(config, real_uv)))
    files += [PlannedFile(layout.uv_toml(arch), text) for arch, text in policies.items()]
    description = describe(config, layout)
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
