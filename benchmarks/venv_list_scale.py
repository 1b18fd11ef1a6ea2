"""What `uvmod venv list` costs on a depot of 2,000 environments.

    python benchmarks/venv_list_scale.py              # 2,000 environments, 5 runs
    python benchmarks/venv_list_scale.py --quick      # 100 environments, 1 run
    python benchmarks/venv_list_scale.py --envs N --runs N [--keep DIR]

Generates a uv cache and a depot whose environments hard-link from it (benchmarks/
scale_trees.py: each environment as `uv venv` + `uv sync` leave it, one to four distributions of
8 to 300 files, byte code in half of them, the wrapper's back-pointer, last-used file and index
entry; a tenth of the projects deleted), builds a module tree with `uvmod build-modulefiles`,
and times `uvmod venv list` with the module's variables set, output to a pipe. "Remembered":
the listing before it left its summaries (uvmod/scansummary.py), as any earlier listing does;
"nothing remembered": `.uvmod-scan` removed before every run, so every environment is walked.
The baseline walks the same depot with os.walk + lstat (benchmarks/scale_runs.py). Nothing
asserts on a time.
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

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import scale_trees
from benchmarks.measure import run
from benchmarks.scale_runs import Measure, load, print_report, run_rows, walk_argv
from uvmod.scansummary import SCAN_DIR

GOAL_SECONDS = 1.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/venv_list_scale.py", description=__doc__)
    parser.add_argument("--envs", type=int, default=2000, help="environments in the depot")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command")
    parser.add_argument("--quick", action="store_true", help="100 environments, 1 run")
    parser.add_argument("--keep", type=Path, help="generate into DIR and keep it (reused)")
    parser.add_argument(
        "--compare", type=Path, metavar="SRC", help="also time the uvmod of this source tree"
    )
    args = parser.parse_args(argv)
    envs, runs = (100, 1) if args.quick else (args.envs, args.runs)
    if envs < 1 or runs < 1:
        parser.error("--envs and --runs must be at least 1")

    work = args.keep or Path(tempfile.mkdtemp(prefix="uvmod-venv-list-scale-"))
    try:
        started = datetime.datetime.now(datetime.UTC)
        load_before = load()
        t0 = time.perf_counter()
        depot_dir = work / "scratch" / "uv-venvs"
        if not depot_dir.is_dir():
            cache = scale_trees.make_cache(work / "scratch" / "uv", max(envs * 15, 2000))
            scale_trees.make_depot(depot_dir, work / "projects", cache, envs)
        generated = time.perf_counter() - t0
        prefix = work / "prefix"
        uvmod = [sys.executable, "-m", "uvmod"]
        if not prefix.is_dir():
            build = [*uvmod, "build-modulefiles", "--prefix", str(prefix), "--uv", "/bin/true"]
            run(build, os.environ)
        python_bin = Path(os.path.realpath(sys.executable)).parent
        env = {
            "PATH": f"{python_bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(work),
            "LANG": "C.UTF-8",
            "UVMOD_HOME": str(prefix / "uv-hpc" / "1.0"),
            "UVMOD_ARCH": "generic",
            "UVMOD_VENV_DEPOT": str(depot_dir),
        }

        def forget() -> None:
            shutil.rmtree(depot_dir / SCAN_DIR, ignore_errors=True)

        imports = "import uvmod.cli, uvmod.commands.venv, uvmod.sitefacts"
        measures = [
            Measure("start-up (imports only)", [sys.executable, "-c", imports]),
            Measure("uvmod venv list", [*uvmod, "venv", "list"]),
            Measure("uvmod venv list --json", [*uvmod, "venv", "list", "--json"]),
            Measure("uvmod venv list, nothing remembered", [*uvmod, "venv", "list"], forget),
        ]
        rows = run_rows(measures, walk_argv([depot_dir]), env, work, runs, args.compare)
        files, dirs = scale_trees.count_files(depot_dir)
        title = f"uvmod venv list on {envs:,} environments ({files:,} files, {dirs:,} directories)"
        goal = {"uvmod venv list": GOAL_SECONDS, "uvmod venv list --json": GOAL_SECONDS}
        print_report(title, started, load_before, runs, generated, rows, goal)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
