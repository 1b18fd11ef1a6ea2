"""Scratch purge risk: what was not used within the site's purge age (`[paths] purge_days`).

Purges on HPC scratch delete files whose access/modification time is older than the age. For
environments, "used" is the wrapper's `.uvmod-last-used`, touched on every uv call in the project
(uvmod venv list shows the same date). For the cache, the entries are the unpacked wheels in
`archive-v*/` (what environments hardlink to; the bulk of the cache), and "used" is the newest of
an entry's atime and mtime: listing it to link an install reads the directory, which updates its
atime on relatime mounts. On noatime mounts this under-reports use, so the finding says "not
used" only in that sense.
"""

from __future__ import annotations

import os
from pathlib import Path

from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.result import Result, Status, found, listing, ok
from uvmod.envscan import human_size, walk

DAY = 86400


def _no_age(check: str) -> Result:
    return ok(check, "no purge age configured (paths.purge_days)")


def check_purge_envs(ctx: Context) -> Result:
    check = "purge.environments"
    days = ctx.config.paths.purge_days
    if days is None:
        return _no_age(check)
    depot_path = ctx.depot_dir()
    if depot_path is None:
        return ok(check, "no depot (module not loaded)")
    entries = [e for e in ctx.depot_entries(depot_path) if e.state != "trash"]
    old = [
        (e, int((ctx.now - e.last_used) // DAY))
        for e in entries
        if e.last_used is not None and ctx.now - e.last_used > days * DAY
    ]
    if not old:
        return ok(check, f"all {len(entries)} environment(s) used within {days} days")
    old.sort(key=lambda pair: -pair[1])
    names = [f"{e.path.name} ({e.project or 'no marker'}, {age} days)" for e, age in old]
    return found(
        check,
        Status.WARN,
        findings.ENVS_AT_RISK,
        f"{len(old)} of {len(entries)} in {depot_path} not used for more than {days} days: "
        f"{listing(names)}",
        "rm -rf the ones you no longer need (`uvmod venv gc` for deleted projects); "
        "`uv sync` rebuilds a purged one",
    )


def _last_used(path: Path) -> float:
    info = os.lstat(path)
    return max(info.st_atime, info.st_mtime)


def check_purge_cache(ctx: Context) -> Result:
    check = "purge.cache"
    days = ctx.config.paths.purge_days
    if days is None:
        return _no_age(check)
    cache, _ = ctx.cache_dir()
    entries = ctx.archive_entries()
    old = [e for e in entries if ctx.now - _last_used(e) > days * DAY]
    if not old:
        return ok(check, f"all {len(entries)} unpacked wheel(s) in {cache} used within {days} days")
    used = [walk(e, keep_times=True) if e.is_dir() else None for e in old]
    size = sum(u.size for u in used if u)
    files = sum(u.files for u in used if u)
    return found(
        check,
        Status.WARN,
        findings.CACHE_AT_RISK,
        f"{len(old)} of {len(entries)} unpacked wheels in {cache} ({human_size(size)}, "
        f"{files:,} files) not used for more than {days} days",
        "uv cache prune removes unused entries now; rerun `uv sync` on a login node for "
        "projects you need offline",
    )
