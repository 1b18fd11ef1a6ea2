"""Unpacked wheels and tool environments in the cache that lost files to the scratch purge.

uv trusts the directories of its `archive-v*/` buckets: it hardlinks from them without
checking, so a purged file is missing from every environment installed afterwards, and a
purged RECORD or METADATA fails the install with only the missing path ("failed to open file
..."). The check is uvmod/envscan.py's RECORD rule, over every entry: one lstat() per file of
the cache, and no file opened but the RECORDs (read without touching their access time).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.result import Result, Status, found, listing, ok
from uvmod.envscan import PYVENV_CFG, Dist, installed, name_from_dist_info


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
    else None."""
    # Looking must not make the entry look used to the purge.cache check (its atime).
    before = os.lstat(entry)
    names = os.listdir(entry)
    try:
        os.utime(entry, ns=(before.st_atime_ns, before.st_mtime_ns), follow_symlinks=False)
    except OSError:
        pass
    if PYVENV_CFG in names:
        return _damaged_environment(entry)
    infos = [entry / name for name in names if name.endswith(".dist-info")]
    if not infos:
        return Damage("(unknown)", entry, environment=False)
    for info in infos:
        name, version = name_from_dist_info(info)
        if Dist(name, version, info).missing_files():
            return Damage(name, entry, environment=False)
    return None


def check_cache_damage(ctx: Context) -> Result:
    check = "purge.cache_damage"
    cache, _ = ctx.cache_dir()
    entries = [e for e in ctx.archive_entries() if e.is_dir()]
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
