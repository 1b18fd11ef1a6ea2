"""What `uvmod doctor` costs with a large uv cache: 200,000 files of unpacked wheels.

    python benchmarks/doctor_scale.py              # 200,000 cache files, 50 environments, 5 runs
    python benchmarks/doctor_scale.py --quick      # 20,000 files, 10 environments, 1 run
    python benchmarks/doctor_scale.py --files N --envs N --runs N [--keep DIR]

Generates a cache (benchmarks/scale_trees.py: unpacked wheels in `archive-v0`, four tool
environments among them) and a depot whose environments hard-link from it, builds a module
tree with `[paths] purge_days` set (so that every check runs, the purge ones included), loads
it in real Lmod, and runs doctor from one of the projects, output to a pipe. Warm: the tree
has been read once before the timed runs. The baseline walks the cache and the depot with
os.walk + lstat (benchmarks/scale_runs.py). Nothing asserts on a time.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

if __package__ in (
    None,
    "",
):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import scale_trees
from benchmarks.measure import run
from benchmarks.scale_runs import Measure, load, print_report, run_rows, walk_argv
from benchmarks.site import MODULE_NAME, Site, layout, shell_env

GOAL_SECONDS = 2.0
SITE_TOML = """\
[module]
uv = "{uv}"

[paths]
purge_days = 60

[arch]
env = ["RSNT_ARCH"]
"""


def _site(work: Path) -> Site:
    site = layout(work, work / "prefix")
    for path in (site.extra_modules, site.home, site.scratch):
        path.mkdir(parents=True, exist_ok=True)
    config = work / "site.toml"
    config.write_text(SITE_TOML.format(uv=site.uv))
    argv = [sys.executable, "-m", "uvmod", "build-modulefiles", "--config", str(config)]
    run([*argv, "--prefix", str(site.prefix)], os.environ)
    return site


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/doctor_scale.py", description=__doc__)
    parser.add_argument("--files", type=int, default=200_000, help="files in the uv cache")
    parser.add_argument("--envs", type=int, default=50, help="environments in the depot")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command")
    parser.add_argument("--quick", action="store_true", help="20,000 files, 10 envs, 1 run")
    parser.add_argument("--keep", type=Path, help="generate into DIR and keep it (reused)")
    parser.add_argument(
        "--compare", type=Path, metavar="SRC", help="also time the uvmod of this source tree"
    )
    args = parser.parse_args(argv)
    files, envs, runs = (20_000, 10, 1) if args.quick else (args.files, args.envs, args.runs)
    if files < 100 or envs < 1 or runs < 1:
        parser.error("--files must be at least 100, --envs and --runs at least 1")

    work = args.keep or Path(tempfile.mkdtemp(prefix="uvmod-doctor-scale-"))
    try:
        started = datetime.datetime.now(datetime.UTC)
        load_before = load()
        t0 = time.perf_counter()
        cache = work / "scratch" / "uv"
        depot_dir = work / "scratch" / "uv-venvs"
        projects = work / "projects"
        if not cache.is_dir():
            dists = scale_trees.make_cache(cache, files, tool_envs=4)
            scale_trees.make_depot(depot_dir, projects, dists, envs)
        generated = time.perf_counter() - t0
        site = _site(work)
        env = shell_env(
            site,
            {
                "HOME": str(site.home),
                "PATH": f"{site.python.parent}:/usr/local/bin:/usr/bin:/bin",
                "LANG": "C.UTF-8",
                "TERM": "dumb",
                "SCRATCH": str(site.scratch),
                "RSNT_ARCH": "generic",
                "LMOD_IGNORE_CACHE": "1",
                "MODULEPATH": str(site.prefix / "modulefiles"),
            },
            [f"module load {MODULE_NAME}"],
        )
        cwd = next(p for p in sorted(projects.glob("*/*")) if (p / "pyproject.toml").is_file())
        uvmod = [sys.executable, "-m", "uvmod"]
        imports = "import uvmod.cli, uvmod.commands.doctor, rich.console"
        measures = [
            Measure("start-up (imports only)", [sys.executable, "-c", imports]),
            Measure("uvmod doctor", [*uvmod, "doctor"], ok=(0, 1)),
            Measure("uvmod doctor --json", [*uvmod, "doctor", "--json"], ok=(0, 1)),
        ]
        rows = run_rows(measures, walk_argv([cache, depot_dir]), env, cwd, runs, args.compare)
        cache_files, cache_dirs = scale_trees.count_files(cache)
        depot_files, _ = scale_trees.count_files(depot_dir)
        title = (
            f"uvmod doctor on a cache of {cache_files:,} files ({cache_dirs:,} directories) "
            f"and a depot of {envs} environments ({depot_files:,} files)"
        )
        goal = {"uvmod doctor": GOAL_SECONDS, "uvmod doctor --json": GOAL_SECONDS}
        print_report(title, started, load_before, runs, generated, rows, goal)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
