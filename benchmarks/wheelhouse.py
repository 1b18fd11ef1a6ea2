"""The benchmark's wheelhouse: real wheels from `pip download`, kept in a cache folder.

The first run downloads numpy, scipy, pandas, h5py, matplotlib and their dependencies for the
running Python into ~/.cache/uvmod-bench/wheels (a flat directory, like one directory of the
Alliance wheelhouse); later runs find everything there and need no network. Row 5 also needs
the real mpi4py sdist and its build requirements, kept in a folder of their own. When neither
works the benchmark (or row 5) is skipped with the reason: it must never fail CI because PyPI
is unreachable.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

# What a typical user of a scientific cluster installs: the packages of rows 1-3.
FULL_PACKAGES = ("numpy", "scipy", "pandas", "h5py", "matplotlib")
# --quick: one compiled package with no dependencies keeps CI fast and the download small.
QUICK_PACKAGES = ("numpy",)

# Row 5: the real mpi4py sdist and what its build needs, offline. mpi4py 3.1.6 does not build
# with setuptools 84 (its build passes `dry_run` to new_compiler): the wheelhouse holds < 81.
MPI4PY = "mpi4py==3.1.6"
MPI4PY_SDIST = "mpi4py-3.1.6.tar.gz"
MPI4PY_BUILD_REQUIREMENTS = ("setuptools>=75,<81", "wheel")


class WheelsUnavailable(RuntimeError):
    """The wheels are not cached and cannot be downloaded (no network, no pip)."""


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "uvmod-bench" / "wheels"


def _pip_download(cache: Path, packages: Sequence[str], offline: bool) -> None:
    argv = [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d", str(cache)]
    if offline:
        # Resolves only against the cache: succeeds exactly when every wheel is already there.
        argv += ["--no-index", "--find-links", str(cache)]
    else:
        # A firewalled CI machine may drop packets instead of refusing: fail in about a minute
        # rather than after pip's default retries.
        argv += ["--timeout", "20", "--retries", "2"]
    proc = subprocess.run(
        [*argv, *packages], capture_output=True, text=True, check=False, timeout=900
    )
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        raise WheelsUnavailable(lines[-1] if lines else f"pip exited {proc.returncode}")


def ensure_wheels(cache: Path, packages: Sequence[str]) -> Path:
    """A flat directory holding wheels for `packages` and their dependencies."""
    cache.mkdir(parents=True, exist_ok=True)
    try:
        _pip_download(cache, packages, offline=True)
        return cache
    except (WheelsUnavailable, OSError, subprocess.TimeoutExpired):
        pass
    try:
        _pip_download(cache, packages, offline=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise WheelsUnavailable(str(error)) from error
    return cache


def default_mpi4py_cache() -> Path:
    """Where .ci/run put the tests' copy (UVMOD_MPI4PY_WHEELHOUSE), else the bench's own."""
    if os.environ.get("UVMOD_MPI4PY_WHEELHOUSE"):
        return Path(os.environ["UVMOD_MPI4PY_WHEELHOUSE"])
    return default_cache().parent / "mpi4py"


def ensure_mpi4py(cache: Path) -> Path:
    """A flat directory with the mpi4py sdist and wheels of its build requirements."""
    cache.mkdir(parents=True, exist_ok=True)
    if (cache / MPI4PY_SDIST).is_file() and list(cache.glob("setuptools-*.whl")):
        return cache
    base = [sys.executable, "-m", "pip", "download", "-q", "-d", str(cache)]
    base += ["--timeout", "20", "--retries", "2"]
    for argv in (
        [*base, "--no-deps", "--no-binary=:all:", MPI4PY],
        [*base, "--only-binary=:all:", *MPI4PY_BUILD_REQUIREMENTS],
    ):
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise WheelsUnavailable(str(error)) from error
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            raise WheelsUnavailable(lines[-1] if lines else f"pip exited {proc.returncode}")
    return cache
