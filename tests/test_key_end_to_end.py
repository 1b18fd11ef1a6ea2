"""Issue 4's end-to-end acceptance: real Lmod with the hook, the uv wrapper, real uv, offline.

A project depending on the test sdist `fake` (tests/support/fakesdist.py, standing in for
mpi4py) and on a pure-Python wheel. Across `module swap`s mpich -> openmpi -> mpich, `uv run`
imports a `fake` built against the MPI loaded at that moment, the return to mpich builds nothing
(served from the cache), and the pure-Python wheel is unpacked once for all keys.

It runs under Lmod with the hook, and under Environment Modules 5.2, whose automated handling
reloads uv-hpc on `module switch` (issue 5). Environment Modules cannot follow an MPI module
loaded *after* uv-hpc: then the wrapper notices the stale key and uses the key of the loaded
modules, and `uvmod key` reports it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import BuildPrefix
from tests.support.fakesdist import mpi_site_toml, write_fake_sdist
from tests.support.modules import ShellResult, base_env, run_envmodules, run_lmod
from tests.support.wheels import write_wheel

TEST_MODULES = Path(__file__).parent / "data" / "modulefiles"
TCL_TEST_MODULES = Path(__file__).parent / "data" / "tcl-modulefiles"
SHOW = "uv run python -c 'import fake; print(fake.BUILT_AGAINST)'"


def _mpi_project(tmp_path: Path, build_prefix: BuildPrefix) -> tuple[Path, Path]:
    """A site whose wheelhouse holds the key-sensitive sdist `fake` and a pure-Python wheel,
    and a project depending on both. Returns (prefix, project)."""
    wheelhouse = tmp_path / "wheelhouse"
    write_fake_sdist(wheelhouse / "generic")
    write_wheel(wheelhouse / "generic", "plain", "1.0", {"plain/__init__.py": "X = 1\n"})
    prefix = build_prefix(mpi_site_toml(wheelhouse))
    project = tmp_path / "work" / "mpiapp"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        '[project]\nname = "mpiapp"\nversion = "0"\nrequires-python = ">=3.10"\n'
        'dependencies = ["fake", "plain"]\n'
    )
    return prefix, project


def _env(tmp_path: Path) -> dict[str, str]:
    return base_env(
        tmp_path,
        {
            "SCRATCH": str(tmp_path / "scratch"),
            "RSNT_ARCH": "generic",
            "UV_PYTHON": sys.executable,
            "UV_OFFLINE": "1",
            "FAKE_BUILD_LOG": str(tmp_path / "builds.log"),
        },
    )


def _three_runs(tmp_path: Path, project: Path, steps: list[str]) -> list[str]:
    """Shell lines: cd, then each module step followed by `uv run` printing BUILT_AGAINST."""
    lines = [f"cd {project}"]
    for i, step in enumerate(steps):
        out = tmp_path / f"out{i}"
        lines += [step, f"{SHOW} > {out} 2> {out}.err"]
    return [*lines, "echo $UVMOD_CACHE_KEY"]


def _check_runs(tmp_path: Path, result: ShellResult, expected: list[str]) -> None:
    outputs = [tmp_path / f"out{i}" for i in range(len(expected))]
    seen = [o.read_text().strip().splitlines()[-1] for o in outputs]
    assert seen == expected, [Path(f"{o}.err").read_text() for o in outputs]
    # Back on mpich nothing was built: two builds for three runs.
    builds = (tmp_path / "builds.log").read_text().splitlines()
    assert builds == ["mpich-4.1.2", "openmpi-4.1.5"]
    assert "Built fake" not in Path(f"{outputs[2]}.err").read_text()
    # One cache for all keys: the pure-Python wheel was unpacked once.
    unpacked = list((tmp_path / "scratch" / "uv").glob("archive-v*/*/plain-1.0.dist-info"))
    assert len(unpacked) == 1, unpacked


def test_uv_run_follows_module_swaps_and_reuses_builds(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix, project = _mpi_project(tmp_path, build_prefix)
    steps = [
        "module load uv-hpc mpich/4.1.2",
        "module swap mpich openmpi",
        "module swap openmpi mpich/4.1.2",
    ]
    result = run_lmod(
        _three_runs(tmp_path, project, steps),
        _env(tmp_path),
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=prefix / "lmod",
    )
    assert result.stdout.strip() == "mpich/4.1.2"
    _check_runs(tmp_path, result, ["mpich-4.1.2", "openmpi-4.1.5", "mpich-4.1.2"])


def test_environment_modules_switch_reloads_uv_hpc_and_uv_follows(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix, project = _mpi_project(tmp_path, build_prefix)
    steps = [
        "module load mpich/4.1.2 uv-hpc",
        "module switch mpich openmpi",
        "module switch openmpi mpich/4.1.2",
    ]
    result = run_envmodules(
        _three_runs(tmp_path, project, steps),
        _env(tmp_path),
        modulepath=[prefix / "modulefiles", TCL_TEST_MODULES],
    )
    assert "Reloading dependent: uv-hpc/1.0" in result.stderr
    assert result.stdout.strip() == "mpich/4.1.2"
    for i in range(3):  # automated module handling kept the key current: nothing to report
        assert "does not match" not in Path(f"{tmp_path}/out{i}.err").read_text()
    _check_runs(tmp_path, result, ["mpich-4.1.2", "openmpi-4.1.5", "mpich-4.1.2"])


def test_environment_modules_mpi_loaded_after_uv_hpc_uses_the_right_key(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    """What Environment Modules cannot follow: the key stays as computed at load, `uvmod key`
    says STALE (exit 1), and the wrapper builds and runs with the key of the loaded modules."""
    prefix, project = _mpi_project(tmp_path, build_prefix)
    result = run_envmodules(
        [
            f"cd {project}",
            "module load uv-hpc",
            "module load mpich/4.1.2",
            f'{sys.executable} -m uvmod key > {tmp_path}/key.out; echo "key-rc=$?"',
            f"{SHOW} > {tmp_path}/out 2> {tmp_path}/out.err",
            f"{sys.executable} -m uvmod venv path > {tmp_path}/venv.out",
            'echo "var=${UVMOD_CACHE_KEY-unset}"',
        ],
        _env(tmp_path),
        modulepath=[prefix / "modulefiles", TCL_TEST_MODULES],
    )
    assert "key-rc=1" in result.stdout
    key_report = (tmp_path / "key.out").read_text()
    assert "STALE" in key_report
    # Under Environment Modules `module reload` keeps the old order: the fix is a switch.
    assert "module switch uv-hpc" in key_report and "module reload" not in key_report
    assert "var=unset" in result.stdout  # the shell's variable is still the load-time key
    assert (tmp_path / "out").read_text().strip().splitlines()[-1] == "mpich-4.1.2"
    err = (tmp_path / "out.err").read_text()
    assert "this command uses 'mpich/4.1.2'" in err and "module switch uv-hpc" in err
    # The build and the environment are mpich's, exactly as if the key had been current.
    assert (tmp_path / "builds.log").read_text().splitlines() == ["mpich-4.1.2"]
    envs = [p.name for p in (tmp_path / "scratch" / "uv-venvs").iterdir() if p.name[0] != "."]
    from uvmod import depot

    assert envs == [depot.env_name(str(project.resolve()), "mpich/4.1.2")]
    # `uvmod venv path` names the environment the wrapper used, not the stale key's.
    assert (tmp_path / "venv.out").read_text().strip().endswith("/" + envs[0])
