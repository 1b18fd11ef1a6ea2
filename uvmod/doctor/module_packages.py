"""A loaded module provides Python packages that the project's environment installs again.

uv 0.13.8 does not see packages that modules provide (https://github.com/astral-sh/uv/issues/16541,
https://github.com/astral-sh/uv/issues/2500): it queries the interpreter with `-I`, which
ignores PYTHONPATH, and EasyBuild's EBPYTHONPREFIXES is read by the Python module's own
sitecustomize only. So it installs its own copy of such a package, and two copies meet at
import time: a PYTHONPATH copy is imported before the environment's, an EBPYTHONPREFIXES copy
after it (docs/design.md#module-provided-packages). One listing of each directory: cheap.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.result import Result, Status, found, listing, ok
from uvmod.doctor.which_env import active_env, project_env
from uvmod.envscan import installed, name_from_dist_info, normalize


@dataclass(frozen=True)
class ModuleDir:
    path: Path
    via: str  # "PYTHONPATH" or "EBPYTHONPREFIXES"
    module: str  # the loaded module it belongs to, or "" when unknown


def _owner(path: Path, environ: Mapping[str, str]) -> str:
    """The loaded module whose EasyBuild root (`$EBROOT<NAME>`) holds `path`, by name."""
    loaded = [m for m in environ.get("LOADEDMODULES", "").split(":") if m]
    text = str(path)
    for variable, root in environ.items():
        if not variable.startswith("EBROOT") or not root or not text.startswith(root + "/"):
            continue
        wanted = variable.removeprefix("EBROOT").lower()
        for module in loaded:
            if re.sub(r"[^a-z0-9]", "", module.split("/")[0].lower()) == wanted:
                return module
    return ""


def module_dirs(ctx: Context, env: Path) -> list[ModuleDir]:
    environ = ctx.environ
    dirs: list[ModuleDir] = []
    for entry in environ.get("PYTHONPATH", "").split(":"):
        if entry.startswith("/") and os.path.isdir(entry):
            dirs.append(ModuleDir(Path(entry), "PYTHONPATH", ""))
    for prefix in environ.get("EBPYTHONPREFIXES", "").split(":"):
        if prefix.startswith("/"):
            for site in sorted(Path(prefix).glob("lib/python*/site-packages")):
                dirs.append(ModuleDir(site, "EBPYTHONPREFIXES", ""))
    real_env = os.path.realpath(env) + "/"
    return [
        ModuleDir(d.path, d.via, _owner(d.path, environ))
        for d in dirs
        if not (os.path.realpath(d.path) + "/").startswith(real_env)
    ]


def provided(directory: Path) -> dict[str, str]:
    """normalized name -> version of the distributions installed in `directory`."""
    names: dict[str, str] = {}
    try:
        entries = os.listdir(directory)
    except OSError:
        return names
    for entry in entries:
        if entry.endswith((".dist-info", ".egg-info")):
            name, version = name_from_dist_info(Path(entry.replace(".egg-info", ".dist-info")))
            names.setdefault(normalize(name), version.split("-")[0])
    return names


def check_module_packages(ctx: Context) -> Result:
    check = "modules.packages"
    envs = [e for e in (project_env(ctx), active_env(ctx)) if e is not None and e.path.is_dir()]
    if not envs:
        return ok(check, "no environment in use yet")
    for env in envs:
        dirs = module_dirs(ctx, env.path)
        if not dirs:
            continue
        ours = {normalize(d.name): d.version for d in installed(env.path)}
        for directory in dirs:
            both = sorted(set(provided(directory.path)) & set(ours))
            if not both:
                continue
            whose = directory.module or str(directory.path)
            first = "the module's" if directory.via == "PYTHONPATH" else "the environment's"
            return found(
                check,
                Status.WARN,
                findings.MODULE_PACKAGES_SHADOWED,
                f"{listing(both)} of {whose} ({directory.via}) are installed again in "
                f"{env.path}; {first} copy is imported",
                f"uv remove {' '.join(both)} to use the module's, or unload {whose} "
                "to use the project's",
            )
    return ok(check, "no package of a loaded module is installed again")
