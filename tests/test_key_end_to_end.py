"""End to end: the module tools, the uv wrapper and the real uv, offline, in every tool.

A project depends on the test sdist `fake` (tests/support/fakesdist.py, standing in for mpi4py,
which bakes the MPI a build sees into the wheel) and on a pure-Python wheel. After each module
command users type, `uv run` must import a `fake` built against the MPI loaded at that moment,
from the depot environment of the loaded modules' key; a key seen before builds nothing (served
from the cache); the pure-Python wheel is unpacked once for all keys.

Lmod follows every command through uvmod's hook. Environment Modules reloads uv-hpc when a module
the key came from is unloaded or switched (automated module handling) and cannot follow a module
loaded after uv-hpc: the wrapper then notices the stale key and uses the loaded modules' key, and
`uvmod key` reports it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import BuildPrefix
from tests.support.fakesdist import mpi_site_toml, write_fake_sdist
from tests.support.modules import ModuleTool, ShellResult, base_env
from tests.support.nodes import node
from tests.support.wheels import write_wheel
from uvmod import depot

SHOW = "uv run python -c 'import sys, fake; print(sys.prefix, fake.BUILT_AGAINST)'"


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


def _env(tmp_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    return base_env(
        tmp_path,
        {
            "SCRATCH": str(tmp_path / "scratch"),
            "RSNT_ARCH": "generic",
            "UV_PYTHON": sys.executable,
            "UV_OFFLINE": "1",
            "FAKE_BUILD_LOG": str(tmp_path / "builds.log"),
            **(extra or {}),
        },
    )


@dataclass(frozen=True)
class Step:
    command: str
    key: str  # the key of the modules loaded afterwards: what uv must build under ("" for none)
    uv: bool = True  # run uv afterwards (uv-hpc is loaded)
    # The command under a tool that spells it otherwise, by tool id.
    instead: dict[str, str] = field(default_factory=dict)

    def command_for(self, tool: ModuleTool) -> str:
        return self.instead.get(tool.id, self.command)


# The acceptance sequence, in one shell per tool, with `uv run` after each step. Where uv-hpc
# comes after the module that goes (steps 5 and 6), Lmod 8.7.60 re-evaluates it on the way
# (docs/design.md#lmod-87-re-evaluation).
ACCEPTANCE = [
    Step("module load uv-hpc", ""),
    # uv-hpc before mpich: Environment Modules leaves the variable behind, the wrapper does not.
    Step("module load mpich/4.1.2", "mpich/4.1.2"),
    Step("module purge", "", uv=False),
    Step("module load mpich/4.1.2 cuda/12.2 uv-hpc", "cuda/12.2,mpich/4.1.2"),
    Step("module unload cuda", "mpich/4.1.2"),
    # A family autoswap: Lmod's own; Environment Modules 5.5 with conflict_unload (set for the
    # run); 5.2 has no such option, and switches instead.
    Step(
        "module load openmpi",
        "openmpi/4.1.5",
        instead={"envmodules-5.2.0": "module switch mpich openmpi"},
    ),
    Step("module swap openmpi mpich/4.1.2", "mpich/4.1.2"),
    Step("module switch mpich mpich/3.4.3", "mpich/3.4.3"),  # a version change
    Step("module load cuda/12.2", "cuda/12.2,mpich/3.4.3"),
    Step("module unload cuda", "mpich/3.4.3"),
    Step("module unload mpich", ""),
    Step("module load mpich/4.1.2", "mpich/4.1.2"),
    Step("module reload", "mpich/4.1.2"),
    Step("module save e2e", "mpich/4.1.2", uv=False),
    Step("module purge", "", uv=False),
    Step("module restore e2e", "mpich/4.1.2"),
    Step("module unload uv-hpc", "", uv=False),
]


def _built_against(key: str) -> str:
    """What `fake` records for a key: the MPI in it, as the stand-in module spells it."""
    mpis = [m for m in key.split(",") if m.startswith(("mpich/", "openmpi/"))]
    return mpis[0].replace("/", "-") if mpis else "None"


def test_real_uv_builds_under_the_key_after_every_step(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    prefix, project = _mpi_project(tmp_path, build_prefix)
    lines = [f"cd {project}"]
    for i, step in enumerate(ACCEPTANCE):
        lines.append(f"{step.command_for(module_tool)} || exit 3")
        if step.uv:
            lines.append(f"{SHOW} > {tmp_path}/out{i} 2> {tmp_path}/out{i}.err || exit 4")
    lines.append('echo "after=${UVMOD_CACHE_KEY-unset}"')
    result = module_tool.run(
        lines,
        _env(tmp_path, {"MODULES_CONFLICT_UNLOAD": "1"}),
        modulepath=[prefix / "modulefiles", module_tool.standins],
        package_path=prefix / "lmod" if module_tool.is_lmod else None,
        timeout=300,
    )
    depot_dir = tmp_path / "scratch" / "uv-venvs"
    root = str(project.resolve())
    builds = []
    for i, step in enumerate(ACCEPTANCE):
        if not step.uv:
            continue
        out = (tmp_path / f"out{i}").read_text().split()
        err = (tmp_path / f"out{i}.err").read_text()
        where = f"after `{step.command_for(module_tool)}`:\n{err}"
        # The environment of this key, with `fake` built against the MPI loaded now.
        assert out == [
            str(depot_dir / depot.env_name(root, step.key, node())),
            _built_against(step.key),
        ]
        if step.key not in builds:
            builds.append(step.key)
            assert "Built fake" in err, where
        else:  # a key seen before: served from the cache
            assert "Built fake" not in err, where
    assert (tmp_path / "builds.log").read_text().splitlines() == [_built_against(k) for k in builds]
    assert "after=unset" in result.stdout
    # One cache for all keys: the pure-Python wheel was unpacked once.
    unpacked = list((tmp_path / "scratch" / "uv").glob("archive-v*/*/plain-1.0.dist-info"))
    assert len(unpacked) == 1, unpacked


def test_em_mpi_loaded_after_uv_hpc_is_reported_by_uvmod_key(
    tmp_path: Path, build_prefix: BuildPrefix, em_tool: ModuleTool
) -> None:
    """What Environment Modules cannot follow: the key stays as computed at load, `uvmod key`
    says STALE (exit 1) with Environment Modules' fix, and the wrapper builds and runs with the
    key of the loaded modules."""
    prefix, project = _mpi_project(tmp_path, build_prefix)
    result = em_tool.run(
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
        modulepath=[prefix / "modulefiles", em_tool.standins],
    )
    assert "key-rc=1" in result.stdout
    key_report = (tmp_path / "key.out").read_text()
    assert "STALE" in key_report
    # Under Environment Modules `module reload` keeps the old order: the fix is a switch.
    assert "module switch uv-hpc" in key_report and "module reload" not in key_report
    assert "var=unset" in result.stdout  # the shell's variable is still the load-time key
    assert (tmp_path / "out").read_text().split()[-1] == "mpich-4.1.2"
    err = (tmp_path / "out.err").read_text()
    assert "this command uses 'mpich/4.1.2'" in err and "module switch uv-hpc" in err
    # The build and the environment are mpich's, exactly as if the key had been current.
    assert (tmp_path / "builds.log").read_text().splitlines() == ["mpich-4.1.2"]
    envs = [p.name for p in (tmp_path / "scratch" / "uv-venvs").iterdir() if p.name[0] != "."]
    assert envs == [depot.env_name(str(project.resolve()), "mpich/4.1.2", node())]
    # `uvmod venv path` names the environment the wrapper used, not the stale key's.
    assert (tmp_path / "venv.out").read_text().strip().endswith("/" + envs[0])


def test_em_switch_reloads_uv_hpc_and_nothing_is_reported(
    tmp_path: Path, build_prefix: BuildPrefix, em_tool: ModuleTool
) -> None:
    prefix, project = _mpi_project(tmp_path, build_prefix)
    lines = [f"cd {project}"]
    steps = ["module load mpich/4.1.2 uv-hpc", "module switch mpich openmpi"]
    for i, step in enumerate(steps):
        lines += [step, f"{SHOW} > {tmp_path}/out{i} 2> {tmp_path}/out{i}.err"]
    result: ShellResult = em_tool.run(
        lines, _env(tmp_path), modulepath=[prefix / "modulefiles", em_tool.standins]
    )
    assert "Reloading dependent: uv-hpc/1.0" in result.stderr
    for i in range(len(steps)):  # automated module handling kept the key current
        assert "does not match" not in (tmp_path / f"out{i}.err").read_text()
    assert [(tmp_path / f"out{i}").read_text().split()[-1] for i in range(2)] == [
        "mpich-4.1.2",
        "openmpi-4.1.5",
    ]
