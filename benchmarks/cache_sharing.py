"""Row 5: one uv cache shared across MPI stacks, with the real mpi4py against real MPIs.

A project needs the packages of row 1 and mpi4py 3.1.6, whose sdist is built by setuptools
against the loaded MPI: Debian's MPICH 4.0.2 and Open MPI 4.1.4 (libmpich-dev, libopenmpi-dev),
wrapped in two modules with `family("mpi")`, their own `mpicc` first on PATH and `MPICC` set.
The user syncs under MPICH, swaps to Open MPI and syncs, swaps back and syncs. Per step:
mpi4py builds (new wheels in the cache's built-wheel shards), seconds of `uv sync`, new entries
of the cache's archive directory (every wheel uv unpacks, the built one included), the MPI
library the installed extension links (its DT_NEEDED) and what `MPI.Get_library_version()`
says. Compared with the safe choice without uvmod: a separate cache (and environment) per MPI.

`--quick` compiles unoptimised (CFLAGS=-O0, set by the MPI modules): the same real compile of
the real sdist against the real MPI, several times cheaper; the full run uses mpi4py's own flags.
Without both MPIs or without the sdist (no network on the first run) the row is skipped.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.env_creation import PLAIN_UV_FLAGS, Setup, plain_uv_env, write_project
from benchmarks.measure import remove, run
from benchmarks.results import Figure, Report, Row, plural
from benchmarks.site import MODULE_NAME, Site, base_env, shell_env
from benchmarks.wheelhouse import WheelsUnavailable, default_mpi4py_cache, ensure_mpi4py
from uvmod.doctor.elf import read_dynamic

MPICH = "mpich/4.0.2"
OPENMPI = "openmpi/4.1.4"
WRAPPERS = {MPICH: Path("/usr/bin/mpicc.mpich"), OPENMPI: Path("/usr/bin/mpicc.openmpi")}
MPI_MODULE = """\
family("mpi")
prepend_path("PATH", "{bin}")
setenv("MPICC", "{bin}/mpicc")
setenv("OMPI_ALLOW_RUN_AS_ROOT", "1")  -- Open MPI refuses root without both
setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
"""
PROBE = (
    "from mpi4py import MPI; "
    "print(MPI.Get_library_version().split(chr(0))[0].splitlines()[0].split(',')[0]); "
    "print(MPI.__file__)"
)


@dataclass(frozen=True)
class Step:
    label: str
    builds: int
    unpacked: int
    seconds: float
    linked: str  # the MPI libraries the installed MPI.*.so needs
    library: str  # the first words of MPI.Get_library_version()


def _write_mpi_modules(site: Site, quick: bool) -> None:
    for module, wrapper in WRAPPERS.items():
        name, version = module.split("/")
        bin_dir = site.work / "mpi-bin" / name
        bin_dir.mkdir(parents=True, exist_ok=True)
        (bin_dir / "mpicc").symlink_to(wrapper)
        # Debian's /usr/bin/mpiexec is Open MPI's too; build tools look for MPI next to it.
        (bin_dir / "mpiexec").symlink_to(str(wrapper).replace("mpicc", "mpiexec"))
        text = MPI_MODULE.format(bin=bin_dir)
        if quick:
            text += 'setenv("CFLAGS", "-O0")\n'
        (site.extra_modules / name).mkdir(parents=True, exist_ok=True)
        (site.extra_modules / name / f"{version}.lua").write_text(text)


def _archive_entries(cache: Path) -> int:
    archive = cache / "archive-v0"
    return sum(1 for _ in archive.iterdir()) if archive.is_dir() else 0


def _built_wheels(cache: Path) -> int:
    return sum(1 for _ in cache.glob("sdists-v*/**/mpi4py-*.whl"))


def _sync(label: str, env: dict[str, str], project: Path, flags: Sequence[str] = ()) -> Step:
    cache = Path(env["UV_CACHE_DIR"])
    builds, unpacked = _built_wheels(cache), _archive_entries(cache)
    start = time.perf_counter()
    run(["uv", "sync", "-q", *flags], env, project)
    seconds = time.perf_counter() - start
    shown = run(["uv", "run", "-q", "--no-sync", "python", "-c", PROBE], env, project)
    library, extension = shown.stdout.strip().splitlines()[-2:]
    library = " ".join(library.split())  # MPICH separates with a tab
    dynamic = read_dynamic(Path(extension))
    needed = [lib for lib in (dynamic.needed if dynamic else ()) if lib.startswith("libmpi")]
    return Step(
        label,
        _built_wheels(cache) - builds,
        _archive_entries(cache) - unpacked,
        seconds,
        ", ".join(needed) or "?",
        library,
    )


def _with_module(site: Site, project: Path) -> list[Step]:
    """mpich → openmpi → mpich again, in one shared cache, as the module sets it up."""
    load = f"module load {MPICH} {MODULE_NAME}"
    there = f"module swap mpich {OPENMPI}"
    back = f"module swap openmpi {MPICH}"
    sequence = [
        ("load mpich", [load]),
        ("swap to openmpi", [load, there]),
        ("swap back to mpich", [load, there, back]),
    ]
    steps = []
    for label, commands in sequence:
        env = shell_env(site, base_env(site), commands)
        env["UV_CACHE_DIR"] = str(site.scratch / "uv-cache-item5")
        steps.append(_sync(label, env, project))
    return steps


def _cache_per_key(site: Site, project: Path) -> list[Step]:
    """Without uvmod, the only safe set-up: UV_CACHE_DIR and the environment chosen per MPI."""
    steps = []
    for label, mpi in (
        ("load mpich", MPICH),
        ("swap to openmpi", OPENMPI),
        ("swap back to mpich", MPICH),
    ):
        env = shell_env(site, plain_uv_env(site), [f"module load {mpi}"])
        tag = mpi.replace("/", "-")
        env["UV_CACHE_DIR"] = str(site.scratch / f"uv-cache-{tag}")
        env["UV_PROJECT_ENVIRONMENT"] = str(project / f".venv-{tag}")
        steps.append(_sync(label, env, project, PLAIN_UV_FLAGS))
    return steps


def measure(setup: Setup, quick: bool, report: Report) -> list[Step]:
    site = setup.site
    missing = [str(w) for w in WRAPPERS.values() if not w.is_file()]
    if missing:
        report.skip(
            "5", f"{', '.join(missing)} missing: apt-get install libmpich-dev libopenmpi-dev"
        )
        return []
    try:
        wheelhouse = ensure_mpi4py(default_mpi4py_cache())
    except WheelsUnavailable as error:
        report.skip("5", f"the mpi4py sdist cannot be downloaded ({error})")
        return []
    for path in wheelhouse.iterdir():
        shutil.copy2(path, site.wheelhouse / "local" / path.name)
    _write_mpi_modules(site, quick)
    packages = (*setup.packages, "mpi4py")
    shared = write_project(site.work / "projects/mpi-shared", packages, setup.python)
    separate = write_project(site.work / "projects/mpi-separate", packages, setup.python)
    ours = _with_module(site, shared)
    theirs = _cache_per_key(site, separate)
    swap, their_swap = ours[1], theirs[1]
    right = [s.linked for s in ours] == ["libmpich.so.12", "libmpi.so.40", "libmpich.so.12"]
    flags = "CFLAGS=-O0" if quick else "mpi4py's own flags"
    report.add(
        Row(
            "5",
            f"swap {MPICH} -> {OPENMPI}, real mpi4py ({flags}), `uv sync`: builds / unpacked",
            Figure(their_swap.unpacked, "unpacked", f"{_builds_text(their_swap)}; cache per key"),
            Figure(swap.unpacked, "unpacked", f"{_builds_text(swap)}; one shared cache"),
            f"{their_swap.unpacked} -> {swap.unpacked}",
            "1 build, right MPI, 0 re-downloads",
            right and swap.builds == 1 and swap.unpacked <= swap.builds and ours[2].builds == 0,
            _steps_note(ours, theirs),
        )
    )
    report.add(
        Row(
            "5t",
            f"the same swap: seconds of `uv sync` (one real mpi4py build, {flags})",
            Figure(their_swap.seconds, "s", "cache per key"),
            Figure(swap.seconds, "s", "one shared cache"),
            f"{their_swap.seconds / swap.seconds:.2f}x" if swap.seconds > 0 else "n/a",
            "-",
            None,
        )
    )
    remove(site.scratch / "uv-cache-item5")
    return ours + theirs


def _steps_note(ours: list[Step], theirs: list[Step]) -> str:
    def text(steps: list[Step]) -> str:
        return "; ".join(
            f"{s.label}: {_builds_text(s)}, {s.unpacked} unpacked, {s.seconds:.2f} s, "
            f"links {s.linked} ({s.library})"
            for s in steps
        )

    return (
        "'unpacked' counts new entries of the cache's archive-v0, built wheels included. "
        f"uv-hpc: {text(ours)}. Cache per key: {text(theirs)}"
    )


def _builds_text(step: Step) -> str:
    return plural(step.builds, "builds")
