"""The wheelhouse directories of the current architecture exist here and hold wheels."""

from __future__ import annotations

import os
from pathlib import Path

from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.result import Result, Status, found, ok
from uvmod.doctor.settings import read_toml, system_config_file


def _dirs(ctx: Context, arch: str) -> list[Path]:
    root = ctx.config.wheelhouse.root
    if root is None:
        return []
    return [Path(root) / rel for rel in ctx.config.wheelhouse.arch.get(arch, [])]


def _listed_in_system_file(ctx: Context) -> set[str]:
    """Directories the system uv.toml names: uv fails on a listed one that is missing
    ("Failed to read `--find-links` directory"), while one left out at build time is merely
    unused."""
    path = system_config_file(ctx.environ)
    if path is None:
        return set()
    try:
        table = read_toml(path)
    except ValueError:
        return set()
    listed = {str(d) for d in table.get("find-links", []) if isinstance(d, str)}
    for index in table.get("index", []):
        if isinstance(index, dict) and isinstance(index.get("url"), str):
            listed.add(index["url"])
    return {os.path.normpath(p) for p in listed}


def _wheel_count(directory: Path) -> int:
    try:
        with os.scandir(directory) as entries:
            return sum(1 for e in entries if e.name.endswith(".whl"))
    except OSError:
        return 0


def check_wheelhouse(ctx: Context) -> Result:
    check = "wheelhouse"
    if not ctx.module_loaded or ctx.arch is None:
        return ok(check, "no module loaded; no site wheelhouse in use")
    dirs = _dirs(ctx, ctx.arch)
    if not dirs:
        return ok(check, f"no wheelhouse for arch {ctx.arch}: packages come from the indexes")
    missing = [d for d in dirs if not d.is_dir()]
    if missing:
        listed = _listed_in_system_file(ctx)
        breaking = [d for d in missing if os.path.normpath(d) in listed]
        if breaking:
            return found(
                check,
                Status.FAIL,
                findings.WHEELHOUSE_MISSING,
                f"{', '.join(map(str, breaking))} (listed in the site uv.toml, so uv fails)",
                "ask your administrator: the wheelhouse is not mounted on this node",
            )
        return found(
            check,
            Status.WARN,
            findings.WHEELHOUSE_MISSING,
            f"{', '.join(map(str, missing))} (left out of the site uv.toml: its wheels are "
            "not used)",
            "ask your administrator to mount it here or rerun `uvmod build-modulefiles`",
        )
    counts = {d: _wheel_count(d) for d in dirs}
    empty = [d for d, n in counts.items() if n == 0]
    if empty:
        return found(
            check,
            Status.WARN,
            findings.WHEELHOUSE_EMPTY,
            ", ".join(map(str, empty)),
            "ask your administrator whether the wheelhouse is fully mounted (CVMFS: ls it once)",
        )
    total = sum(counts.values())
    return ok(check, f"{len(dirs)} directories for arch {ctx.arch} hold {total:,} wheels")
