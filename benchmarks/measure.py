"""Running real commands and timing them: wall-clock medians, nothing simulated."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
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
