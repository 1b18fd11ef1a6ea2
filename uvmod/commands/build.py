"""`uvmod build-modulefiles`: render the site config into a module tree."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path, PurePosixPath

from uvmod.config import SiteConfig, load_config
from uvmod.errors import ConfigError
from uvmod.layout import Layout
from uvmod.plan import plan_tree
from uvmod.render.uvtoml import wheelhouse_dirs
from uvmod.writer import write_tree


def resolve_real_uv(configured: str | None, override: str | None) -> str:
    """The uv the wrapper execs: --uv, else module.uv, else the uv on PATH now (DESIGN.md)."""
    chosen = override or configured
    if chosen is None:
        found = shutil.which("uv")
        if found is None:
            raise ConfigError(
                "module.uv: not set in the site config and no `uv` on PATH; "
                "set module.uv or pass --uv /path/to/uv"
            )
        return str(Path(found).absolute())
    if not chosen.startswith("/") or any(ord(c) < 32 for c in chosen):
        raise ConfigError(f"--uv: {chosen!r} is not an absolute path")
    if not Path(chosen).is_file():
        # Building for a CVMFS/NFS tree on a machine where that uv is not mounted is legitimate.
        print(f"uvmod: warning: {chosen} does not exist on this machine", file=sys.stderr)
    return chosen


def missing_wheelhouse_dirs(config: SiteConfig) -> frozenset[str]:
    """Wheelhouse directories that do not exist here; each is reported on stderr."""
    missing = set()
    for arch in config.archs:
        for _, path in wheelhouse_dirs(config, arch):
            if not Path(path).is_dir():
                missing.add(path)
    for path in sorted(missing):
        print(
            f"uvmod: warning: wheelhouse directory {path} does not exist; left out of uv.toml "
            "(uv refuses to run with a missing find-links directory)",
            file=sys.stderr,
        )
    return frozenset(missing)


def build_modulefiles(
    config_path: Path | None,
    prefix: Path,
    *,
    check: bool,
    destdir: Path | None = None,
    uv: str | None = None,
) -> int:
    """Write (or with check=True compare) the tree; 1 when --check finds a difference."""
    config = load_config(config_path)
    if not prefix.is_absolute():
        prefix = prefix.absolute()
    real_uv = resolve_real_uv(config.module.uv, uv)
    layout = Layout(PurePosixPath(prefix), config.module.name, config.module.version)
    missing = missing_wheelhouse_dirs(config)
    files = plan_tree(config, layout, real_uv, missing)
    root = destdir if destdir is not None else prefix
    report = write_tree(root, files, check=check)
    if check:
        for path in report.created:
            print(f"missing: {root / path}")
        for path in report.changed:
            print(f"differs: {root / path}")
        if report.differs:
            return 1
        print(f"{root}: up to date ({len(report.unchanged)} files)")
        return 0
    print(
        f"{root}: {len(report.created)} created, {len(report.changed)} updated, "
        f"{len(report.unchanged)} unchanged"
    )
    print(f"users: module use {prefix / 'modulefiles'} && module load {config.module.name}")
    return 0
