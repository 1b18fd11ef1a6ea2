"""The seed scenario of uv#16216 under Environment Modules: the same wheelhouse, the same seed
project, the same commands as tests/test_wheelhouse.py, loaded through modulecmd.tcl instead of
Lmod. Only the module tool differs, so a difference in outcome is a difference in the Tcl
rendering."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import BuildPrefix
from tests.support.modules import base_env, run_envmodules
from tests.test_wheelhouse import _site, seed_project, wheelhouse

__all__ = ["seed_project", "wheelhouse"]  # fixtures shared with the Lmod scenario


def test_seed_project_installs_offline_from_the_wheelhouse(
    tmp_path: Path, build_prefix: BuildPrefix, wheelhouse: Path, seed_project: Path
) -> None:
    prefix = build_prefix(_site(wheelhouse, pypi=False))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = base_env(tmp_path, {"SCRATCH": str(tmp_path / "scratch"), "RSNT_ARCH": "avx2"})
    result = run_envmodules(
        [
            "set -e",
            "module load uv-hpc",
            f"uv venv X --python {sys.executable}",
            f"VIRTUAL_ENV=X uv -v pip install --offline {seed_project} 2> install.log",
            "X/bin/python -c 'import numpy; print(\"numpy\", numpy.__version__)'",
        ],
        env,
        modulepath=[prefix / "modulefiles"],
        cwd=elsewhere,
    )
    assert "numpy 1.24.2+computecanada" in result.stdout
    log = (elsewhere / "install.log").read_text()
    assert "Selecting: setuptools==75.1.0+computecanada" in log
    assert "files.pythonhosted.org" not in log and "pypi.org" not in log
    assert (tmp_path / "scratch" / "uv").is_dir()
    assert result.environ["_LMFILES_"] == f"{prefix}/modulefiles/uv-hpc/1.0"


def test_requirements_read_from_another_directory_pyproject(
    tmp_path: Path, build_prefix: BuildPrefix, wheelhouse: Path, seed_project: Path
) -> None:
    prefix = build_prefix(_site(wheelhouse, pypi=False))
    env = base_env(tmp_path, {"SCRATCH": str(tmp_path / "scratch"), "RSNT_ARCH": "avx2"})
    result = run_envmodules(
        [
            "set -e",
            "module load uv-hpc",
            f"uv venv Y --python {sys.executable} -q",
            f"VIRTUAL_ENV=Y uv pip install --offline -r {seed_project}/pyproject.toml",
            "VIRTUAL_ENV=Y uv pip list --offline",
        ],
        env,
        modulepath=[prefix / "modulefiles"],
        cwd=tmp_path,
    )
    assert "1.24.2+computecanada" in result.stdout
