"""Lmod's own behaviour with the generated modulefile (what all tools share, and where they
differ in one test, is in tests/test_modulefile_load.py)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import BuildPrefix
from tests.support.modules import ModuleTool, base_env


def test_unloading_another_module_needs_no_variable_of_the_load(
    tmp_path: Path, build_prefix: BuildPrefix, lmod_tool: ModuleTool
) -> None:
    """After an unload Lmod evaluates every loaded modulefile again to check dependencies (its
    "dependencyCk" mode, in 8.6 and up to 8.7.61). uv-hpc declares none, so it stops there:
    `module unload cuda` works although the variable its paths came from is gone."""
    prefix = build_prefix('[paths]\ncache = "${PROJECT_SCRATCH}/uv"\n')
    result = lmod_tool.run(
        [
            "PROJECT_SCRATCH=/p module load mpich/4.1.2 cuda/12.2 uv-hpc || exit 3",
            "module unload cuda || exit 4",
            "module unload uv-hpc || exit 5",
        ],
        base_env(tmp_path),
        modulepath=[prefix / "modulefiles", lmod_tool.standins],
        package_path=prefix / "lmod",
    )
    assert result.environ["LOADEDMODULES"] == "mpich/4.1.2"
    assert "UV_CACHE_DIR" not in result.environ
    assert "PROJECT_SCRATCH" not in result.stderr
