"""Module state: is the site module loaded, is its wrapper the `uv` users run, does the real uv
it execs exist, and which version is it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from uvmod.cachekey import is_module, loaded_from_env
from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.result import Result, Status, found, ok
from uvmod.realuv import uv_version

REBUILD = "ask your administrator to rerun `uvmod build-modulefiles`"


def _loaded_full_name(ctx: Context) -> str:
    """`uv-hpc/1.0` from LOADEDMODULES (kept by Lmod and Environment Modules), else the name."""
    name = ctx.module_name
    for full in loaded_from_env(ctx.environ):
        if is_module(full, name):
            return full
    return name


def check_module(ctx: Context) -> Result:
    check = "module.loaded"
    if ctx.facts_error is not None:
        return found(check, Status.FAIL, findings.SITE_FACTS_UNREADABLE, ctx.facts_error, REBUILD)
    if not ctx.module_loaded:
        return found(
            check,
            Status.FAIL,
            findings.MODULE_NOT_LOADED,
            "$UVMOD_HOME is not set, so uv runs without the site's wheelhouse, cache and "
            "environment settings",
            f"module load {ctx.module_name}",
        )
    arch = ctx.arch or "?"
    return ok(check, f"{_loaded_full_name(ctx)} is loaded from {ctx.facts.home} (arch {arch})")


def which_uv(ctx: Context) -> str | None:
    return shutil.which("uv", path=ctx.environ.get("PATH", ""))


def _same_file(a: str, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_wrapper(ctx: Context) -> Result:
    check = "module.wrapper"
    on_path = which_uv(ctx)
    install = ctx.facts.install
    if not ctx.module_loaded or install is None:
        return ok(check, f"no module loaded; `uv` on PATH is {on_path or 'missing'}")
    wrapper = install.wrapper
    if on_path is None:
        return found(
            check,
            Status.FAIL,
            findings.NO_UV_ON_PATH,
            f"PATH does not contain {wrapper.parent}",
            f"module reload {ctx.module_name}",
        )
    if not _same_file(on_path, wrapper):
        shadow = Path(on_path).parent
        return found(
            check,
            Status.FAIL,
            findings.WRAPPER_NOT_FIRST,
            f"{on_path} comes before {wrapper}, so environments and cache keys are not managed",
            f"module reload {ctx.module_name} (puts {wrapper.parent} first), "
            f"or take {shadow} off PATH",
        )
    return ok(check, f"`uv` on PATH is the wrapper {wrapper}")


def check_real_uv(ctx: Context) -> Result:
    check = "module.real_uv"
    if ctx.module_loaded:
        real = ctx.facts.real_uv
        what = "the uv the wrapper runs"
    else:
        real = which_uv(ctx)
        what = "the uv on PATH"
    if real is None or not os.access(real, os.X_OK) or not Path(real).is_file():
        if not ctx.module_loaded:
            return found(
                check,
                Status.FAIL,
                findings.NO_UV_ON_PATH,
                "uv is not installed or not on PATH",
                f"module load {ctx.module_name}",
            )
        return found(
            check,
            Status.FAIL,
            findings.REAL_UV_MISSING,
            f"{real} is not an executable file on this node",
            REBUILD + " (module.uv or --uv names a uv this node does not have)",
        )
    version, error = uv_version(real, dict(ctx.environ))
    if version is None:
        return found(
            check,
            Status.FAIL,
            findings.REAL_UV_BROKEN,
            f"`{real} --version` failed: {error}",
            REBUILD + " with a uv that runs on this node",
        )
    return ok(check, f"{what} is uv {version} at {real}")
