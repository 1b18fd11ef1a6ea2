"""The MPI/CUDA cache key after every step of the module commands users type, in every tool.

Each sequence runs in one bash and every intermediate state is checked
(tests/support/keysteps.py): the key, its source, LOADEDMODULES, the stand-in MPI's FAKE_MPI and
the wrapper's stale-key verdict.

What each tool does:
- Lmod, with uvmod's hook: the variable is the key of the modules loaded, after every command,
  with source "hook". Lmod 8.7.60 is the one that re-evaluates loaded modulefiles after an unload
  or a family autoswap (docs/design.md#lmod-87-re-evaluation).
- Environment Modules: the modulefile computes the key (source "load") and automated module
  handling reloads uv-hpc when a module the key came from is unloaded or switched
  (docs/design.md#environment-modules). A module loaded after uv-hpc is not followed: the variable
  stays behind (`em=` in the table) and the wrapper's check must then say "stale", so that uv
  still builds under the key of the loaded modules.

The site reaches MPI either through the `mpi` family or through module names, and Lmod runs the
hook either from PREFIX/lmod or through a site's SitePackage.lua with the documented `dofile`
line; the sequences take these in turn, so each tool meets every variant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BuildPrefix
from tests.support.keysteps import SITES, dofile_site_package, run_steps
from tests.support.modules import MODULE_TOOLS, ModuleTool

UNSET = None


class _Same:
    def __repr__(self) -> str:
        return "SAME"


SAME = _Same()  # Environment Modules has the same variable as Lmod after this step


@dataclass(frozen=True)
class Step:
    command: str
    # The key of the modules loaded after the command (None: no key, or uv-hpc not loaded).
    key: str | None
    em: str | _Same | None = SAME  # the variable under Environment Modules, where it lags


@dataclass(frozen=True)
class Sequence:
    steps: list[Step]
    only: tuple[str, ...] = ()  # tool ids or kinds that can run it; empty: every tool
    env: dict[str, str] = field(default_factory=dict)

    def runs_on(self, tool: ModuleTool) -> bool:
        return not self.only or tool.id in self.only or tool.kind in self.only


SEQUENCES: dict[str, Sequence] = {
    "uv-hpc then mpich, reload, switch uv-hpc": Sequence(
        [
            Step("module load uv-hpc", UNSET),
            Step("module load mpich/4.1.2", "mpich/4.1.2", em=UNSET),
            # `module reload` keeps the order under Environment Modules: still behind.
            Step("module reload", "mpich/4.1.2", em=UNSET),
            # `module switch uv-hpc` loads it again after mpich (what `uvmod key` advises there).
            Step("module switch uv-hpc", "mpich/4.1.2"),
        ]
    ),
    "mpich then uv-hpc": Sequence(
        [Step("module load mpich/4.1.2", UNSET), Step("module load uv-hpc", "mpich/4.1.2")]
    ),
    "all in one command, uv-hpc first": Sequence(
        [Step("module load uv-hpc mpich/4.1.2 cuda/12.2", "cuda/12.2,mpich/4.1.2", em=UNSET)]
    ),
    "swap mpich openmpi and back": Sequence(
        [
            Step("module load mpich/4.1.2 uv-hpc", "mpich/4.1.2"),
            Step("module swap mpich openmpi", "openmpi/4.1.5"),
            Step("module swap openmpi mpich/4.1.2", "mpich/4.1.2"),
        ]
    ),
    # Lmod swaps family members on its own. Environment Modules refuses the second member unless
    # the site enables conflict_unload (5.5 and later), which then behaves like Lmod; 5.2 has no
    # such option (the refusal: tests/test_envmodules_cache_key.py).
    "family autoswap": Sequence(
        [
            Step("module load mpich/4.1.2 uv-hpc", "mpich/4.1.2"),
            Step("module load openmpi", "openmpi/4.1.5"),
            Step("module load mpich/4.1.2", "mpich/4.1.2"),
        ],
        only=("lmod", "envmodules-5.5.0"),
        env={"MODULES_CONFLICT_UNLOAD": "1"},
    ),
    "version change with switch": Sequence(
        [
            Step("module load mpich/4.1.2 uv-hpc", "mpich/4.1.2"),
            Step("module switch mpich/3.4.3", "mpich/3.4.3"),
            Step("module switch mpich mpich/4.1.2", "mpich/4.1.2"),
        ]
    ),
    # Lmod replaces a loaded module by another version of it (Environment Modules refuses).
    "version change with load": Sequence(
        [
            Step("module load mpich/4.1.2 uv-hpc", "mpich/4.1.2"),
            Step("module load mpich/3.4.3", "mpich/3.4.3"),
        ],
        only=("lmod",),
    ),
    "cuda in and out": Sequence(
        [
            Step("module load mpich/4.1.2 uv-hpc", "mpich/4.1.2"),
            Step("module load cuda/12.2", "cuda/12.2,mpich/4.1.2", em="mpich/4.1.2"),
            Step("module unload cuda", "mpich/4.1.2"),
            Step("module unload mpich", UNSET),
            Step("module load cuda/12.2", "cuda/12.2", em=UNSET),
        ]
    ),
    "unload cuda, unload mpich": Sequence(
        [
            Step("module load mpich/4.1.2 cuda/12.2 uv-hpc", "cuda/12.2,mpich/4.1.2"),
            Step("module unload cuda", "mpich/4.1.2"),
            Step("module unload mpich", UNSET),
        ]
    ),
    "purge": Sequence(
        [
            Step("module load mpich/4.1.2 cuda/12.2 uv-hpc", "cuda/12.2,mpich/4.1.2"),
            Step("module purge", UNSET),
            Step("module load openmpi uv-hpc", "openmpi/4.1.5"),
        ]
    ),
    "unload uv-hpc": Sequence(
        [
            Step("module load mpich/4.1.2 uv-hpc", "mpich/4.1.2"),
            Step("module unload uv-hpc", UNSET),
            # Nothing maintains the key without uv-hpc: it must not come back.
            Step("module swap mpich openmpi", UNSET),
            Step("module load uv-hpc", "openmpi/4.1.5"),
        ]
    ),
    "reload": Sequence(
        [
            Step("module load mpich/4.1.2 cuda/12.2 uv-hpc", "cuda/12.2,mpich/4.1.2"),
            Step("module reload", "cuda/12.2,mpich/4.1.2"),
        ]
    ),
    "refresh": Sequence(
        [
            Step("module load mpich/4.1.2 uv-hpc", "mpich/4.1.2"),
            Step("module refresh", "mpich/4.1.2"),
        ]
    ),
    "save and restore": Sequence(
        [
            Step("module load mpich/4.1.2 cuda/12.2 uv-hpc", "cuda/12.2,mpich/4.1.2"),
            Step("module save uvmodtest", "cuda/12.2,mpich/4.1.2"),
            Step("module purge", UNSET),
            Step("module load openmpi", UNSET),
            Step("module restore uvmodtest", "cuda/12.2,mpich/4.1.2"),
        ]
    ),
    "ml": Sequence(
        [
            Step("ml mpich/4.1.2 uv-hpc", "mpich/4.1.2"),
            # Unloading mpich reloads uv-hpc under Environment Modules, before openmpi arrives.
            Step("ml -mpich openmpi", "openmpi/4.1.5", em=UNSET),
            Step("ml", "openmpi/4.1.5", em=UNSET),
            Step("ml -openmpi", UNSET),
        ]
    ),
}

ROUTES = ("package-path", "dofile")


@dataclass(frozen=True)
class Case:
    sequence: str
    tool: ModuleTool
    site: str
    route: str | None  # how Lmod runs the hook; None under Environment Modules


def _cases() -> list[Any]:
    cases = []
    for i, (name, sequence) in enumerate(SEQUENCES.items()):
        site = sorted(SITES)[i % 2]
        route = ROUTES[(i // 2) % 2]
        for tool in MODULE_TOOLS:
            if sequence.runs_on(tool):
                case = Case(name, tool, site, route if tool.is_lmod else None)
                ident = f"{name}-{tool.id}-{site}" + (f"-{route}" if tool.is_lmod else "")
                cases.append(pytest.param(case, id=ident))
    return cases


def expected_fake_mpi(loaded: list[str]) -> str | None:
    """What the stand-in MPI module sets: the build environment the key must describe."""
    mpis = [m for m in loaded if m.startswith(("mpich/", "openmpi/"))]
    return mpis[0].replace("/", "-") if mpis else None


@pytest.mark.parametrize("case", _cases())
def test_the_key_after_every_step(tmp_path: Path, build_prefix: BuildPrefix, case: Case) -> None:
    tool = case.tool
    tool.require()
    sequence = SEQUENCES[case.sequence]
    prefix = build_prefix(SITES[case.site].toml)
    package_path = None
    if case.route == "package-path":
        package_path = prefix / "lmod"
    elif case.route == "dofile":
        package_path = dofile_site_package(tmp_path, prefix)
    states, stdout, stderr = run_steps(
        tmp_path,
        tool,
        [s.command for s in sequence.steps],
        site=case.site,
        modulepath=[prefix / "modulefiles", tool.standins],
        package_path=package_path,
        extra_env=sequence.env,
    )
    for step, state in zip(sequence.steps, states, strict=True):
        where = f"after `{step.command}` (loaded: {state.loaded})\n{stderr}"
        expected = step.key if tool.is_lmod or isinstance(step.em, _Same) else step.em
        assert state.key == expected, where
        source = "hook" if tool.is_lmod else "load"
        assert state.source == (source if state.uv_loaded else None), where
        if state.uv_loaded:
            # The wrapper's check calls the variable current exactly when it is the loaded
            # modules' key, so where the variable lags uv still builds under the right key.
            assert state.wrapper_sees_current == (state.key == step.key), where
        assert state.fake_mpi == expected_fake_mpi(state.loaded), where
    # The hook and the modulefile run inside the tool, whose stdout the shell evals.
    assert stdout == ""
