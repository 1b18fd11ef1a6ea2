"""The depot: the project's environment is intact, and environments of deleted projects.

An age-based scratch purge deletes files one by one, so an environment can lose part of
site-packages and still look present: RECORD (every file a distribution installed) is the list
to check against. Orphans are found from the back-pointer the wrapper writes into each
environment (uvmod venv list/gc read the same marker).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from uvmod.commands import venv
from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.envs import installed, project_env
from uvmod.doctor.result import Result, Status, found, ok
from uvmod.doctor.walk import human_size

SHOWN = 5  # names listed in a finding before "and N more"


def listing(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def check_project_env(ctx: Context) -> Result:
    check = "depot.project"
    if ctx.project is None:
        return ok(check, "not in a project")
    env = project_env(ctx)
    if env is None:
        return ok(check, "the project's environment cannot be named (see the cache key check)")
    if not env.path.is_dir():
        return ok(check, f"no environment yet; `uv sync` creates {env.path}")
    damage: list[str] = []
    total = 0
    dists = list(installed(env.path))
    for dist in dists:
        missing = dist.missing_files()
        if missing:
            total += len(missing)
            damage.append(f"{dist.name} {len(missing)}")
    if not (env.path / "pyvenv.cfg").is_file():
        total += 1
        damage.insert(0, "pyvenv.cfg")
    if not (env.path / "bin" / "python").exists():  # uv refuses such an environment
        total += 1
        damage.insert(0, "bin/python")
    if not damage:
        return ok(check, f"{env.path} is intact ({len(dists)} distributions)")
    return found(
        check,
        Status.FAIL,
        findings.ENV_DAMAGED,
        f"{total:,} files listed in RECORD are gone from {env.path} ({listing(damage)}), most "
        "likely deleted by the scratch purge",
        f"rm -rf {env.path} && uv sync",
    )


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
