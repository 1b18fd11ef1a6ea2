"""Rows 1-3: creating a project environment, recreating it after a purge, and the inodes left
in the project directory; with the module, with today's pip recipe, and with plain uv."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.measure import Trial, count_entries, interleaved, median, remove, run, timed
from benchmarks.results import Figure, Report, Row, ratio
from benchmarks.site import MODULE_NAME, Site, base_env, shell_env

PYPROJECT = """\
[project]
name = "{name}"
version = "0.1.0"
requires-python = ">={major}.{minor}"
dependencies = [{dependencies}]
"""


def write_project(directory: Path, packages: Sequence[str], python: tuple[int, int]) -> Path:
    """A project as a researcher writes it: dependencies only, no build system (uv treats it as
    an application and installs only the dependencies)."""
    directory.mkdir(parents=True, exist_ok=True)
    deps = ", ".join(f'"{name}"' for name in packages)
    (directory / "pyproject.toml").write_text(
        PYPROJECT.format(name=directory.name, major=python[0], minor=python[1], dependencies=deps)
    )
    return directory


@dataclass(frozen=True)
class Setup:
    site: Site
    packages: tuple[str, ...]
    runs: int
    python: tuple[int, int]


def _reset_envs(site: Site, project: Path) -> None:
    """Delete every environment of the project, wherever the wrapper put it: `.venv` (plain uv,
    or a module without the depot) and the bench's private depot. The wrapper's own dot-entries
    there (per-key uv.toml, name index) stay: a purge of one environment leaves them."""
    remove(project / ".venv")
    if site.depot.is_dir():
        for entry in site.depot.iterdir():
            if not entry.name.startswith("."):
                remove(entry)


def pip_trial(setup: Setup) -> Trial:
    """What the Alliance documents today: `python -m venv` + `pip install --no-index
    --find-links <wheelhouse dirs>` of the same packages, from the same wheelhouse."""
    site = setup.site
    env = base_env(site)
    venv = site.work / "pip-venv"
    links = [arg for d in site.wheel_dirs for arg in ("--find-links", str(d))]
    install = [str(venv / "bin/pip"), "install", "-q", "--no-index", *links, *setup.packages]
    create = [str(site.python), "-m", "venv", str(venv)]
    return (lambda: remove(venv), lambda: timed(create, install, env=env, cwd=site.work))


def uv_trial(setup: Setup, env: dict[str, str], project: Path, command: Sequence[str]) -> Trial:
    """Warm cache: one untimed run fills the cache and writes uv.lock; each timed run then
    starts without any environment, as a new user's or a purged one would."""
    run(command, env, project)
    return (
        lambda: _reset_envs(setup.site, project),
        lambda: timed(command, env=env, cwd=project),
    )


def module_env(site: Site) -> dict[str, str]:
    return shell_env(site, base_env(site), [f"module load {MODULE_NAME}"])


# `--no-index` has no environment variable in uv 0.13.8: plain uv gets it on the command line.
PLAIN_UV_FLAGS = ("--no-index",)


def plain_uv_env(site: Site) -> dict[str, str]:
    """uv without the module, told about the same wheelhouse by hand (UV_FIND_LINKS is
    comma-separated, plus PLAIN_UV_FLAGS) and using the same cache: the raw-uv reference."""
    env = base_env(site)
    env.update(
        {
            "UV_CACHE_DIR": str(site.cache),
            "UV_FIND_LINKS": ",".join(str(d) for d in site.wheel_dirs),
            "UV_PYTHON_PREFERENCE": "only-system",
            "UV_PYTHON_DOWNLOADS": "never",
            "PATH": f"{site.uv.parent}:{env['PATH']}",
        }
    )
    return env


SYNC = ("uv", "sync", "-q")
PLAIN_SYNC = (*SYNC, *PLAIN_UV_FLAGS)
RECREATE = ("uv", "run", "-q", "python", "-c", "pass")
UV_EXTRA_ROUNDS = 3  # per run: uv sides get 4x the samples of pip


def measure(setup: Setup, report: Report) -> None:
    site = setup.site
    module = write_project(site.work / "projects/with-module", setup.packages, setup.python)
    plain = write_project(site.work / "projects/plain-uv", setup.packages, setup.python)
    menv, penv = module_env(site), plain_uv_env(site)
    trials = {
        "pip": pip_trial(setup),
        "module": uv_trial(setup, menv, module, SYNC),
        "plain": uv_trial(setup, penv, plain, PLAIN_SYNC),
    }
    # What the first (untimed) syncs added: uv.lock, and .venv unless the wrapper moved it.
    module_inodes = count_entries(module) - 1  # minus pyproject.toml
    plain_inodes = count_entries(plain) - 1
    times = interleaved(trials, setup.runs)
    # A sync takes ~0.2 s and varies by 2x between runs on a busy machine: more samples for the
    # two uv sides (cheap) than for pip (~20 s each), still alternating.
    more = interleaved({k: trials[k] for k in ("module", "plain")}, UV_EXTRA_ROUNDS * setup.runs)
    for name, extra in more.items():
        times[name] += extra
    pip = _seconds(times["pip"], "venv + pip install")
    uvmod = _seconds(times["module"], "module load uv-hpc; uv sync")
    report.add(_creation_row(len(setup.packages), pip, uvmod))
    report.add(_reference_row(_seconds(times["plain"], "plain uv sync"), uvmod))
    recreate_trial = {"run": uv_trial(setup, menv, module, RECREATE)}
    (recreate,) = interleaved(recreate_trial, (1 + UV_EXTRA_ROUNDS) * setup.runs).values()
    report.add(_recreate_row(pip, _seconds(recreate, "automatic")))
    report.add(_inodes_row(plain_inodes, module_inodes, _listing(module)))


def _creation_row(packages: int, pip: Figure, uvmod: Figure) -> Row:
    return Row(
        "1",
        f"environment creation, warm cache ({packages} packages + deps)",
        pip,
        uvmod,
        ratio(pip.value, uvmod.value),
        ">= 40x",
        pip.value / uvmod.value >= 40,
        f"medians of {len(pip.samples)} pip runs and {len(uvmod.samples)} uv runs, alternating",
    )


def _reference_row(raw: Figure, uvmod: Figure) -> Row:
    return Row(
        "1r",
        "reference: the same `uv sync` without the module (.venv, find-links by hand)",
        raw,
        uvmod,
        ratio(uvmod.value, raw.value, 2),
        "-",
        None,
        "ratio = with uv-hpc / plain uv: what the module and wrapper add to a sync",
    )


def _recreate_row(pip: Figure, recreate: Figure) -> Row:
    return Row(
        "2",
        "recreate after purge: next `uv run python -c pass`",
        Figure(pip.value, "s", "by hand: row 1 recipe again", pip.samples),
        recreate,
        ratio(pip.value, recreate.value),
        "-",
        None,
    )


def _inodes_row(plain: int, module: int, listing: str) -> Row:
    return Row(
        "3",
        "inodes added to the project directory by `uv sync`",
        Figure(plain, "files", ".venv + uv.lock"),
        Figure(module, "files", listing),
        ratio(plain, max(module, 1)),
        "1 (uv.lock)",
        module == 1,
    )


def _seconds(samples: list[float], how: str) -> Figure:
    return Figure(median(samples), "s", how, tuple(samples))


def _listing(project: Path) -> str:
    names = sorted(p.name for p in project.iterdir() if p.name != "pyproject.toml")
    return ", ".join(names) or "nothing"
