"""doctor on a heterogeneous cluster: the node type and its chain, a module loaded on another
node type, and environments and builds made for another one. Real Lmod, real uv, the Alliance
layout (one numpy file name in gentoo2020/avx512, gentoo2020/avx2 and generic)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.doctor.support import CPUINFO, loaded_env, make_project, real_venv, run_doctor
from tests.support import tools
from tests.support.nodes import node
from tests.support.wheels import cpython_tag, write_wheel
from uvmod import depot
from uvmod.doctor.registry import CHECKS

ONLY = [c for c in CHECKS if c.id.startswith("node.")]
SKYLAKE = str(CPUINFO / "skylake-avx512.txt")
ROME = str(CPUINFO / "epyc-rome-avx2.txt")


@pytest.fixture
def prefix(tmp_path: Path, build_prefix: BuildPrefix) -> Path:
    root = tmp_path / "wheelhouse"
    for directory in ("gentoo2020/avx512", "gentoo2020/avx2", "generic"):
        files = {"numpy/__init__.py": f"ORIGIN = {directory!r}\n"}
        write_wheel(root / directory, "numpy", "1.24.2+computecanada", files, tag=cpython_tag())
    return build_prefix(
        f'[wheelhouse]\nroot = "{root}"\npypi = false\n[wheelhouse.arch]\n'
        'avx512 = ["gentoo2020/avx512", "generic"]\navx2 = ["gentoo2020/avx2", "generic"]\n'
        'generic = ["generic"]\n'
    )


def test_the_node_type_and_its_chain(tmp_path: Path, prefix: Path) -> None:
    env = loaded_env(tmp_path, prefix, {"UVMOD_CPUINFO": SKYLAKE})
    result = run_doctor(env, cwd=tmp_path, checks=ONLY).check("node.type")
    assert result["status"] == "ok"
    machine = node().machine
    assert result["finding"] == (
        f"arch avx512 (cpuinfo {SKYLAKE}), machine {machine}; chain: gentoo2020/avx512, generic"
    )


def test_a_module_loaded_on_another_node_type(tmp_path: Path, prefix: Path) -> None:
    """Loaded on an avx512 login node, then the shell (a job inheriting it) is on avx2."""
    env = loaded_env(tmp_path, prefix, {"UVMOD_CPUINFO": SKYLAKE})
    env["UVMOD_CPUINFO"] = ROME
    report = run_doctor(env, cwd=tmp_path, checks=ONLY)
    assert report.code == 1
    report.assert_found(
        "node.type",
        "fail",
        "the module was loaded on another node type: this shell's module chose arch avx512 "
        f"({node().machine}), but this node is avx2",
        "module unload uv-hpc && module load uv-hpc",
    )


def _numpy_venv(tmp_path: Path, env: dict[str, str]) -> Path:
    """A user environment (VIRTUAL_ENV) with numpy installed by the real uv under `env`."""
    uv = tools.real_uv()
    venv = real_venv(uv, tmp_path / "myenv", env)
    subprocess.run(
        [uv, "pip", "install", "--offline", "numpy"],
        env={**env, "VIRTUAL_ENV": str(venv)},
        check=True,
        capture_output=True,
    )
    return venv


def test_builds_installed_from_another_node_types_directory(tmp_path: Path, prefix: Path) -> None:
    avx512 = loaded_env(tmp_path, prefix, {"UVMOD_CPUINFO": SKYLAKE})
    venv = _numpy_venv(tmp_path, avx512)
    avx2 = loaded_env(tmp_path, prefix, {"UVMOD_CPUINFO": ROME})
    assert run_doctor({**avx512, "VIRTUAL_ENV": str(venv)}, cwd=tmp_path, checks=ONLY).code == 0
    report = run_doctor({**avx2, "VIRTUAL_ENV": str(venv)}, cwd=tmp_path, checks=ONLY)
    report.assert_found(
        "node.builds",
        "fail",
        f"a package was installed from another node type's wheels: {venv}: numpy "
        "1.24.2+computecanada from gentoo2020/avx512; not in this avx2 node's chain",
        "uv pip install --reinstall-package numpy",
    )
    # The same file name from this node's own directory is not reported.
    subprocess.run(
        [tools.real_uv(), "pip", "install", "--offline", "--reinstall", "numpy"],
        env={**avx2, "VIRTUAL_ENV": str(venv)},
        check=True,
        capture_output=True,
    )
    again = run_doctor({**avx2, "VIRTUAL_ENV": str(venv)}, cwd=tmp_path, checks=ONLY)
    assert again.check("node.builds")["status"] == "ok"


def test_an_environment_made_on_another_node_type(tmp_path: Path, prefix: Path) -> None:
    project = make_project(tmp_path / "work" / "proj")
    avx2 = loaded_env(tmp_path, prefix, {"UVMOD_CPUINFO": ROME})
    other = real_venv(tools.real_uv(), tmp_path / "scratch" / "uv-venvs" / "proj-x", avx2)
    depot.write_marker(other, project, "", node("avx512"))
    env = {**avx2, "UV_PROJECT_ENVIRONMENT": str(other)}
    report = run_doctor(env, cwd=project, project=project, checks=ONLY)
    report.assert_found(
        "node.environments",
        "fail",
        f"the environment was made on another node type: {other} (UV_PROJECT_ENVIRONMENT) "
        f"was made for avx512 ({node().machine}); this node is avx2",
        "unset UV_PROJECT_ENVIRONMENT",
    )
    del env["UV_PROJECT_ENVIRONMENT"]
    fine = run_doctor(env, cwd=project, project=project, checks=ONLY)
    assert fine.check("node.environments")["status"] == "ok"
