"""The cache key under each Lmod of the matrix: what only Lmod does.

The sequences every tool runs are in tests/test_key_sequences.py; the ways a site installs the
hook, and its own hooks next to uvmod's, in tests/test_lmod_site_hooks.py. Here: Lmod without the
hook (the key as the modulefile computed it, which the wrapper then checks), `uvmod key` on what
Lmod leaves, and the hook leaving alone a shell without uv-hpc.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support import tools
from tests.support.keysteps import SITES, run_steps
from tests.support.modules import ModuleTool, base_env

TEST_MODULES = Path(__file__).parent / "data" / "modulefiles"


def test_without_the_hook_the_key_is_computed_at_load(
    tmp_path: Path, build_prefix: BuildPrefix, lmod_tool: ModuleTool
) -> None:
    prefix = build_prefix(SITES["by-family"].toml)
    states, stdout, _ = run_steps(
        tmp_path,
        lmod_tool,
        [
            "module load mpich/4.1.2 cuda/12.2",
            "module load uv-hpc",
            "module swap mpich openmpi",
            "module unload cuda",
            "module reload uv-hpc",
            "module unload uv-hpc",
        ],
        site="by-family",
        modulepath=[prefix / "modulefiles", TEST_MODULES],
    )
    assert [(s.key, s.source) for s in states[1:]] == [
        ("cuda/12.2,mpich/4.1.2", "load"),
        # What the hook exists for: Lmod does not re-evaluate uv-hpc on a swap, and the
        # re-evaluation of Lmod 8.7 after an unload changes nothing it exports.
        ("cuda/12.2,mpich/4.1.2", "load"),
        ("cuda/12.2,mpich/4.1.2", "load"),
        ("openmpi/4.1.5", "load"),
        (None, None),
    ]
    # The wrapper sees where the key lags, and uses the loaded modules' key then.
    assert [s.wrapper_sees_current for s in states[1:5]] == [True, False, False, True]
    assert stdout == ""


def test_without_the_hook_a_family_set_in_the_same_command_counts(
    tmp_path: Path, build_prefix: BuildPrefix, lmod_tool: ModuleTool
) -> None:
    """`module load mpich uv-hpc`: the modulefile reads LMOD_FAMILY_MPI, which mpich set a moment
    earlier in the same Lmod process."""
    prefix = build_prefix(SITES["by-family"].toml)
    states, _, _ = run_steps(
        tmp_path,
        lmod_tool,
        ["module load mpich/4.1.2 uv-hpc"],
        site="by-family",
        modulepath=[prefix / "modulefiles", TEST_MODULES],
    )
    assert (states[0].key, states[0].source) == ("mpich/4.1.2", "load")


def test_without_the_hook_no_key_module_leaves_the_variable_unset(
    tmp_path: Path, build_prefix: BuildPrefix, lmod_tool: ModuleTool
) -> None:
    prefix = build_prefix(SITES["by-family"].toml)
    states, _, _ = run_steps(
        tmp_path,
        lmod_tool,
        ["module load uv-hpc"],
        site="by-family",
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        # A value left over from elsewhere is not a key for the modules loaded now.
        extra_env={"UVMOD_CACHE_KEY": "mpich/0.0"},
    )
    assert states[0].key is None and states[0].source == "load"


@pytest.mark.parametrize("hook", [False, True])
def test_uvmod_key_after_a_swap_and_an_unload(
    tmp_path: Path, build_prefix: BuildPrefix, lmod_tool: ModuleTool, hook: bool
) -> None:
    """With the hook `uvmod key` finds the key current; without it, stale, with the reason."""
    prefix = build_prefix(SITES["by-family"].toml)
    out = tmp_path / "key.json"
    lmod_tool.run(
        [
            "module load mpich/4.1.2 cuda/12.2 uv-hpc",
            "module swap mpich openmpi",
            "module unload cuda",
            f"{sys.executable} -m uvmod key --json > {out}; echo $? > {out}.rc",
        ],
        base_env(tmp_path, {"PYTHONPATH": str(Path(__file__).parents[1])}),
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=prefix / "lmod" if hook else None,
    )
    rc = int(Path(f"{out}.rc").read_text())
    report = json.loads(out.read_text())
    assert report["key"] == "openmpi/4.1.5"
    assert report["modules"] == [{"name": "openmpi/4.1.5", "reason": "family mpi"}]
    assert report["hook_active"] is hook
    if hook:
        assert (rc, report["stale"], report["value"]) == (0, False, "openmpi/4.1.5")
    else:
        assert (rc, report["stale"], report["value"]) == (1, True, "cuda/12.2,mpich/4.1.2")
        assert report["fix"] == "module reload uv-hpc"


def test_hook_leaves_the_environment_alone_without_uv_hpc(
    tmp_path: Path, build_prefix: BuildPrefix, lmod_tool: ModuleTool
) -> None:
    prefix = build_prefix(SITES["by-family"].toml)
    result = lmod_tool.run(
        ["module load mpich/4.1.2 cuda/12.2", "module unload cuda", "module list 2>/dev/null"],
        base_env(tmp_path),
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=prefix / "lmod",
    )
    assert "UVMOD_CACHE_KEY" not in result.environ
    assert "UVMOD_KEY_SOURCE" not in result.environ
    assert result.environ["FAKE_MPI"] == "mpich-4.1.2"


def test_every_installed_lua_file_compiles(build_prefix: BuildPrefix) -> None:
    luac = tools.program("luac")
    prefix = build_prefix()
    files = sorted(prefix.rglob("*.lua"))
    names = {str(f.relative_to(prefix)) for f in files}
    assert {"lmod/SitePackage.lua", "lmod/uvmod_hooks.lua", "modulefiles/uv-hpc/1.0.lua"} <= names
    static = sorted((Path(__file__).parents[1] / "lua").glob("*.lua"))
    for path in [*files, *static, *TEST_MODULES.rglob("*.lua")]:
        proc = subprocess.run([luac, "-p", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, f"{path}: {proc.stderr}"
