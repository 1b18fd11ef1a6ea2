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
# Where .ci/run unpacks Environment Modules (`dpkg -x`): it conflicts with the lmod package.
EM_ROOT = Path(
    os.environ.get(
        "UVMOD_EM_ROOT",
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        / "uvmod-ci"
        / "environment-modules",
    )
)


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
JUPYTER_WHEELS = Path(
    os.environ.get(
        "UVMOD_JUPYTER_WHEELS",
        Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        / "uvmod-ci"
        / "jupyter-wheels",
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
