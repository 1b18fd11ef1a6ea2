"""The module commands that only look at uv-hpc work whatever the user's environment; only
`module load` needs the variables of [paths]. Each Lmod and Environment Modules of the matrix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support.modules import MODULE_TOOLS, ModuleTool, base_env

# A site whose paths need $SCRATCH, with no fallback: a login shell without it (an admin
# building the spider cache, a user reading `module show`) must still see the module.
NEEDS_SCRATCH = '[paths]\ncache = "${SCRATCH}/uv"\nvenv_depot = "${SCRATCH}/uv-venvs"\n'


@pytest.fixture
def prefix(build_prefix: BuildPrefix) -> Path:
    return build_prefix(NEEDS_SCRATCH)


@pytest.mark.parametrize(
    ("command", "shows"),
    [
        ("module show uv-hpc", 'setenv("UV_CACHE_DIR","${SCRATCH}/uv")'),
        ("module help uv-hpc", "Run `uvmod doctor` when something looks wrong."),
        ("module whatis uv-hpc", "uv-hpc/1.0          : Name: uv-hpc"),
        ("module avail uv-hpc", "uv-hpc/1.0"),
        ("module spider uv-hpc/1.0", "uv, the Python package and project manager"),
    ],
)
def test_lmod_commands_that_only_look(
    tmp_path: Path, prefix: Path, lmod_tool: ModuleTool, command: str, shows: str
) -> None:
    result = lmod_tool.run(
        [f"{command} 2>&1"], base_env(tmp_path), modulepath=[prefix / "modulefiles"]
    )
    assert shows in result.stdout
    assert "which is not set" not in result.stdout
    assert "error" not in result.stdout.lower()


@pytest.mark.parametrize(
    ("command", "shows"),
    [
        ("module display uv-hpc", "setenv\t\tUV_CACHE_DIR ${SCRATCH}/uv"),
        ("module help uv-hpc", "Run `uvmod doctor` when something looks wrong."),
        ("module whatis uv-hpc", "uv-hpc/1.0: Name: uv-hpc"),
        ("module avail uv-hpc", "uv-hpc/1.0"),
    ],
)
def test_environment_modules_commands_that_only_look(
    tmp_path: Path, prefix: Path, em_tool: ModuleTool, command: str, shows: str
) -> None:
    result = em_tool.run(
        [f"{command} 2>&1"], base_env(tmp_path), modulepath=[prefix / "modulefiles"]
    )
    assert shows in result.stdout
    assert "which is not set" not in result.stdout
    assert "ERROR" not in result.stdout


def test_load_still_fails_with_the_message(tmp_path: Path, prefix: Path) -> None:
    env = base_env(tmp_path)
    script = ["module load uv-hpc", 'echo "status=$?"']
    for tool in MODULE_TOOLS:
        tool.require()
        result = tool.run(script, env, modulepath=[prefix / "modulefiles"])
        assert "status=1" in result.stdout
        assert "uv-hpc: UV_CACHE_DIR needs $SCRATCH, which is not set" in " ".join(
            result.stderr.split()
        )
        assert "UV_CACHE_DIR" not in result.environ
    # And with it set, the load works and `module show` shows the real value.
    env["SCRATCH"] = str(tmp_path / "scratch")
    result = MODULE_TOOLS[0].run(
        ["module show uv-hpc 2>&1", "module load uv-hpc"], env, modulepath=[prefix / "modulefiles"]
    )
    assert f'setenv("UV_CACHE_DIR","{tmp_path}/scratch/uv")' in result.stdout
    assert result.environ["UV_CACHE_DIR"] == f"{tmp_path}/scratch/uv"
