"""The MPI/CUDA cache key under real Environment Modules 5.2 and its automated module handling.

The stand-in modules are tests/data/tcl-modulefiles: mpich/4.1.2, mpich/3.4.3 and
openmpi/4.1.5 (family mpi) and cuda/12.2. Each sequence runs in one shell and records the key
after every step, so a wrong intermediate key fails the test too.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import BuildPrefix
from tests.support.modules import ShellResult, base_env, run_envmodules

STANDINS = Path(__file__).parent / "data" / "tcl-modulefiles"
RELOAD = "Reloading dependent: uv-hpc/1.0"


def _steps(
    tmp_path: Path, build_prefix: BuildPrefix, steps: list[str], *, check: bool = True
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
    result = run_envmodules(
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


def test_uv_hpc_then_mpich_leaves_the_key_stale(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    # What Environment Modules cannot follow: uv-hpc declared no requirement on a module that
    # was not loaded yet (declaring one would have loaded it). The key stays as computed at
    # load, with source "load", which is what `uvmod key` compares with LOADEDMODULES.
    records, _ = _steps(tmp_path, build_prefix, ["module load uv-hpc", "module load mpich"])
    assert records == [
        ("-", "load", "uv-hpc/1.0"),
        ("-", "load", "uv-hpc/1.0:mpich/4.1.2"),
    ]
    # `module reload` reloads in the same order, so uv-hpc still comes before mpich and the
    # key stays stale; `module switch uv-hpc` loads it again after mpich (the remedy the admin
    # guide gives).
    records, _ = _steps(
        tmp_path,
        build_prefix,
        ["module load uv-hpc", "module load mpich", "module reload", "module switch uv-hpc"],
    )
    assert _keys(records)[-2:] == ["-", "mpich/4.1.2"]
    assert records[-1][2] == "mpich/4.1.2:uv-hpc/1.0"


def test_mpich_then_uv_hpc(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    records, result = _steps(tmp_path, build_prefix, ["module load mpich", "module load uv-hpc"])
    assert records[-1] == ("mpich/4.1.2", "load", "mpich/4.1.2:uv-hpc/1.0")
    # The guarded prereq never loads anything: only what the user loaded is loaded.
    assert "Loading requirement" not in result.stderr


def test_loading_uv_hpc_alone_loads_no_mpi(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    records, result = _steps(tmp_path, build_prefix, ["module load uv-hpc"])
    assert records == [("-", "load", "uv-hpc/1.0")]
    assert "Loading requirement" not in result.stderr


def test_switch_mpich_openmpi_reloads_uv_hpc(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    records, result = _steps(
        tmp_path,
        build_prefix,
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


def test_unload_mpich_reloads_uv_hpc(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    records, result = _steps(
        tmp_path, build_prefix, ["module load mpich uv-hpc", "module unload mpich"]
    )
    assert records == [
        ("mpich/4.1.2", "load", "mpich/4.1.2:uv-hpc/1.0"),
        ("-", "load", "uv-hpc/1.0"),
    ]
    assert RELOAD in result.stderr
    assert "FAKE_MPI" not in result.environ


def test_other_mpich_version(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    # `module load mpich/3.4.3` over 4.1.2 is refused by the family conflict (EM does not
    # autoswap as Lmod does) and the key stays right; `module switch` changes it.
    records, result = _steps(
        tmp_path,
        build_prefix,
        ["module load mpich/4.1.2 uv-hpc", "module load mpich/3.4.3", "module switch mpich/3.4.3"],
    )
    assert _keys(records) == ["mpich/4.1.2", "mpich/4.1.2", "mpich/3.4.3"]
    assert "conflict" in result.stderr
    assert result.environ["FAKE_MPI"] == "mpich-3.4.3"
    assert RELOAD in result.stderr


def test_add_and_remove_cuda(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    records, result = _steps(
        tmp_path,
        build_prefix,
        [
            "module load mpich cuda uv-hpc",
            "module unload cuda",
            "module load cuda",
            "module switch uv-hpc",
        ],
    )
    assert _keys(records) == [
        "cuda/12.2,mpich/4.1.2",
        "mpich/4.1.2",
        "mpich/4.1.2",  # cuda loaded after uv-hpc: stale until uv-hpc is loaded again
        "cuda/12.2,mpich/4.1.2",
    ]
    assert RELOAD in result.stderr


def test_purge_and_unload_uv_hpc_remove_the_key(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    records, _ = _steps(
        tmp_path,
        build_prefix,
        ["module load mpich uv-hpc", "module unload uv-hpc", "module load uv-hpc", "module purge"],
    )
    assert records == [
        ("mpich/4.1.2", "load", "mpich/4.1.2:uv-hpc/1.0"),
        ("-", "-", "mpich/4.1.2"),
        ("mpich/4.1.2", "load", "mpich/4.1.2:uv-hpc/1.0"),
        ("-", "-", ""),
    ]


def test_unload_uv_hpc_keeps_the_users_mpi(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    # The optional requirement must not make EM unload mpich with uv-hpc ("Useless
    # Requirement Unload" only removes modules that were loaded as requirements).
    _, result = _steps(tmp_path, build_prefix, ["module load mpich uv-hpc", "module unload uv-hpc"])
    assert result.environ["LOADEDMODULES"] == "mpich/4.1.2"
    assert result.environ["FAKE_MPI"] == "mpich-4.1.2"


def test_without_auto_handling_the_key_is_stale_after_switch(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    # A site that turns automated module handling off loses the reload; the key then behaves
    # as on Lmod without the hook: computed at load, source "load".
    prefix = build_prefix()
    result = run_envmodules(
        ["module load mpich uv-hpc", "module switch mpich openmpi"],
        base_env(tmp_path, {"MODULES_AUTO_HANDLING": "0"}),
        modulepath=[prefix / "modulefiles", STANDINS],
    )
    assert result.environ["FAKE_MPI"] == "openmpi-4.1.5"
    assert result.environ["UVMOD_CACHE_KEY"] == "mpich/4.1.2"
    assert RELOAD not in result.stderr


def test_loading_another_family_member_is_refused_and_the_key_kept(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    # Lmod autoswaps mpich for openmpi (family mpi); Environment Modules 5.2 refuses the load.
    records, result = _steps(
        tmp_path, build_prefix, ["module load mpich uv-hpc", "module load openmpi"]
    )
    assert records[-1] == ("mpich/4.1.2", "load", "mpich/4.1.2:uv-hpc/1.0")
    assert "conflict" in result.stderr


def test_restore_of_a_saved_collection(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    records, _ = _steps(
        tmp_path,
        build_prefix,
        [
            "module load mpich cuda uv-hpc",
            "module save work",
            "module switch mpich openmpi",
            "module purge",
            "module restore work",
        ],
    )
    assert _keys(records) == [
        "cuda/12.2,mpich/4.1.2",
        "cuda/12.2,mpich/4.1.2",
        "cuda/12.2,openmpi/4.1.5",
        "-",
        "cuda/12.2,mpich/4.1.2",
    ]
