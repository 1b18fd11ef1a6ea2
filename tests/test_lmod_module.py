"""Lmod's own behaviour with the generated modulefile (what all tools share is in
tests/test_modulefile_load.py)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import BuildPrefix
from tests.support.modules import ModuleTool, base_env


def test_a_second_version_replaces_the_first(
    tmp_path: Path, build_prefix: BuildPrefix, lmod_tool: ModuleTool
) -> None:
    # Lmod swaps one version of a module for another (Environment Modules refuses the second
    # load: tests/test_envmodules_module.py).
    prefix = tmp_path / "shared"
    build_prefix(prefix=prefix)
    build_prefix('[module]\nversion = "2.0"\n', prefix=prefix)
    result = lmod_tool.run(
        ["module load uv-hpc/1.0", "module load uv-hpc/2.0"],
        base_env(tmp_path),
        modulepath=[prefix / "modulefiles"],
    )
    assert result.environ["LOADEDMODULES"] == "uv-hpc/2.0"
    assert result.environ["PATH"].split(":")[0] == f"{prefix}/uv-hpc/2.0/bin"
    assert result.environ["PATH"].count("/uv-hpc/") == 1
