"""Item 5: one uv cache shared across MPI stacks. A project needs the packages of item 1 and one
key-sensitive sdist (a stand-in for mpi4py, see sdist_backend.py); the user swaps mpich for
openmpi and syncs again. Counted, not timed: sdist builds (the sdist's backend logs each one)
and new entries of the cache's archive directory (every wheel uv unpacks, whether it came from
the wheelhouse or from a build). Compared with the safe choice without uvmod: a separate cache
(and environment) per MPI stack, where everything is unpacked again.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.env_creation import PLAIN_UV_FLAGS, Setup, plain_uv_env, write_project
from benchmarks.measure import remove, run
from benchmarks.results import Figure, Report, Row, plural
from benchmarks.site import MODULE_NAME, MPI_MODULES, Site, base_env, shell_env
from benchmarks.wheelhouse import BUILD_LOG_VARIABLE, SDIST_NAME, write_key_sensitive_sdist

KEY_VARIABLE = "UVMOD_CACHE_KEY"
MPICH = f"mpich/{MPI_MODULES['mpich']}"
OPENMPI = f"openmpi/{MPI_MODULES['openmpi']}"


@dataclass(frozen=True)
class Step:
    label: str
    builds: int
    unpacked: int
    seconds: float
    key: str
    built_for: str  # what the installed key-sensitive package says it was built for


def _archive_entries(cache: Path) -> int:
    archive = cache / "archive-v0"
    return sum(1 for _ in archive.iterdir()) if archive.is_dir() else 0


def _builds(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.is_file() else 0


def _sync(label: str, env: dict[str, str], project: Path, flags: Sequence[str] = ()) -> Step:
    cache = Path(env["UV_CACHE_DIR"])
    log = Path(env[BUILD_LOG_VARIABLE])
    builds, unpacked = _builds(log), _archive_entries(cache)
    start = time.perf_counter()
    run(["uv", "sync", "-q", *flags], env, project)
    seconds = time.perf_counter() - start
    probe = "import bench_mpi_ext as m; print(m.BUILT_FOR)"
    shown = run(["uv", "run", "-q", "--no-sync", "python", "-c", probe], env, project)
    return Step(
        label,
        _builds(log) - builds,
        _archive_entries(cache) - unpacked,
        seconds,
        env.get(KEY_VARIABLE, ""),
        shown.stdout.strip(),
    )


def _with_module(site: Site, project: Path, log: Path) -> list[Step]:
    """mpich → openmpi → mpich again, in one shared cache, as the module sets it up."""
    load = f"module load {MPICH} {MODULE_NAME}"
    there = f"module swap {MPICH} {OPENMPI}"
    back = f"module swap {OPENMPI} {MPICH}"
    sequence = [
        ("load mpich", [load]),
        ("swap to openmpi", [load, there]),
        ("swap back to mpich", [load, there, back]),
    ]
    steps = []
    for label, commands in sequence:
        env = shell_env(site, base_env(site), commands)
        env["UV_CACHE_DIR"] = str(site.scratch / "uv-cache-item5")
        env[BUILD_LOG_VARIABLE] = str(log)
        steps.append(_sync(label, env, project))
    return steps


def _cache_per_key(site: Site, project: Path, log: Path) -> list[Step]:
    """Without uvmod, the only safe set-up: UV_CACHE_DIR and the environment chosen per MPI."""
    steps = []
    for label, mpi in (("load mpich", MPICH), ("swap to openmpi", OPENMPI)):
        env = shell_env(site, plain_uv_env(site), [f"module load {mpi}"])
        tag = mpi.replace("/", "-")
        env["UV_CACHE_DIR"] = str(site.scratch / f"uv-cache-{tag}")
        env["UV_PROJECT_ENVIRONMENT"] = str(project / f".venv-{tag}")
        env[KEY_VARIABLE] = mpi  # what the stand-in records; plain uv does not look at it
        env[BUILD_LOG_VARIABLE] = str(log)
        steps.append(_sync(label, env, project, PLAIN_UV_FLAGS))
    return steps


def measure(setup: Setup, report: Report) -> list[Step]:
    site = setup.site
    write_key_sensitive_sdist(site.wheelhouse / "local")
    packages = (*setup.packages, SDIST_NAME)
    shared = write_project(site.work / "projects/mpi-shared", packages, setup.python)
    separate = write_project(site.work / "projects/mpi-separate", packages, setup.python)
    ours = _with_module(site, shared, site.work / "builds-shared.log")
    theirs = _cache_per_key(site, separate, site.work / "builds-separate.log")
    swap, their_swap = ours[1], theirs[1]
    report.add(
        Row(
            "5",
            f"swap {MPICH} -> {OPENMPI}, `uv sync`: sdist builds / wheels unpacked",
            Figure(their_swap.unpacked, "unpacked", f"{_builds_text(their_swap)}; cache per key"),
            Figure(swap.unpacked, "unpacked", f"{_builds_text(swap)}; one shared cache"),
            f"{their_swap.unpacked} -> {swap.unpacked}",
            "1 build, 0 re-downloads",
            swap.builds == 1 and swap.unpacked <= swap.builds and ours[2].builds == 0,
            _steps_note(ours, theirs),
        )
    )
    remove(site.scratch / "uv-cache-item5")
    return ours + theirs


def _steps_note(ours: list[Step], theirs: list[Step]) -> str:
    def text(steps: list[Step]) -> str:
        return "; ".join(
            f"{s.label}: {_builds_text(s)}, {s.unpacked} unpacked, {s.seconds:.2f} s, "
            f"wheel built for {s.built_for or 'no key'!r}"
            for s in steps
        )

    return (
        "'unpacked' counts new entries of the cache's archive-v0, the rebuilt wheel included. "
        f"uv-hpc: {text(ours)}. Cache per key: {text(theirs)}"
    )


def _builds_text(step: Step) -> str:
    return plural(step.builds, "builds")
