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

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from uvmod.depot import _read_without_atime
from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.environments import depot_entries, listing
from uvmod.doctor.envs import installed
from uvmod.doctor.result import Result, Status, found, ok
from uvmod.doctor.walk import human_size, usage_keeping_times

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
    entries = [e for e in depot_entries(ctx, depot_path) if e.state != "trash"]
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
    entries = [e for bucket in sorted(cache.glob("archive-v*")) for e in bucket.iterdir()]
    old = [e for e in entries if ctx.now - _last_used(e) > days * DAY]
    if not old:
        return ok(check, f"all {len(entries)} unpacked wheel(s) in {cache} used within {days} days")
    used = [usage_keeping_times(e) if e.is_dir() else None for e in old]
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


@dataclass(frozen=True)
class Damage:
    name: str  # the package, or "(unknown)"
    entry: Path
    environment: bool  # a cached environment (`uv tool run`, uvx), not an unpacked wheel


def _damaged_environment(entry: Path) -> Damage | None:
    """A cached environment (uv keeps those of `uv tool run`/uvx in the same buckets as
    unpacked wheels: pyvenv.cfg, bin/, lib/, and no top-level .dist-info) is damaged when a
    distribution installed in it misses files of its RECORD, like a depot environment."""
    for dist in installed(entry):
        if dist.missing_files():
            return Damage(dist.name, entry, environment=True)
    return None


def _damaged_entry(entry: Path) -> Damage | None:
    """The package of an unpacked wheel missing files its RECORD lists (or the RECORD itself),
    else None. uv trusts these directories: it hardlinks from them without checking, so a
    purged file is missing from every environment installed afterwards, and a purged RECORD or
    METADATA fails the install with only the missing path ("failed to open file ...")."""
    # Like usage_keeping_times: looking must not make the entry look used to check_purge_cache.
    before = os.lstat(entry)
    names = [e.name for e in entry.iterdir()]
    try:
        os.utime(entry, ns=(before.st_atime_ns, before.st_mtime_ns), follow_symlinks=False)
    except OSError:
        pass
    if "pyvenv.cfg" in names:
        return _damaged_environment(entry)
    infos = [entry / name for name in names if name.endswith(".dist-info")]
    if not infos:
        return Damage("(unknown)", entry, environment=False)
    for info in infos:
        name = info.name.removesuffix(".dist-info").partition("-")[0]
        try:
            text = _read_without_atime(info / "RECORD").decode("utf-8", "replace")
        except OSError:
            return Damage(name, entry, environment=False)
        for row in csv.reader(text.splitlines()):
            if row and not os.path.lexists(entry / row[0]):
                return Damage(name, entry, environment=False)
    return None


def check_cache_damage(ctx: Context) -> Result:
    check = "purge.cache_damage"
    cache, _ = ctx.cache_dir()
    entries = [e for b in sorted(cache.glob("archive-v*")) for e in b.iterdir() if e.is_dir()]
    damage = [d for d in map(_damaged_entry, entries) if d is not None]
    if not damage:
        return ok(
            check,
            f"all {len(entries)} unpacked wheel(s) and tool environment(s) in {cache} are complete",
        )
    wheels = sorted({d.name for d in damage if not d.environment})
    tools = sorted({d.name for d in damage if d.environment})
    parts = []
    if wheels:
        parts.append(f"unpacked wheels of {listing(wheels)}")
    if tools:
        parts.append(f"tool environments with {listing(tools)}")
    # `uv cache clean NAME` removes only those packages' entries, not the whole cache, which on
    # an offline node could not be downloaded again; a tool environment is simply made anew.
    fixes = []
    known = [name for name in wheels if name != "(unknown)"]
    if known:
        fixes.append(f"uv cache clean {' '.join(known)}")
    if "(unknown)" in wheels or tools:
        doomed = sorted(str(d.entry) for d in damage if d.environment or d.name == "(unknown)")
        fixes.append(f"rm -rf {' '.join(doomed)}")
    return found(
        check,
        Status.FAIL,
        findings.CACHE_DAMAGED,
        f"{' and '.join(parts)} in {cache} are missing files, most likely deleted by the "
        "scratch purge; uv installs them as they are",
        " && ".join(fixes)
        + ", then `rm -rf` the environments that import them fail in and `uv sync` (where "
        "the wheelhouse or the index can be reached)",
    )
