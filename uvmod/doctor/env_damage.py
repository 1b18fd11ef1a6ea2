"""The environments uv uses are whole: the project's (in the depot) and the activated one.

An age-based scratch purge deletes files one by one, so an environment can lose part of
site-packages and still look present; uvmod/envscan.py holds the rule (RECORD, pyvenv.cfg,
bin/python) that `uvmod venv list` applies too.
"""

from __future__ import annotations

import shlex

from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.result import Result, Status, found, listing, ok
from uvmod.doctor.which_env import active_env, project_env
from uvmod.envscan import Dist, damage


def check_project_env(ctx: Context) -> Result:
    check = "depot.project"
    if ctx.project is None:
        return ok(check, "not in a project")
    env = project_env(ctx)
    if env is None:
        return ok(check, "the project's environment cannot be named (see the cache key check)")
    if not env.path.is_dir():
        return ok(check, f"no environment yet; `uv sync` creates {env.path}")
    lost = damage(env.path)
    if not lost.lost:
        return ok(check, f"{env.path} is intact ({lost.total_dists} distributions)")
    return found(
        check,
        Status.FAIL,
        findings.ENV_DAMAGED,
        f"{lost.missing:,} files listed in RECORD are gone from {env.path} "
        f"({listing(lost.lost)}), most likely deleted by the scratch purge",
        f"rm -rf {env.path} && uv sync",
    )


def check_active_env(ctx: Context) -> Result:
    """The activated environment ($VIRTUAL_ENV), looked at as the project's is."""
    check = "venv.active"
    env = active_env(ctx)
    if env is None:
        return ok(check, "no other environment activated (VIRTUAL_ENV)")
    if not env.path.is_dir():
        return found(
            check,
            Status.FAIL,
            findings.ACTIVE_ENV_GONE,
            f"VIRTUAL_ENV={env.path}, and `uv pip` fails without it (most likely deleted by the "
            "scratch purge, or activated in another session)",
            f"uv venv {env.path} and reinstall what you need, or `deactivate`",
        )
    lost = damage(env.path)
    if not lost.lost:
        return ok(check, f"the activated {env.path} is intact ({lost.total_dists} distributions)")
    if lost.unusable:
        # No project to `uv sync` from: the user made it and knows what goes in.
        fix = f"rm -rf {env.path} && uv venv {env.path}, then install its packages again"
    else:
        fix = reinstall_command(lost.dists)
    return found(
        check,
        Status.FAIL,
        findings.ACTIVE_ENV_DAMAGED,
        f"{lost.missing:,} files listed in RECORD are gone from {env.path} "
        f"({listing(lost.lost)}), most likely deleted by the scratch purge",
        fix,
    )


def reinstall_command(dists: list[Dist]) -> str:
    """`uv pip install` that puts these distributions back at their versions, from the cache
    or the wheelhouse (--reinstall-package: installed as they are, they count as satisfied)."""
    flags = " ".join(f"--reinstall-package {d.name}" for d in dists)
    pins = " ".join(shlex.quote(f"{d.name}=={d.version}") for d in dists)
    return f"uv pip install {flags} {pins}"
