"""Filesystems: cache and depot apart (a real tmpfs), a crowded .venv, a dangling .venv link,
and flock failing as on Lustre mounted without `flock`."""

from __future__ import annotations

import errno
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.doctor.support import loaded_env, make_project, real_venv, run_doctor
from tests.support import tools
from uvmod.doctor import filesystems
from uvmod.doctor.context import Context
from uvmod.doctor.registry import CHECKS, Check
from uvmod.doctor.result import Result


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A separate filesystem the test mounts itself (needs root and mount permission)."""
    point = tmp_path / "otherfs"
    point.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip()}): needs root in a VM")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_cache_and_depot_on_different_filesystems(
    tmp_path: Path, build_prefix: BuildPrefix, tmpfs: Path
) -> None:
    prefix = build_prefix('[paths]\ncache = "${SCRATCH}/uv"\nvenv_depot = "${FASTFS}/uv-venvs"\n')
    env = loaded_env(tmp_path, prefix, {"FASTFS": str(tmpfs)})
    assert env["UVMOD_VENV_DEPOT"] == f"{tmpfs}/uv-venvs"
    # A real environment in the depot, so the finding can say what copying costs.
    real_venv(tools.real_uv(), tmpfs / "uv-venvs" / "proj-0123456789abcdef", env)
    report = run_doctor(env, cwd=tmp_path)
    assert report.code == 0  # uv still works, with a warning and copies
    result = report.assert_found(
        "filesystems.same",
        "warn",
        f"the cache and the environments are on different filesystems: cache "
        f"{tmp_path}/scratch/uv (UV_CACHE_DIR) on ",
        f"export UV_CACHE_DIR=<a directory on {tmpfs}>",
    )
    assert f"the environment depot {tmpfs}/uv-venvs on {tmpfs} (tmpfs)" in result["finding"]
    assert "uv copies instead of linking" in result["finding"]
    assert re.search(r"the environment depot now: [\d.]+ [kM]?B, \d+ files", result["finding"])


def test_cache_moved_by_hand_after_loading(
    tmp_path: Path, build_prefix: BuildPrefix, tmpfs: Path
) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    env["UV_CACHE_DIR"] = str(tmpfs / "uv")
    report = run_doctor(env, cwd=tmp_path)
    report.assert_found(
        "filesystems.same",
        "warn",
        f"cache {tmpfs}/uv (UV_CACHE_DIR) on {tmpfs} (tmpfs)",
        "module reload uv-hpc (UV_CACHE_DIR was changed after loading it)",
    )


def test_same_filesystem_is_ok(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    report = run_doctor(env, cwd=tmp_path)
    result = report.check("filesystems.same")
    assert result["status"] == "ok"
    assert result["finding"].startswith(f"cache {tmp_path}/scratch/uv and the environment depot")


def test_venv_with_5000_files_inside_the_project(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    project = make_project(tmp_path / "work" / "analysis")
    venv = real_venv(tools.real_uv(), project / ".venv", env)
    # Every entry but directories costs an inode: files and symlinks (lib64 -> lib) alike.
    find = subprocess.run(["find", str(venv), "!", "-type", "d"], capture_output=True, text=True)
    before = len(find.stdout.splitlines())
    site = next(venv.glob("lib/python*/site-packages"))
    for i in range(50):
        package = site / f"pkg{i}"
        package.mkdir()
        for j in range(100):
            (package / f"m{j}.py").write_text("")
    report = run_doctor(env, cwd=project)
    result = report.assert_found(
        "filesystems.project",
        "warn",
        f"a .venv inside the project counts against your file quota: {before + 5000:,} files on ",
        f"rm -rf {venv}; `uv sync` recreates it in $UVMOD_VENV_DEPOT",
    )
    assert f"{venv} ({before + 5000:,} files)" in result["finding"]


def test_nested_venvs_are_counted_and_deep_ones_ignored(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    project = make_project(tmp_path / "mono")
    (project / "sub" / ".venv" / "lib").mkdir(parents=True)
    (project / "sub" / ".venv" / "lib" / "x.py").write_text("")
    (project / "a" / "b" / "c" / ".venv").mkdir(parents=True)  # below MAX_DEPTH
    (project / "a" / "b" / "c" / ".venv" / "y.py").write_text("")
    report = run_doctor(env, cwd=project)
    result = report.check("filesystems.project")
    assert result["status"] == "warn"
    assert f"{project}/sub/.venv (1 files)" in result["finding"]
    assert "a/b/c" not in result["finding"]


def test_dangling_venv_symlink(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    project = make_project(tmp_path / "proj")
    (project / ".venv").symlink_to(tmp_path / "scratch" / "purged-env")
    report = run_doctor(env, cwd=project)
    assert report.code == 1
    report.assert_found(
        "filesystems.project",
        "fail",
        f"the project's .venv is a symlink to a missing directory: {project}/.venv -> "
        f"{tmp_path}/scratch/purged-env",
        f"rm {project}/.venv",
    )


def _lustre_without_flock(fd: int, operation: int) -> None:
    # What flock(2) returns on a Lustre client mounted without -o flock/localflock.
    raise OSError(errno.ENOSYS, os.strerror(errno.ENOSYS))


def _checks_with(lock: filesystems.Lock) -> tuple[Check, ...]:
    def check_locking(ctx: Context) -> Result:
        return filesystems.check_locking(ctx, lock)

    return tuple(
        Check(c.id, check_locking) if c.run is filesystems.check_locking else c for c in CHECKS
    )


def test_flock_not_supported(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    report = run_doctor(env, cwd=tmp_path, checks=_checks_with(_lustre_without_flock))
    assert report.code == 1
    report.assert_found(
        "filesystems.flock",
        "fail",
        f"file locking does not work in a uv directory: the cache {tmp_path}/scratch/uv on ",
        "export UV_CACHE_DIR=<a directory on a filesystem with locking>",
    )
    assert "os error 38 (Function not implemented)" in report.check("filesystems.flock")["finding"]
    assert not list((tmp_path / "scratch").glob(".uvmod-doctor-*"))  # the probe file is gone


def test_flock_works_for_real(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    report = run_doctor(env, cwd=tmp_path)
    assert report.check("filesystems.flock")["finding"] == "flock works in the cache and depot"


def test_read_only_cache(tmp_path: Path, build_prefix: BuildPrefix, tmpfs: Path) -> None:
    prefix = build_prefix()
    env = loaded_env(tmp_path, prefix)
    subprocess.run(["mount", "-o", "remount,ro", str(tmpfs)], check=True)
    env["UV_CACHE_DIR"] = str(tmpfs / "uv")
    report = run_doctor(env, cwd=tmp_path)
    report.assert_found(
        "filesystems.flock",
        "fail",
        f"a uv directory is not writable: the cache {tmpfs}/uv: Read-only file system",
        "export UV_CACHE_DIR=",
    )


def test_xdg_cache_home_elsewhere_without_the_module(tmp_path: Path, tmpfs: Path) -> None:
    """The seed report's case: no module, XDG_CACHE_HOME on another filesystem than the
    project, whose .venv then gets copies."""
    from tests.support.modules import base_env

    env = base_env(tmp_path, {"XDG_CACHE_HOME": str(tmpfs / "cache")})
    project = make_project(tmp_path / "work" / "proj")
    real_venv(tools.real_uv(), project / ".venv", env)
    report = run_doctor(env, cwd=project)
    report.assert_found(
        "filesystems.same",
        "warn",
        f"cache {tmpfs}/cache/uv (XDG_CACHE_HOME) on {tmpfs} (tmpfs), the project's .venv "
        f"{project}/.venv on ",
        "module load uv-hpc (it keeps the cache and environments together)",
    )
    report.assert_found(
        "filesystems.project",
        "warn",
        "a .venv inside the project counts against your file quota",
        f"module load uv-hpc, then rm -rf {project}/.venv and `uv sync`",
    )
