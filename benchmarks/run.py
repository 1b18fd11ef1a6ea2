"""Measure what uvmod saves a cluster user, side by side with what they do today.

    python benchmarks/run.py            # the full table: 5 runs, numpy scipy pandas h5py matplotlib
    python benchmarks/run.py --quick    # CI: one run, numpy only; never fails on slow numbers

Exit status: 0 when the table was produced or the benchmark was skipped (no wheels and no
network, no Lmod): a benchmark must not break CI. 1 when a measured command failed. Nothing here
asserts on a time; the "met" column only compares a figure with the target its row states
(the guarantees of docs/performance.md). The table's rows are numbered 1 to 6, each measured by
one module: env_creation.py (rows 1-3), module_load.py (4), cache_sharing.py (5) and
wrapper_rows.py (6).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as `python benchmarks/run.py`: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console

from benchmarks import cache_sharing, env_creation, module_load, wrapper_rows
from benchmarks.measure import CommandFailed
from benchmarks.results import Report, markdown, print_table, write_json
from benchmarks.site import LMOD_INIT, LmodUnavailable, Site, make_site
from benchmarks.wheelhouse import (
    FULL_PACKAGES,
    QUICK_PACKAGES,
    WheelsUnavailable,
    default_cache,
    ensure_wheels,
)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="benchmarks/run.py", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one run, numpy only (for CI)")
    parser.add_argument(
        "--runs", type=_positive, help="repetitions per timing (default 5; 1 if --quick)"
    )
    parser.add_argument(
        "--wheels", type=Path, help="wheel cache folder (default ~/.cache/uvmod-bench/wheels)"
    )
    parser.add_argument("--markdown", type=Path, help="also write the table as Markdown here")
    parser.add_argument("--json", type=Path, help="also write every sample as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    return parser


def context(
    packages: Sequence[str], runs: int, site: Site | None, started: datetime.datetime, load: str
) -> dict[str, str]:
    """Machine and versions, printed with the table so a figure is never quoted without them."""
    info = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {_cpu_model()}, {_cores()} cores",
        "os": _os_name(),
        "python": platform.python_version(),
        "packages": " ".join(packages),
        "runs": str(runs),
        # Other work on the machine moves every figure: say how busy it was.
        "load average (1 min) at start / end": f"{load} / {os.getloadavg()[0]:.2f}",
        "lmod": _version([str(LMOD_INIT.parent.parent / "libexec/lmod"), "--version"]),
    }
    if site is not None:
        info["uv"] = _version([str(site.uv), "--version"])
        info["pip"] = _version([str(site.python), "-m", "pip", "--version"]).split(" from ")[0]
    return info


def _version(argv: list[str]) -> str:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    except OSError:
        return "not found"
    text = (proc.stdout + proc.stderr).strip()
    for line in text.splitlines():
        if "Version" in line or line[:1].isalnum():
            return line.strip(" -")
    return text or "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _cores() -> int:
    return len(os.sched_getaffinity(0))


def _os_name() -> str:
    try:
        return platform.freedesktop_os_release().get("PRETTY_NAME", platform.platform())
    except OSError:
        return platform.platform()


def measure(site: Site, packages: Sequence[str], runs: int, quick: bool, report: Report) -> None:
    python = (sys.version_info.major, sys.version_info.minor)
    setup = env_creation.Setup(site, tuple(packages), runs, python)
    env_creation.measure(setup, report)
    module_load.measure(site, runs, report)
    cache_sharing.measure(setup, quick, report)
    wrapper_rows.measure(site, quick, report)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Not a terminal (CI logs, a pipe): rich would wrap the table at 80 columns.
    console = Console(width=None if sys.stdout.isatty() else 160)
    packages = QUICK_PACKAGES if args.quick else FULL_PACKAGES
    runs = args.runs or (1 if args.quick else 5)
    wheels_dir = args.wheels or default_cache()
    try:
        console.print(f"wheels: {wheels_dir} ({' '.join(packages)} and dependencies)")
        wheels = ensure_wheels(wheels_dir, packages)
    except WheelsUnavailable as error:
        console.print(f"benchmark skipped: the wheels cannot be downloaded ({error})")
        return 0
    site = None
    started, load = datetime.datetime.now(datetime.UTC), f"{os.getloadavg()[0]:.2f}"
    try:
        site = make_site(wheels)
        report = Report()
        measure(site, packages, runs, args.quick, report)
    except LmodUnavailable as error:
        console.print(f"benchmark skipped: {error}")
        return 0
    except CommandFailed as error:
        console.print(f"benchmark failed: {error}")
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if site is not None and not args.keep:
            shutil.rmtree(site.work, ignore_errors=True)
        elif site is not None:
            console.print(f"work directory kept: {site.work}")
    info = context(packages, runs, site, started, load)
    title = f"uvmod benchmarks — {info['date']}, median of {runs} run(s)"
    print_table(report, console, title)
    for key, value in info.items():
        console.print(f"[dim]{key}: {value}[/dim]")
    if args.markdown:
        args.markdown.write_text(markdown(report))
    if args.json:
        write_json(report, args.json, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
