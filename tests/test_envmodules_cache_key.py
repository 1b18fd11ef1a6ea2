"""The cache key under each Environment Modules of the matrix: what only Environment Modules does
(its automated module handling, and what it refuses). The sequences every tool runs are in
tests/test_key_sequences.py.

The stand-in modules are tests/data/tcl-modulefiles: mpich/4.1.2, mpich/3.4.3 and
openmpi/4.1.5 (family mpi) and cuda/12.2. Each sequence runs in one shell and records the key
after every step, so a wrong intermediate key fails the test too.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import BuildPrefix
from tests.support.modules import ModuleTool, ShellResult, base_env

STANDINS = Path(__file__).parent / "data" / "tcl-modulefiles"
RELOAD = "Reloading dependent: uv-hpc/1.0"


def _steps(
    tmp_path: Path,
    build_prefix: BuildPrefix,
    tool: ModuleTool,
    steps: list[str],
    *,
    check: bool = True,
) -> tuple[list[tuple[str, str, str]], ShellResult]:
    """Run the module commands one after the other; after each, record
    (UVMOD_CACHE_KEY or "-", UVMOD_KEY_SOURCE or "-", LOADEDMODULES)."""
    prefix = build_prefix()
    lines = []
    for step in steps:
        lines += [
            step,
            'echo "@@${UVMOD_CACHE_KEY--}|${UVMOD_KEY_SOURCE--}|${LOADEDMODULES-}"',
        ]
    result = tool.run(
        lines,
        base_env(tmp_path, {"RSNT_ARCH": "avx2"}),
        modulepath=[prefix / "modulefiles", STANDINS],
        check=check,
    )
    records = [
        tuple(line[2:].split("|")) for line in result.stdout.splitlines() if line.startswith("@@")
    ]
    return [(r[0], r[1], r[2]) for r in records], result


def _keys(records: list[tuple[str, str, str]]) -> list[str]:
    return [key for key, _, _ in records]


def test_mpich_then_uv_hpc(tmp_path: Path, build_prefix: BuildPrefix, em_tool: ModuleTool) -> None:
    records, result = _steps(
        tmp_path, build_prefix, em_tool, ["module load mpich", "module load uv-hpc"]
    )
    assert records[-1] == ("mpich/4.1.2", "load", "mpich/4.1.2:uv-hpc/1.0")
    # The guarded prereq never loads anything: only what the user loaded is loaded.
    assert "Loading requirement" not in result.stderr


def test_loading_uv_hpc_alone_loads_no_mpi(
    tmp_path: Path, build_prefix: BuildPrefix, em_tool: ModuleTool
) -> None:
    records, result = _steps(tmp_path, build_prefix, em_tool, ["module load uv-hpc"])
    assert records == [("-", "load", "uv-hpc/1.0")]
    assert "Loading requirement" not in result.stderr


def test_switch_mpich_openmpi_reloads_uv_hpc(
    tmp_path: Path, build_prefix: BuildPrefix, em_tool: ModuleTool
) -> None:
    records, result = _steps(
        tmp_path,
        build_prefix,
        em_tool,
        [
            "module load mpich cuda uv-hpc",
            "module switch mpich openmpi",
            "module switch openmpi mpich",
        ],
    )
    assert _keys(records) == [
        "cuda/12.2,mpich/4.1.2",
        "cuda/12.2,openmpi/4.1.5",
        "cuda/12.2,mpich/4.1.2",
    ]
    assert result.stderr.count(RELOAD) == 2
    assert records[1][2] == "cuda/12.2:openmpi/4.1.5:uv-hpc/1.0"


def test_unload_mpich_reloads_uv_hpc(
    tmp_path: Path, build_prefix: BuildPrefix, em_tool: ModuleTool
) -> None:
    records, result = _steps(
        tmp_path, build_prefix, em_tool, ["module load mpich uv-hpc", "module unload mpich"]
    )
    assert records == [
        ("mpich/4.1.2", "load", "mpich/4.1.2:uv-hpc/1.0"),
        ("-", "load", "uv-hpc/1.0"),
    ]
    assert RELOAD in result.stderr
    assert "FAKE_MPI" not in result.environ


def test_other_mpich_version(
    tmp_path: Path, build_prefix: BuildPrefix, em_tool: ModuleTool
) -> None:
    # `module load mpich/3.4.3` over 4.1.2 is refused by the family conflict (EM does not
    # autoswap as Lmod does) and the key stays right; `module switch` changes it.
    records, result = _steps(
        tmp_path,
        build_prefix,
        em_tool,
        ["module load mpich/4.1.2 uv-hpc", "module load mpich/3.4.3", "module switch mpich/3.4.3"],
    )
    assert _keys(records) == ["mpich/4.1.2", "mpich/4.1.2", "mpich/3.4.3"]
    assert "conflict" in result.stderr
    assert result.environ["FAKE_MPI"] == "mpich-3.4.3"
    assert RELOAD in result.stderr


def test_unload_uv_hpc_keeps_the_users_mpi(
    tmp_path: Path, build_prefix: BuildPrefix, em_tool: ModuleTool
) -> None:
    # The optional requirement must not make EM unload mpich with uv-hpc ("Useless
    # Requirement Unload" only removes modules that were loaded as requirements).
    _, result = _steps(
        tmp_path, build_prefix, em_tool, ["module load mpich uv-hpc", "module unload uv-hpc"]
    )
    assert result.environ["LOADEDMODULES"] == "mpich/4.1.2"
    assert result.environ["FAKE_MPI"] == "mpich-4.1.2"


def test_without_auto_handling_the_key_is_stale_after_switch(
    tmp_path: Path, build_prefix: BuildPrefix, em_tool: ModuleTool
) -> None:
    # A site that turns automated module handling off loses the reload; the key then behaves
    # as on Lmod without the hook: computed at load, source "load".
    prefix = build_prefix()
    result = em_tool.run(
        ["module load mpich uv-hpc", "module switch mpich openmpi"],
        base_env(tmp_path, {"MODULES_AUTO_HANDLING": "0"}),
        modulepath=[prefix / "modulefiles", STANDINS],
    )
    assert result.environ["FAKE_MPI"] == "openmpi-4.1.5"
    assert result.environ["UVMOD_CACHE_KEY"] == "mpich/4.1.2"
    assert RELOAD not in result.stderr


def test_loading_another_family_member_is_refused_and_the_key_kept(
    tmp_path: Path, build_prefix: BuildPrefix, em_tool: ModuleTool
) -> None:
    # Lmod autoswaps mpich for openmpi (family mpi); Environment Modules refuses the load,
    # unless the site enables conflict_unload (5.5 and later: tests/test_key_sequences.py).
    records, result = _steps(
        tmp_path, build_prefix, em_tool, ["module load mpich uv-hpc", "module load openmpi"]
    )
    assert records[-1] == ("mpich/4.1.2", "load", "mpich/4.1.2:uv-hpc/1.0")
    assert "conflict" in result.stderr
