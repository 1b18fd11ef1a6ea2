"""Running real commands and timing them: wall-clock medians, nothing simulated."""

from __future__ import annotations

import os
import platform
import resource
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path


class CommandFailed(RuntimeError):
    """A benchmarked command failed: its timing would be meaningless, so the item stops."""


def run(
    argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; raise CommandFailed with the tail of stderr on failure."""
    proc = subprocess.run(
        list(argv), env=dict(env), cwd=cwd, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout)[-3000:]
        raise CommandFailed(f"`{' '.join(argv)}` exited {proc.returncode}:\n{tail}")
    return proc


def timed(*commands: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> float:
    """Seconds taken by the commands run one after the other (a recipe of several steps)."""
    start = time.perf_counter()
    for argv in commands:
        run(argv, env, cwd)
    return time.perf_counter() - start


def samples(
    measure: Callable[[], float], runs: int, before: Callable[[], None] | None = None
) -> list[float]:
    """`runs` measurements; `before` resets the state between them and is not timed."""
    out = []
    for _ in range(runs):
        if before is not None:
            before()
        out.append(measure())
    return out


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def remove(path: Path) -> None:
    """Delete a file, symlink or tree if present (the state reset between runs)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def count_entries(root: Path) -> int:
    """Inodes under `root`: files, directories and symlinks, as a quota counts them."""
    total = 0
    for _, dirs, files in os.walk(root):
        total += len(dirs) + len(files)
    return total


Trial = tuple[Callable[[], None], Callable[[], float]]  # (untimed reset, timed measurement)


def interleaved(trials: Mapping[str, Trial], runs: int) -> dict[str, list[float]]:
    """`runs` rounds taking one sample of every trial, in alternating order: other work on a
    shared machine (often larger than the differences measured) and page-cache warmth then
    affect all sides alike instead of whichever ran last."""
    out: dict[str, list[float]] = {name: [] for name in trials}
    names = list(trials)
    for round_ in range(runs):
        for name in names if round_ % 2 == 0 else reversed(names):
            before, measure = trials[name]
            before()
            out[name].append(measure())
    return out


def process_times(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path | None = None,
    ok: Collection[int] = (0,),
) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one run, output to /dev/null. On a shared
    machine the CPU time moves less with other people's load than the wall-clock time does.
    An exit status outside `ok` raises CommandFailed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        list(argv),
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in ok:
        tail = proc.stderr[-2000:].decode(errors="replace")
        raise CommandFailed(f"`{' '.join(argv)}` exited {proc.returncode}:\n{tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def machine() -> str:
    """`x86_64, <CPU model>, N cores, <OS>`: what a figure was measured on."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        system = platform.freedesktop_os_release().get("PRETTY_NAME", platform.platform())
    except OSError:
        system = platform.platform()
    return f"{platform.machine()}, {model}, {len(os.sched_getaffinity(0))} cores, {system}"


def commit() -> str:
    """The short commit of the checkout the benchmark runs from ("unknown" outside git)."""
    proc = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=Path(__file__).resolve().parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() or "unknown"
