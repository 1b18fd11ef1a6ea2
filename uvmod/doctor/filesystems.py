"""Filesystems: cache and environments on one filesystem, no .venv in the project, working flock.

- uv links files from its cache into environments (hardlink on Linux, clone where supported) and
  falls back to copying, with a warning, when they are on different filesystems
  (docs.astral.sh/uv/reference/settings/#link-mode): every environment then costs its full
  size and file count again.
- A .venv in a project on $HOME/$WORK eats the inode quota (~6,600 files for a numpy/scipy/
  pandas/h5py/matplotlib environment, docs/design.md#what-uvmod-solves).
- uv takes flock() locks in the cache (`Acquired lock for ...`) and in each environment; on a
  filesystem mounted without lock support (Lustre without `flock`) flock fails with ENOSYS and
  uv stops with "os error 38".
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from uvmod import pathexpr
from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.mounts import fs_info, nearest_existing
from uvmod.doctor.result import Result, Status, found, ok
from uvmod.envscan import Usage, human_size, walk

VENV = ".venv"
# Where .venv directories are looked for: deep enough for a monorepo's sub-projects, without
# walking a whole data tree that happens to sit inside the project.
MAX_DEPTH = 3
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".tox", ".nox"}


def _envs_location(ctx: Context) -> tuple[Path, str] | None:
    depot = ctx.depot_dir()
    if depot is not None:
        return depot, "the environment depot"
    if ctx.project is not None:
        return ctx.project / VENV, "the project's .venv"
    return None


def check_cache_and_envs(ctx: Context) -> Result:
    check = "filesystems.same"
    cache, source = ctx.cache_dir()
    location = _envs_location(ctx)
    if location is None:
        return ok(check, f"cache {cache} ({source}); no depot and no project to compare with")
    envs, what = location
    cache_fs, envs_fs = fs_info(cache), fs_info(envs)
    if cache_fs.device == envs_fs.device:
        return ok(check, f"cache {cache} and {what} {envs} share {cache_fs.describe()}")
    cost = "every environment costs its full size and file count again"
    if envs.is_dir():
        used = dir_usage(ctx, envs)
        cost += f" ({what} now: {human_size(used.size)}, {used.files:,} files)"
    detail = (
        f"cache {cache} ({source}) on {cache_fs.describe()}, {what} {envs} on "
        f"{envs_fs.describe()}: uv copies instead of linking, so {cost}"
    )
    site_cache = ctx.module_loaded and source == "UV_CACHE_DIR"
    if not ctx.module_loaded:
        fix = f"module load {ctx.module_name} (it keeps the cache and environments together)"
    elif site_cache and ctx.environ.get("UV_CACHE_DIR") != _site_cache(ctx):
        fix = f"module reload {ctx.module_name} (UV_CACHE_DIR was changed after loading it)"
    else:
        fix = (
            f"export UV_CACHE_DIR=<a directory on {envs_fs.mount_point}>, or ask your "
            "administrator to put paths.cache and paths.venv_depot on one filesystem"
        )
    return found(check, Status.WARN, findings.CACHE_ENVS_SPLIT, detail, fix)


def _site_cache(ctx: Context) -> str | None:
    """UV_CACHE_DIR as the module set it from paths.cache (None: a variable it needs is unset)."""
    try:
        return pathexpr.expand(pathexpr.parse(ctx.config.paths.cache), dict(ctx.environ))
    except KeyError:
        return None


def find_venvs(project: Path) -> Iterator[Path]:
    """`.venv` directories and symlinks at most MAX_DEPTH levels below the project. os.walk lists
    a symlink to a directory among the directories (and does not enter it), a dangling one among
    the files."""
    for dirpath, dirnames, filenames in os.walk(project):
        here = Path(dirpath)
        venv = here / VENV
        if (VENV in dirnames) or (VENV in filenames and venv.is_symlink()):
            yield venv
        depth = len(here.relative_to(project).parts)
        dirnames[:] = [
            d for d in dirnames if d != VENV and d not in SKIP_DIRS and depth + 1 < MAX_DEPTH
        ]


def dir_usage(ctx: Context, path: Path) -> Usage:
    """Files and bytes under `path`, once per run (several checks look at the same env)."""
    return ctx.memo(f"usage:{path}", lambda: walk(path))


def check_project_venvs(ctx: Context) -> Result:
    check = "filesystems.project"
    if ctx.project is None:
        return ok(check, "not in a project")
    project = ctx.project
    where = fs_info(project).describe()
    venvs = sorted(set(find_venvs(project)))
    broken = [v for v in venvs if v.is_symlink() and not v.exists()]
    if broken:
        link = broken[0]
        return found(
            check,
            Status.FAIL,
            findings.VENV_LINK_BROKEN,
            f'{link} -> {os.readlink(link)} (purged?); uv fails with "File exists"',
            f"rm {link}",
        )
    real = [v for v in venvs if not v.is_symlink()]
    if not real:
        return ok(check, f"project {project} on {where}; no .venv inside")
    counts = {v: dir_usage(ctx, v) for v in real}
    total = sum(u.files for u in counts.values())
    shown = ", ".join(f"{v} ({u.files:,} files)" for v, u in counts.items())
    if ctx.depot_dir() is not None:
        fix = f"rm -rf {' '.join(map(str, real))}; `uv sync` recreates it in $UVMOD_VENV_DEPOT"
    else:
        fix = f"module load {ctx.module_name}, then rm -rf {real[0]} and `uv sync`"
    return found(
        check,
        Status.WARN,
        findings.VENV_IN_PROJECT,
        f"{total:,} files on {where}: {shown}",
        fix,
    )


Lock = Callable[[int, int], None]


def _try_lock(directory: Path, lock: Lock) -> OSError | None:
    """Create a temporary file in `directory` (or its nearest existing ancestor: uv creates the
    directory there), take and release an exclusive flock like uv does, remove the file."""
    target = nearest_existing(directory)
    fd, name = tempfile.mkstemp(prefix=".uvmod-doctor-", dir=target)
    try:
        lock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock(fd, fcntl.LOCK_UN)
    except OSError as exc:
        return exc
    finally:
        os.close(fd)
        os.unlink(name)
    return None


def check_locking(ctx: Context, lock: Lock = fcntl.flock) -> Result:
    """`lock` is fcntl.flock; tests pass one that fails as Lustre without `flock` does."""
    check = "filesystems.flock"
    places = ctx.uv_directories()
    for directory, what in places:
        try:
            error = _try_lock(directory, lock)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
                return found(
                    check,
                    Status.FAIL,
                    findings.NOT_WRITABLE,
                    f"the {what} {directory}: {exc.strerror}",
                    _move_fix(what),
                )
            raise
        if error is not None:
            return found(
                check,
                Status.FAIL,
                findings.FLOCK_FAILS,
                f"the {what} {directory} on {fs_info(directory).describe()}: flock fails with "
                f"os error {error.errno} ({error.strerror}), and so does every uv command",
                _move_fix(what) + " (Lustre needs the `flock` mount option; "
                "https://github.com/astral-sh/uv/issues/9050; uv has no switch to skip the "
                "lock yet: https://github.com/astral-sh/uv/issues/13626)",
            )
    names = " and ".join(what for _, what in places)
    return ok(check, f"flock works in the {names}")


def _move_fix(what: str) -> str:
    if what == "cache":
        return "export UV_CACHE_DIR=<a directory on a filesystem with locking>"
    return "ask your administrator: paths.venv_depot must be on a filesystem with locking"
