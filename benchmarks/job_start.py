"""Batch jobs through a real Slurm on localhost: seconds from job start to the imports, and the
wall time of job arrays on one depot.

    python benchmarks/job_start.py [--quick] [--runs N] [--tasks N] [--wheels DIR]

Builds a throw-away uv-hpc tree whose site wheelhouse is the benchmark's real wheels (numpy,
scipy, pandas, h5py, matplotlib; `--quick`: numpy; benchmarks/wheelhouse.py), starts a private
Slurm (munged, slurmctld, slurmd; tests/support/slurm.py) whose prolog makes a SLURM_TMPDIR for
every job, and times inside real jobs, alternating the variants on every round, from the first
line of the batch script to the end of `import <packages>`:
  - the Alliance recipe (the baseline): `python -m venv $SLURM_TMPDIR/env`, activate,
    `pip install --no-index --find-links <wheelhouse>` of the packages, then the import;
  - uvmod's job-local environment: `module load uv-hpc`, `UVMOD_JOB_LOCAL=1`, `uv run`
    (the environment made in $SLURM_TMPDIR from the warm shared cache), hardlinked (here
    $SLURM_TMPDIR and the cache share a filesystem) and copied (`UV_LINK_MODE=copy`, what the
    wrapper sets when they do not, as on most clusters);
  - the depot environment: `module load uv-hpc`, `uv run` (the environment already synced).
Then a job array of `--tasks` tasks (`uv run` of the import) on a cold depot and cache, and the
same on the warm depot: seconds from `sbatch` to the end of the last task. Prints a Markdown
table with the ratio of each variant to the baseline; no network once the wheels are cached.
Needs root (slurmd runs as root), slurm-wlm and munge.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/job_start.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.env_creation import write_project
from benchmarks.measure import machine, run
from benchmarks.site import LMOD_INIT, MODULE_NAME, Site, base_env, make_site
from benchmarks.wheelhouse import FULL_PACKAGES, QUICK_PACKAGES, default_cache, ensure_wheels
from tests.support.slurm import SlurmCluster, require_slurm, start_cluster

# The import name of a distribution where they differ.
IMPORT_NAMES = {"scikit-learn": "sklearn", "pillow": "PIL"}
BASELINE = "Alliance recipe into $SLURM_TMPDIR (venv + pip --no-index)"
JOB_LOCAL = "uvmod job-local environment (UVMOD_JOB_LOCAL=1, uv run)"
# What the wrapper does when $SLURM_TMPDIR is not on the cache's filesystem (most clusters):
# uv copies the packages instead of hardlinking them.
JOB_LOCAL_COPY = "uvmod job-local environment, copied (cache on another filesystem)"
DEPOT = "uvmod depot environment (uv run)"
VARIANTS = (BASELINE, JOB_LOCAL, JOB_LOCAL_COPY, DEPOT)


@dataclass(frozen=True)
class Bench:
    cluster: SlurmCluster
    site: Site
    project: Path
    packages: tuple[str, ...]
    out: Path

    @property
    def imports(self) -> str:
        names = [IMPORT_NAMES.get(p, p).replace("-", "_") for p in self.packages]
        return "import " + ", ".join(names)

    def env(self) -> dict[str, str]:
        return base_env(self.site)

    def script(self, name: str, lines: Sequence[str]) -> Path:
        """A batch script that writes the seconds from its first line to its last into
        <out>/<name>-<job id>.time."""
        text = "\n".join(
            [
                "#!/bin/bash",
                "set -e",
                "start=$(date +%s.%N)",
                *lines,
                "end=$(date +%s.%N)",
                f'echo "$start $end" > {shlex.quote(str(self.out))}/{name}-$SLURM_JOB_ID.time',
                "",
            ]
        )
        path = self.out / f"{name}.sh"
        path.write_text(text)
        return path

    def uvmod_lines(self, *extra: str) -> list[str]:
        return [
            f"source {LMOD_INIT}",
            f"module load {MODULE_NAME}",
            f"cd {shlex.quote(str(self.project))}",
            *extra,
            f"uv run --frozen python -c {shlex.quote(self.imports)}",
        ]

    def variant_lines(self, variant: str) -> list[str]:
        if variant == BASELINE:
            links = " ".join(f"--find-links {shlex.quote(str(d))}" for d in self.site.wheel_dirs)
            return [
                'python3 -m venv "$SLURM_TMPDIR/env"',
                'source "$SLURM_TMPDIR/env/bin/activate"',
                f"pip install -q --no-index {links} {' '.join(self.packages)}",
                f"python -c {shlex.quote(self.imports)}",
            ]
        if variant == JOB_LOCAL:
            return self.uvmod_lines("export UVMOD_JOB_LOCAL=1")
        if variant == JOB_LOCAL_COPY:
            return self.uvmod_lines("export UVMOD_JOB_LOCAL=1 UV_LINK_MODE=copy")
        return self.uvmod_lines()

    def job_seconds(self, name: str, lines: Sequence[str]) -> float:
        script = self.script(name, lines)
        job = self.cluster.sbatch(script, self.env(), f"--output={self.out}/{name}-%j.log")
        log = self.out / f"{name}-{job.job_id}.log"
        if job.returncode != 0:
            raise RuntimeError(f"job {name} failed {job.states}: {log.read_text()}")
        start, end = (self.out / f"{name}-{job.job_id}.time").read_text().split()
        return float(end) - float(start)

    def array_seconds(self, name: str, tasks: int) -> float:
        """From sbatch to the end of the array's last task."""
        script = self.script(name, self.uvmod_lines())
        begin = time.perf_counter()
        job = self.cluster.sbatch(
            script, self.env(), f"--array=1-{tasks}", f"--output={self.out}/{name}-%a.log"
        )
        elapsed = time.perf_counter() - begin
        if job.returncode != 0:
            raise RuntimeError(f"array {name} failed: {job.states}")
        envs = [p for p in self.site.depot.iterdir() if not p.name.startswith(".")]
        if len(envs) != 1:
            raise RuntimeError(f"array {name} left {len(envs)} environments in the depot")
        return elapsed


def prepare(cluster: SlurmCluster, wheels: Path, packages: Sequence[str], work: Path) -> Bench:
    """The site, a locked project synced once into the depot (so the cache is warm)."""
    site = make_site(wheels, work)
    out = work / "jobs"
    out.mkdir()
    version = (sys.version_info.major, sys.version_info.minor)
    project = write_project(work / "project", packages, version)
    bench = Bench(cluster, site, project, tuple(packages), out)
    lines = [f"source {LMOD_INIT}", f"module load {MODULE_NAME}", "uv sync -q"]
    run(["bash", "-c", "\n".join(lines)], cluster.env(bench.env()), project)
    return bench


def measure(bench: Bench, runs: int, tasks: int) -> str:
    """The Markdown table of one benchmark run."""
    seconds: dict[str, list[float]] = {v: [] for v in VARIANTS}
    for round_ in range(runs):
        order = VARIANTS if round_ % 2 == 0 else tuple(reversed(VARIANTS))
        for variant in order:
            name = f"v{VARIANTS.index(variant)}-r{round_}"
            seconds[variant].append(bench.job_seconds(name, bench.variant_lines(variant)))
    for path in (bench.site.cache, bench.site.depot):
        shutil.rmtree(path, ignore_errors=True)
    cold = bench.array_seconds("cold", tasks)
    warm = bench.array_seconds("warm", tasks)
    base = statistics.median(seconds[BASELINE])
    lines = [
        f"Job start to `{bench.imports}` ({runs} runs each, alternating; median, then every "
        "run), real Slurm 22.05 on localhost:",
        "",
        "| variant | median | runs | ratio to the Alliance recipe |",
        "| --- | --- | --- | --- |",
    ]
    for variant in VARIANTS:
        median = statistics.median(seconds[variant])
        runs_text = ", ".join(f"{s:.2f}" for s in seconds[variant])
        lines.append(f"| {variant} | {median:.2f} s | {runs_text} | {median / base:.2f}x |")
    lines += [
        "",
        f"Job array of {tasks} tasks (`uv run --frozen` of the import), sbatch to the last "
        "task's end:",
        "",
        "| depot | seconds | per task |",
        "| --- | --- | --- |",
        f"| cold (no cache, no environment) | {cold:.1f} s | {cold / tasks:.2f} s |",
        f"| warm | {warm:.1f} s | {warm / tasks:.2f} s |",
        "",
        f"Machine: {machine()}.",
    ]
    return "\n".join(lines)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="benchmarks/job_start.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="numpy only, one run, 8 tasks")
    parser.add_argument("--runs", type=_positive, help="rounds of the three variants (default 5)")
    parser.add_argument("--tasks", type=_positive, help="tasks of each job array (default 32)")
    parser.add_argument("--wheels", type=Path, help="wheel cache (default ~/.cache/uvmod-bench)")
    args = parser.parse_args(argv)
    require_slurm()
    packages = QUICK_PACKAGES if args.quick else FULL_PACKAGES
    wheels = ensure_wheels(args.wheels or default_cache(), packages)
    runs = args.runs or (1 if args.quick else 5)
    tasks = args.tasks or (8 if args.quick else 32)
    root = Path(tempfile.mkdtemp(prefix="uvmod-bench-slurm-"))
    work = Path(tempfile.mkdtemp(prefix="uvmod-bench-jobs-"))
    cluster = start_cluster(root)
    try:
        print(measure(prepare(cluster, wheels, packages, work), runs, tasks))
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
