"""Locating the real tools the suite runs against.

In CI (`CI=true`) a missing tool fails the test: `.ci/run` installs all of them, so a skip there
would hide a broken set-up. On a developer machine the test is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

LMOD_INIT = Path("/usr/share/lmod/lmod/init/bash")
_CI_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "uvmod-ci"
# Where .ci/run unpacks Environment Modules (`dpkg -x`): it conflicts with the lmod package.
EM_ROOT = Path(os.environ.get("UVMOD_EM_ROOT", _CI_CACHE / "environment-modules"))
# Where .ci/run puts the real mpi4py sdist and its build requirements (`pip download`).
MPI4PY_WHEELHOUSE = Path(os.environ.get("UVMOD_MPI4PY_WHEELHOUSE", _CI_CACHE / "mpi4py-wheelhouse"))
MPI4PY_SDIST = "mpi4py-3.1.6.tar.gz"
# Debian's libmpich-dev and libopenmpi-dev install both compilers side by side.
MPICC = {"mpich": Path("/usr/bin/mpicc.mpich"), "openmpi": Path("/usr/bin/mpicc.openmpi")}


# Wheels of everything the README's first line installs, downloaded by .ci/run (`pip download
# '.[test]'`) so that tests/test_first_contact.py can run that line with no index at all.
PIP_WHEELS = Path(
    os.environ.get(
        "UVMOD_PIP_WHEELS",
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "uvmod-ci" / "pip-wheels",
    )
)


def need(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


def lmod_init() -> Path:
    need(LMOD_INIT.is_file(), f"Lmod is not installed ({LMOD_INIT}); apt-get install lmod")
    return LMOD_INIT


def modulecmd_tcl() -> Path:
    candidates = [
        EM_ROOT / "usr/lib/x86_64-linux-gnu/modulecmd.tcl",
        EM_ROOT / "usr/lib/modulecmd.tcl",
    ]
    found = next((c for c in candidates if c.is_file()), None)
    need(found is not None, f"Environment Modules is not unpacked under {EM_ROOT} (see .ci/run)")
    assert found is not None
    return found


def mpi4py_wheelhouse() -> Path:
    """The flat directory with the mpi4py sdist and the wheels its build needs, offline."""
    have = {p.name.split("-")[0] for p in MPI4PY_WHEELHOUSE.glob("*.whl")}
    need(
        (MPI4PY_WHEELHOUSE / MPI4PY_SDIST).is_file() and {"setuptools", "wheel"} <= have,
        f"{MPI4PY_SDIST} and setuptools/wheel wheels are not in {MPI4PY_WHEELHOUSE} "
        "(.ci/run fills it with pip download)",
    )
    return MPI4PY_WHEELHOUSE


def real_mpi() -> None:
    """Both MPI implementations, to build the real mpi4py against each."""
    for name, mpicc in MPICC.items():
        package = "libmpich-dev" if name == "mpich" else "libopenmpi-dev"
        need(mpicc.is_file(), f"{mpicc} is missing: apt-get install {package}")


def real_uv() -> str:
    """The pinned uv of the test extra (installed next to this Python), else the one on PATH."""
    import sysconfig

    scripts = Path(sysconfig.get_path("scripts")) / "uv"
    if scripts.is_file():
        return str(scripts)
    found = shutil.which("uv")
    need(found is not None, "uv is not installed (pip install -e '.[test]')")
    assert found is not None
    return found


def program(name: str) -> str:
    found = shutil.which(name)
    need(found is not None, f"{name} is not installed")
    assert found is not None
    return found


def pip_wheels() -> Path:
    found = PIP_WHEELS.is_dir() and any(PIP_WHEELS.glob("uv-*.whl"))
    need(
        found,
        f"no wheels for an offline install in {PIP_WHEELS}: run .ci/run, or "
        f".venv/bin/pip download --dest {PIP_WHEELS} '.[test]' (UVMOD_PIP_WHEELS overrides)",
    )
    return PIP_WHEELS
