"""On a site that refuses manylinux wheels (`[wheelhouse] manylinux = false`): the environments
uv uses now hold `_manylinux.py`, and no manylinux wheel is installed in them.

The wrapper writes the file into the environments it sees (docs/design.md#manylinux-switch);
one it does not see (a `UV_PROJECT_ENVIRONMENT` of the user's, `uv pip --system`, a conda
environment) or one uv recreated for another Python since can lack it.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.result import Result, Status, found, listing, ok
from uvmod.doctor.which_env import ProjectEnv, active_env, project_env
from uvmod.envscan import Dist, installed
from uvmod.pipstack import refuses_manylinux


def _environments(ctx: Context) -> list[ProjectEnv]:
    envs = [project_env(ctx), active_env(ctx)]
    return [e for e in envs if e is not None and (e.path / "pyvenv.cfg").is_file()]


def manylinux_dists(env: Path) -> list[Dist]:
    """Distributions installed from a manylinux wheel: their WHEEL file's `Tag:` lines say so."""
    hits = []
    for dist in installed(env):
        try:
            text = (dist.dist_info / "WHEEL").read_text("utf-8", errors="replace")
        except OSError:
            continue
        tags = [line for line in text.splitlines() if line.startswith("Tag:")]
        if tags and all("manylinux" in line for line in tags):
            hits.append(dist)
    return hits


def check_manylinux(ctx: Context) -> Result:
    check = "pipstack.manylinux"
    if not ctx.module_loaded or ctx.config.wheelhouse.manylinux:
        return ok(check, "the site allows manylinux wheels")
    envs = _environments(ctx)
    for env in envs:
        dists = manylinux_dists(env.path)
        if dists:
            names = [f"{d.name} {d.version}" for d in dists]
            if env.how == "VIRTUAL_ENV":
                fix = "uv pip install " + " ".join(
                    f"--reinstall-package {shlex.quote(d.name)} {shlex.quote(d.name)}"
                    for d in dists
                )
            else:
                fix = "uv sync " + " ".join(f"--reinstall-package {d.name}" for d in dists)
            return found(
                check,
                Status.FAIL,
                findings.MANYLINUX_INSTALLED,
                f"{listing(names)} in {env.path}",
                fix,
            )
    accepting = [e for e in envs if not refuses_manylinux(e.path)]
    if accepting:
        env = accepting[0]
        return found(
            check,
            Status.FAIL,
            findings.MANYLINUX_ACCEPTED,
            f"{env.path} ({env.how}) has no _manylinux.py",
            f"VIRTUAL_ENV={shlex.quote(str(env.path))} uv pip list",
        )
    if not envs:
        return ok(check, "no environment in use yet; the wrapper makes new ones refuse manylinux")
    return ok(check, f"{', '.join(str(e.path) for e in envs)} refuse manylinux wheels")
