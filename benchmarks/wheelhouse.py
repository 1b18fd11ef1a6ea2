"""The benchmark's wheelhouse: real wheels from `pip download`, kept in a cache folder.

The first run downloads numpy, scipy, pandas, h5py, matplotlib and their dependencies for the
running Python into ~/.cache/uvmod-bench/wheels (a flat directory, like one directory of the
Alliance wheelhouse); later runs find everything there and need no network. When neither works
the benchmark is skipped with the reason: it must never fail CI because PyPI is unreachable.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

# What a typical user of a scientific cluster installs (issue 7).
FULL_PACKAGES = ("numpy", "scipy", "pandas", "h5py", "matplotlib")
# --quick: one compiled package with no dependencies keeps CI fast and the download small.
QUICK_PACKAGES = ("numpy",)

# The key-sensitive sdist of item 5; its in-tree backend is sdist_backend.py (keep these in step).
SDIST_NAME = "bench-mpi-ext"
SDIST_VERSION = "0.1.0"
BUILD_LOG_VARIABLE = "UVMOD_BENCH_BUILD_LOG"


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


PYPROJECT = """\
[build-system]
requires = []
build-backend = "backend"
backend-path = ["."]

[project]
name = "{name}"
version = "{version}"
"""


def write_key_sensitive_sdist(directory: Path) -> Path:
    """A tiny sdist standing in for mpi4py: what it builds depends on the loaded MPI."""
    directory.mkdir(parents=True, exist_ok=True)
    base = f"{SDIST_NAME.replace('-', '_')}-{SDIST_VERSION}"
    files = {
        "pyproject.toml": PYPROJECT.format(name=SDIST_NAME, version=SDIST_VERSION),
        "backend.py": (Path(__file__).parent / "sdist_backend.py").read_text(),
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {SDIST_NAME}\nVersion: {SDIST_VERSION}\n",
    }
    path = directory / f"{base}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{base}/{name}")
            info.size = len(data)
            info.mtime = 0  # reproducible bytes: the same sdist hash on every run
            tar.addfile(info, io.BytesIO(data))
    return path
