"""Timing uvmod commands against a baseline walk of the same tree, for the scale benchmarks.

Each row runs its command and the baseline alternately, round by round (the order flips every
round), so that other work on a shared machine and the page cache hit both sides alike; the
figures are medians. The baseline is a Python process that walks the tree with os.walk and
lstat()s every entry: what any tool that reports sizes and file counts must at least do.
`compare` adds a third side, the same command run from another uvmod source tree (e.g. an
export of the main branch, `git archive main | tar -x -C DIR`), through PYTHONPATH.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from benchmarks.measure import commit, machine, process_times

WALK = (
    "import os, sys\n"
    "files = size = 0\n"
    "for root in sys.argv[1:]:\n"
    "    for top, dirs, names in os.walk(root):\n"
    "        for name in names + dirs:\n"
    "            size += os.lstat(os.path.join(top, name)).st_size\n"
    "            files += 1\n"
    "print(files, size)\n"
)


def walk_argv(roots: Sequence[Path]) -> list[str]:
    return [sys.executable, "-c", WALK, *map(str, roots)]


@dataclass(frozen=True)
class Measure:
    label: str
    argv: list[str]
    reset: Callable[[], None] | None = None  # untimed, before every run of argv
    ok: tuple[int, ...] = (0,)  # exit statuses that are not a failure (doctor: 1 = findings)


@dataclass(frozen=True)
class Row:
    label: str
    baseline: float  # wall-clock medians, seconds
    uvmod: float
    uvmod_cpu: float
    other: float | None = None  # the same command from the `compare` tree

    @property
    def ratio(self) -> float:
        return self.uvmod / self.baseline


def run_rows(
    measures: Sequence[Measure],
    baseline: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    runs: int,
    compare: Path | None = None,
) -> list[Row]:
    """Medians of `runs` rounds; before them one untimed run of each side warms the page
    cache and the interpreter's files (skipped for a single round: a smoke run)."""
    other_env = {**env, "PYTHONPATH": str(compare)} if compare else None
    rows = []
    for m in measures:
        sides: dict[str, Callable[[], tuple[float, float]]] = {
            "baseline": partial(process_times, baseline, env, cwd),
            "uvmod": partial(_reset_and_run, m, env, cwd),
        }
        if other_env is not None:
            sides["other"] = partial(_reset_and_run, m, other_env, cwd)
        wall: dict[str, list[float]] = {name: [] for name in sides}
        cpu: list[float] = []
        for side in sides.values() if runs > 1 else ():
            side()
        for i in range(runs):
            for name in sides if i % 2 == 0 else reversed(list(sides)):
                elapsed, used = sides[name]()
                wall[name].append(elapsed)
                if name == "uvmod":
                    cpu.append(used)
        med = {name: statistics.median(values) for name, values in wall.items()}
        rows.append(
            Row(m.label, med["baseline"], med["uvmod"], statistics.median(cpu), med.get("other"))
        )
    return rows


def _reset_and_run(m: Measure, env: Mapping[str, str], cwd: Path) -> tuple[float, float]:
    if m.reset is not None:
        m.reset()
    return process_times(m.argv, env, cwd, m.ok)


def print_rows(rows: Sequence[Row], goal: Mapping[str, float]) -> None:
    """The table; `goal` maps a row label to its target in seconds."""
    compared = any(r.other is not None for r in rows)
    extra = " uvmod from --compare | ratio to it |" if compared else ""
    print(f"| command | baseline: os.walk + lstat | uvmod | ratio |{extra} uvmod CPU time | goal |")
    print(
        "| --- | ---: | ---: | ---: |" + (" ---: | ---: |" if compared else "") + " ---: | ---: |"
    )
    for r in rows:
        target = f"<= {goal[r.label]:g} s" if r.label in goal else "-"
        other = ""
        if compared:
            other = (
                "- | - |" if r.other is None else f" {r.other:.2f} s | {r.uvmod / r.other:.2f}x |"
            )
        print(
            f"| `{r.label}` | {r.baseline:.2f} s | {r.uvmod:.2f} s | {r.ratio:.2f}x |{other} "
            f"{r.uvmod_cpu:.2f} s | {target} |"
        )


def print_report(
    title: str,
    started: datetime.datetime,
    load_before: str,
    runs: int,
    generated: float,
    rows: Sequence[Row],
    goal: Mapping[str, float],
) -> None:
    """The title, one line of when/what/where (commit, machine, load before → after), the
    table."""
    print(f"# {title}")
    print(
        f"date {started:%Y-%m-%d %H:%M} UTC · commit {commit()} · {machine()} · "
        f"Python {platform.python_version()} · load {load_before} → {load()} · "
        f"{runs} runs (medians, warm page cache) · tree generated in {generated:.1f} s"
    )
    print()
    print_rows(rows, goal)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (5 min: {five:.2f})"
