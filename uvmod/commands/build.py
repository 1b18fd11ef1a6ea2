"""`uvmod build-modulefiles`: render the site config into a module tree."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path, PurePosixPath

from uvmod.config import DEFAULT_CONFIG_NAME, SiteConfig, check_prefix, load_config
from uvmod.errors import ConfigError
from uvmod.layout import Layout
from uvmod.plan import PlannedFile, plan_tree
from uvmod.policy import wheelhouse_dirs
from uvmod.realuv import RealUv, find_real_uv, uv_version, version_warning
from uvmod.render.lua import lua_string
from uvmod.writer import WriteReport, unified_diff, write_tree


def _warn(message: str) -> None:
    print(f"uvmod: warning: {message}", file=sys.stderr)


def resolve_real_uv(configured: str | None, override: str | None) -> RealUv:
    """The uv the wrapper execs (uvmod/realuv.py), with warnings about it on stderr."""
    real = find_real_uv(configured, override)
    if not Path(real.path).is_file():
        # Building for a CVMFS/NFS tree on a machine where that uv is not mounted is legitimate.
        _warn(f"{real.path} does not exist on this machine; its version is not checked")
        return real
    warning = version_warning(real.path, *uv_version(real.path))
    if warning is not None:
        _warn(warning)
    return real


def resolve_uvmod(configured: str | None, override: str | None) -> str | None:
    """The uvmod program bin/uvmod runs (None: this Python, with -I -m uvmod)."""
    chosen = override or configured
    if chosen is None:
        if not sys.executable:
            raise ConfigError(
                "module.uvmod: not set, and this Python does not know its own path; "
                "set module.uvmod or pass --uvmod /path/to/uvmod"
            )
        return None
    if not chosen.startswith("/") or any(ord(c) < 32 or ord(c) == 127 for c in chosen):
        raise ConfigError(f"--uvmod: {chosen!r} is not an absolute path")
    if not Path(chosen).is_file():
        _warn(f"{chosen} does not exist on this machine")
    return chosen


def missing_wheelhouse_dirs(config: SiteConfig, source: str) -> frozenset[str]:
    """Wheelhouse directories that do not exist here; each is reported on stderr. With
    `pypi = false`, an architecture none of whose directories exists is a ConfigError: uv
    could install nothing at all on its nodes."""
    missing = set()
    empty_archs = []
    for arch in config.archs:
        dirs = [path for _, path in wheelhouse_dirs(config, arch)]
        gone = [path for path in dirs if not Path(path).is_dir()]
        missing.update(gone)
        if not config.wheelhouse.pypi and dirs and len(gone) == len(dirs):
            empty_archs.append((arch, dirs))
    if empty_archs:
        raise ConfigError(
            *(
                f"{source}: wheelhouse.arch.{arch}: none of its directories exists on this "
                f"machine ({', '.join(dirs)}); with pypi = false uv could install nothing on "
                f"{arch} nodes. Build where the wheelhouse is mounted, or fix wheelhouse.root"
                for arch, dirs in empty_archs
            )
        )
    for path in sorted(missing):
        _warn(
            f"wheelhouse directory {path} does not exist; left out of uv.toml "
            "(uv refuses to run with a missing find-links directory)"
        )
    return frozenset(missing)


def _report_check(root: Path, files: list[PlannedFile], report: WriteReport) -> int:
    by_path = {str(planned.path): planned for planned in files}
    for path in report.created:
        print(f"missing: {root / path}")
    for path in report.changed:
        print(f"differs: {root / path}")
        sys.stdout.write(unified_diff(root, by_path[path]))
    for path in report.stale:
        print(f"stale: {root / path} (written by uvmod, no longer produced by the configuration)")
    if report.differs:
        return 1
    print(f"{root}: up to date ({len(report.unchanged)} files)")
    return 0


def next_steps(layout: Layout, module: str) -> list[str]:
    """What the administrator still has to do, with the paths of this tree."""
    # Quoted as they must be written: a shell word and a Lua string.
    modulefiles = shlex.quote(layout.absolute(PurePosixPath("modulefiles")))
    lmod = shlex.quote(layout.absolute(layout.lmod_dir))
    hooks = lua_string(layout.absolute(layout.lmod_hooks))
    return [
        "next steps (docs/admin-guide.md):",
        f"  1. make the module visible: module use {modulefiles}",
        "     (or add it to MODULEPATH in your site's shell start-up files)",
        "  2. Lmod: install the hook that keeps the MPI/CUDA cache key current after every",
        "     module command (without it the key goes stale on `module swap`); either",
        f"       export LMOD_PACKAGE_PATH={lmod}   (no SitePackage.lua of your own)",
        "     or, at the end of your own SitePackage.lua:",
        f"       dofile({hooks})",
        "  3. Environment Modules: nothing to install; the key follows `module switch` of the",
        f"     MPI/CUDA modules loaded before {module} (5.2 or later, auto_handling on)",
        f"  4. users: module load {module}",
    ]


PATH_MAX = 4096  # Linux, the terminating NUL included


def _check_path_lengths(root: Path, files: list[PlannedFile], option: str) -> None:
    """Every file of the tree must have a path Linux can open: a located error before anything
    is written, rather than an OSError half-way."""
    longest = max((root / planned.path for planned in files), key=lambda p: len(bytes(p)))
    if len(bytes(longest)) >= PATH_MAX:
        raise ConfigError(
            f"{option}: {str(root)[:60]!r}... is too long: the tree's file {longest.name} would "
            f"have a path of {len(bytes(longest))} bytes (Linux allows {PATH_MAX - 1})"
        )


def build_modulefiles(
    config_path: Path | None,
    prefix: Path,
    *,
    check: bool,
    destdir: Path | None = None,
    uv: str | None = None,
    uvmod: str | None = None,
) -> int:
    """Write (or with check=True compare) the tree; 1 when --check finds a difference."""
    config = load_config(config_path)
    source = str(config_path) if config_path is not None else f"<embedded {DEFAULT_CONFIG_NAME}>"
    if not prefix.is_absolute():
        prefix = prefix.absolute()
    check_prefix(str(prefix))
    real_uv = resolve_real_uv(config.module.uv, uv)
    program = resolve_uvmod(config.module.uvmod, uvmod)
    if program is not None and program != config.module.uvmod:
        config = config.model_copy(
            update={"module": config.module.model_copy(update={"uvmod": program})}
        )
    layout = Layout(PurePosixPath(prefix), config.module.name, config.module.version)
    missing = missing_wheelhouse_dirs(config, source)
    files = plan_tree(config, layout, real_uv.path, missing, uvmod_python=sys.executable)
    root = destdir if destdir is not None else prefix
    _check_path_lengths(root, files, "--destdir" if destdir is not None else "--prefix")
    report = write_tree(root, files, check=check, owned=[layout.install_dir])
    if check:
        return _report_check(root, files, report)
    print(
        f"{root}: {len(report.created)} created, {len(report.changed)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.stale)} removed"
    )
    for path in report.stale:
        print(f"removed: {root / path} (no longer produced by the configuration)")
    print(f"the wrapper runs {real_uv.path} ({real_uv.how})")
    print("\n".join(next_steps(layout, config.module.name)))
    return 0
