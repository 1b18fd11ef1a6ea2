"""Which environments uv uses now: the project's, as the wrapper names it, and the activated one.

The wrapper (asked through uvmod/dryrun.py) sets UV_PROJECT_ENVIRONMENT per call to
`$UVMOD_VENV_DEPOT/<name>-<hash of key and real path>`, unless the user set it themselves; without
the module uv uses the project's `.venv`. `uv pip` installs into $VIRTUAL_ENV instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from uvmod import depot, dryrun
from uvmod.doctor.context import Context
from uvmod.errors import UvmodError


@dataclass(frozen=True)
class ProjectEnv:
    path: Path
    how: str  # "depot", "job-local", "UV_PROJECT_ENVIRONMENT", ".venv" or "VIRTUAL_ENV"


def project_env(ctx: Context) -> ProjectEnv | None:
    """The environment uv uses for ctx.project now; None outside a project or when the key
    holds characters the wrapper refuses (the key check reports that)."""
    root = ctx.project
    if root is None:
        return None
    chosen = ctx.environ.get("UV_PROJECT_ENVIRONMENT")
    if chosen:
        return ProjectEnv(depot.resolve_user_environment(chosen, root), "UV_PROJECT_ENVIRONMENT")
    depot_path = ctx.depot_dir()
    if depot_path is None:
        return ProjectEnv(root / ".venv", ".venv")
    try:
        found = ctx.memo("dryrun", lambda: dryrun.project_environment(root, ctx.environ, ctx.facts))
    except UvmodError:
        return None
    if found is None:
        return None
    return ProjectEnv(found.path, "job-local" if found.job_local else "depot")


def _same(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return a == b


def active_env(ctx: Context) -> ProjectEnv | None:
    """The environment the user activated, which `uv pip` installs into: $VIRTUAL_ENV (the
    wrapper sets it only for its own exec of `uv pip`, so a value seen here is the user's, e.g.
    `uv venv $SCRATCH/envs/x` + `source .../bin/activate`). None when unset, not absolute (uv
    would not use it either), or the project's own environment, which is examined already."""
    value = ctx.environ.get("VIRTUAL_ENV", "")
    if not value.startswith("/"):
        return None
    path = Path(value)
    project = project_env(ctx)
    if project is not None and _same(project.path, path):
        return None
    return ProjectEnv(path, "VIRTUAL_ENV")
