"""Items 1-3: creating a project environment, recreating it after a purge, and the inodes left
in the project directory; with the module, with today's pip recipe, and with plain uv."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.measure import count_entries, median, remove, run, samples, timed
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
    or a module without the depot) and the bench's private depot."""
    remove(project / ".venv")
    if site.depot.is_dir():
        for entry in site.depot.iterdir():
            if not entry.name.startswith(".uvmod-config"):
                remove(entry)


def pip_recipe(setup: Setup, report: Report) -> Figure:
    """What the Alliance documents today: `python -m venv` + `pip install --no-index
    --find-links <wheelhouse dirs>` of the same packages, from the same wheelhouse."""
    site = setup.site
    env = base_env(site)
    venv = site.work / "pip-venv"
    links = [arg for d in site.wheel_dirs for arg in ("--find-links", str(d))]
    install = [str(venv / "bin/pip"), "install", "-q", "--no-index", *links, *setup.packages]
    create = [str(site.python), "-m", "venv", str(venv)]
    times = samples(
        lambda: timed(create, install, env=env, cwd=site.work), setup.runs, lambda: remove(venv)
    )
    return Figure(median(times), "s", "venv + pip install", tuple(times))


def _uv_sync_times(
    setup: Setup, env: dict[str, str], project: Path, flags: Sequence[str] = ()
) -> list[float]:
    """Warm cache: one untimed `uv sync` fills the cache and writes uv.lock; each timed run then
    starts without any environment, as a new user or a purged one would."""
    uv = ["uv", "sync", "-q", *flags]
    run(uv, env, project)
    return samples(
        lambda: timed(uv, env=env, cwd=project),
        setup.runs,
        lambda: _reset_envs(setup.site, project),
    )


def module_env(site: Site) -> dict[str, str]:
    return shell_env(site, base_env(site), [f"module load {MODULE_NAME}"])


# `--no-index` has no environment variable in uv 0.13.8, so plain uv gets it on the command line.
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


def measure(setup: Setup, report: Report) -> None:
    site = setup.site
    pip = pip_recipe(setup, report)

    with_module = write_project(site.work / "projects/with-module", setup.packages, setup.python)
    menv = module_env(site)
    before = count_entries(with_module)
    sync = _uv_sync_times(setup, menv, with_module)
    module_inodes = count_entries(with_module) - before
    uvmod = Figure(median(sync), "s", "module load uv-hpc; uv sync", tuple(sync))
    report.add(
        Row(
            "1",
            f"environment creation, warm cache ({len(setup.packages)} packages + deps)",
            pip,
            uvmod,
            ratio(pip.value, uvmod.value),
            ">= 40x",
            pip.value / uvmod.value >= 40,
        )
    )

    plain = write_project(site.work / "projects/plain-uv", setup.packages, setup.python)
    penv = plain_uv_env(site)
    before = count_entries(plain)
    raw = _uv_sync_times(setup, penv, plain, PLAIN_UV_FLAGS)
    plain_inodes = count_entries(plain) - before
    report.add(
        Row(
            "1r",
            "reference: the same `uv sync` without the module (.venv, find-links by hand)",
            Figure(median(raw), "s", "plain uv sync", tuple(raw)),
            uvmod,
            ratio(median(sync), median(raw), 2),
            "-",
            None,
            "ratio = with uv-hpc / plain uv: what the module and wrapper add to a sync",
        )
    )

    recreate = _recreate_after_purge(setup, menv, with_module)
    report.add(
        Row(
            "2",
            "recreate after purge: next `uv run python -c pass`",
            Figure(pip.value, "s", "by hand: row 1 recipe again", pip.samples),
            Figure(median(recreate), "s", "automatic", tuple(recreate)),
            ratio(pip.value, median(recreate)),
            "-",
            None,
        )
    )

    report.add(
        Row(
            "3",
            "inodes added to the project directory by `uv sync`",
            Figure(plain_inodes, "files", ".venv + uv.lock"),
            Figure(module_inodes, "files", _listing(with_module)),
            ratio(plain_inodes, max(module_inodes, 1)),
            "1 (uv.lock)",
            module_inodes == 1,
        )
    )


def _recreate_after_purge(setup: Setup, env: dict[str, str], project: Path) -> list[float]:
    """The scratch purge removed the environment: the user just runs their script again."""
    command = ["uv", "run", "-q", "python", "-c", "pass"]
    run(command, env, project)
    return samples(
        lambda: timed(command, env=env, cwd=project),
        setup.runs,
        lambda: _reset_envs(setup.site, project),
    )


def _listing(project: Path) -> str:
    names = sorted(p.name for p in project.iterdir() if p.name != "pyproject.toml")
    return ", ".join(names) or "nothing"
