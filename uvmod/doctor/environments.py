"""The depot: the project's environment is intact, and environments of deleted projects.

An age-based scratch purge deletes files one by one, so an environment can lose part of
site-packages and still look present: RECORD (every file a distribution installed) is the list
to check against. Orphans are found from the back-pointer the wrapper writes into each
environment (uvmod venv list/gc read the same marker).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from uvmod.commands import venv
from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.envs import Dist, active_env, installed, project_env
from uvmod.doctor.result import Result, Status, found, ok
from uvmod.doctor.walk import human_size

SHOWN = 5  # names listed in a finding before "and N more"


def listing(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


@dataclass(frozen=True)
class Damage:
    """What an environment lost: files that installed distributions list in RECORD and are
    gone, and pyvenv.cfg and bin/python, without which uv does not use it at all."""

    missing: int
    lost: list[str]  # "bin/python", "pyvenv.cfg", "<name> <count>"
    dists: list[Dist]  # the distributions missing files
    total_dists: int

    @property
    def unusable(self) -> bool:
        return bool({"bin/python", "pyvenv.cfg"} & set(self.lost))


def damage(env: Path) -> Damage:
    lost: list[str] = []
    hurt: list[Dist] = []
    total = 0
    dists = list(installed(env))
    for dist in dists:
        missing = dist.missing_files()
        if missing:
            total += len(missing)
            lost.append(f"{dist.name} {len(missing)}")
            hurt.append(dist)
    if not (env / "pyvenv.cfg").is_file():
        total += 1
        lost.insert(0, "pyvenv.cfg")
    if not (env / "bin" / "python").exists():  # uv refuses such an environment
        total += 1
        lost.insert(0, "bin/python")
    return Damage(total, lost, hurt, len(dists))


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


def depot_entries(ctx: Context, depot_path: Path) -> list[venv.Entry]:
    """Every depot environment and trash entry, scanned once per run."""

    def scan() -> list[venv.Entry]:
        return list(venv.scan(depot_path))

    return ctx.memo(f"depot:{depot_path}", scan)


def _orphans(entries: list[venv.Entry]) -> Iterator[venv.Entry]:
    # What `uvmod venv gc` removes: marked environments whose project is gone, and the trash.
    for entry in entries:
        if entry.state == "trash" or entry.project_state == "gone":
            yield entry


def check_orphans(ctx: Context) -> Result:
    check = "depot.orphans"
    depot_path = ctx.depot_dir()
    if depot_path is None:
        return ok(check, "no depot (module not loaded)")
    entries = depot_entries(ctx, depot_path)
    orphans = list(_orphans(entries))
    if not orphans:
        return ok(check, f"{len(entries)} environment(s) in {depot_path}, none orphaned")
    size = sum(e.size for e in orphans)
    files = sum(e.files for e in orphans)
    names = [
        f"{e.path.name} ({'damaged copy' if e.state == 'trash' else f'{e.project} is gone'})"
        for e in orphans
    ]
    return found(
        check,
        Status.WARN,
        findings.ORPHANED_ENVS,
        f"{len(orphans)} in {depot_path}, {human_size(size)} and {files:,} files: {listing(names)}",
        "uvmod venv gc --yes (plain `uvmod venv gc` shows what it removes)",
    )
