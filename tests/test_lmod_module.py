"""The generated Lmod modulefile, loaded in real Lmod."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import BuildPrefix
from tests.support.modules import base_env, run_lmod, user_visible

CPUINFO = Path(__file__).parent / "data" / "cpuinfo"


def test_load_sets_the_contract_variables(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path, {"SCRATCH": str(tmp_path / "scratch"), "RSNT_ARCH": "avx2"})
    result = run_lmod(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    out = result.environ
    assert out["UV_CACHE_DIR"] == f"{tmp_path}/scratch/uv"
    assert out["UVMOD_VENV_DEPOT"] == f"{tmp_path}/scratch/uv-venvs"
    assert out["UVMOD_ARCH"] == "avx2"
    assert out["XDG_CONFIG_DIRS"] == f"{prefix}/uv-hpc/1.0/etc/avx2"
    assert out["PATH"].split(":")[0] == f"{prefix}/uv-hpc/1.0/bin"
    assert out["UV_PYTHON_PREFERENCE"] == "system"
    assert out["UV_PYTHON_DOWNLOADS"] == "manual"
    assert result.stdout == ""


def test_scratch_unset_falls_back_to_home_cache(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path)
    out = run_lmod(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"]).environ
    assert out["UV_CACHE_DIR"] == f"{env['HOME']}/.cache/uv"
    assert out["UVMOD_VENV_DEPOT"] == f"{env['HOME']}/.cache/uv-venvs"


def test_unload_restores_the_environment_exactly(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path, {"XDG_CONFIG_DIRS": "/etc/xdg:/opt/site/xdg"})
    before = run_lmod([":"], env, modulepath=[prefix / "modulefiles"]).environ
    loaded = run_lmod(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"]).environ
    assert loaded["XDG_CONFIG_DIRS"].endswith(":/etc/xdg:/opt/site/xdg")
    after = run_lmod(
        ["module load uv-hpc", "module unload uv-hpc"], env, modulepath=[prefix / "modulefiles"]
    ).environ
    assert user_visible(after) == user_visible(before)


def test_unload_restores_unset_xdg_config_dirs(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path)
    after = run_lmod(
        ["module load uv-hpc", "module unload uv-hpc"], env, modulepath=[prefix / "modulefiles"]
    ).environ
    assert "XDG_CONFIG_DIRS" not in after
    assert "UV_CACHE_DIR" not in after and "UVMOD_ARCH" not in after


def test_two_versions_cannot_be_loaded_together(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = tmp_path / "shared"
    build_prefix(prefix=prefix)
    build_prefix('[module]\nversion = "2.0"\n', prefix=prefix)
    env = base_env(tmp_path)
    result = run_lmod(
        ["module load uv-hpc/1.0", "module load uv-hpc/2.0", "module -t list 2>&1"],
        env,
        modulepath=[prefix / "modulefiles"],
    )
    loaded = result.environ["LOADEDMODULES"].split(":")
    assert loaded == ["uv-hpc/2.0"]
    assert result.environ["PATH"].count("/uv-hpc/") == 1
