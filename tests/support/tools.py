"""Locating the real tools the suite runs against.

In CI (`CI=true`) a missing tool fails the test: `.ci/run` installs all of them, so a skip there
would hide a broken set-up. On a developer machine the test is skipped with the reason.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
from pathlib import Path

import pytest

# Where .ci/module-tools unpacks the module tools that are not Debian 12's lmod package
# (`dpkg -x`: Environment Modules conflicts with the lmod package, and Debian 13's packages do
# not install on Debian 12).
CI_CACHE = Path(
    os.environ.get("UVMOD_CI_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "uvmod-ci"
)
# Each Lmod version of the matrix: the directory holding its `lmod` symlink (`lmod/init/bash`,
# `lmod/libexec`). 8.6.19 is Debian 12's lmod package; 8.7.60 is Debian 13's, relocated.
LMOD_ROOTS = {
    "8.6.19": Path("/usr/share/lmod"),
    "8.7.60": CI_CACHE / "lmod-8.7.60" / "usr/share/lmod",
}
LMOD_INIT = LMOD_ROOTS["8.6.19"] / "lmod/init/bash"
# Each Environment Modules version: the root of its unpacked package. UVMOD_EM_ROOT (5.2.0) is
# the older spelling, kept for set-ups that export it.
EM_ROOTS = {
    "5.2.0": Path(os.environ.get("UVMOD_EM_ROOT") or CI_CACHE / "environment-modules"),
    "5.5.0": CI_CACHE / "environment-modules-5.5.0",
}
EM_ROOT = EM_ROOTS["5.2.0"]
# Where .ci/run puts the real mpi4py sdist and its build requirements (`pip download`).
MPI4PY_WHEELHOUSE = Path(os.environ.get("UVMOD_MPI4PY_WHEELHOUSE", CI_CACHE / "mpi4py-wheelhouse"))
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


# Wheels of jupyter_client and ipykernel with their dependencies, for this Python, downloaded by
# .ci/run (`pip download --only-binary=:all:`): the wheelhouse of tests/test_kernel.py's site.
JUPYTER_WHEELS = Path(os.environ.get("UVMOD_JUPYTER_WHEELS") or CI_CACHE / "jupyter-wheels")


def need(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


@functools.cache
def _lmod_version(init: Path) -> str | None:
    match = re.search(r'^LMOD_VERSION="([^"]+)"', init.read_text(), re.MULTILINE)
    return match.group(1) if match else None


def lmod_init(version: str = "8.6.19") -> Path:
    """Lmod `version`'s bash init file, checked to be that version."""
    init = LMOD_ROOTS[version] / "lmod/init/bash"
    where = "apt-get install lmod" if version == "8.6.19" else ".ci/module-tools"
    need(init.is_file(), f"Lmod {version} is not installed ({init}); {where}")
    found = _lmod_version(init)
    need(found == version, f"{init} is Lmod {found}, not {version}")
    return init


def lmod_libexec(version: str = "8.6.19") -> Path:
    """Lmod `version`'s libexec directory (lmod, spider, update_lmod_system_cache_files)."""
    return lmod_init(version).parent.parent / "libexec"


@functools.cache
def _em_version(modulecmd: Path) -> str | None:
    match = re.search(r"Modules Release ([0-9]+(?:\.[0-9]+)+)", modulecmd.read_text())
    return match.group(1) if match else None


def modulecmd_tcl(version: str = "5.2.0") -> Path:
    """Environment Modules `version`'s modulecmd.tcl, checked to be that version."""
    root = EM_ROOTS[version]
    candidates = [root / "usr/lib/x86_64-linux-gnu/modulecmd.tcl", root / "usr/lib/modulecmd.tcl"]
    found = next((c for c in candidates if c.is_file()), None)
    need(
        found is not None,
        f"Environment Modules {version} is not unpacked under {root} (see .ci/module-tools)",
    )
    assert found is not None
    release = _em_version(found)
    need(release == version, f"{found} is Environment Modules {release}, not {version}")
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


def jupyter_wheels() -> Path:
    found = JUPYTER_WHEELS.is_dir() and any(JUPYTER_WHEELS.glob("ipykernel-*.whl"))
    need(
        found,
        f"no ipykernel wheels in {JUPYTER_WHEELS}: run .ci/run, or .venv/bin/pip download "
        f"--only-binary=:all: --dest {JUPYTER_WHEELS} jupyter_client ipykernel "
        "(UVMOD_JUPYTER_WHEELS overrides)",
    )
    return JUPYTER_WHEELS
