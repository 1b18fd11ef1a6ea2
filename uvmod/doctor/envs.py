"""The project's environment as the wrapper chooses it, and what is installed in it.

The wrapper (asked through uvmod/dryrun.py) sets UV_PROJECT_ENVIRONMENT per call to
`$UVMOD_VENV_DEPOT/<name>-<hash of key and real path>`, unless the user set it themselves; without
the module uv uses the project's `.venv`. Installed distributions are read from their dist-info:
RECORD lists every installed file (PEP 376/627), and uv writes `uv_build.json` next to it for
distributions it built from source, holding the build's `extra_build_variables` (checked with uv
0.13.8: `{"extra_build_variables":{"UVMOD_CACHE_KEY":"mpich/4.1.2"}}`; `{}` without variables;
no file at all for an installed wheel).
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from uvmod import depot, dryrun
from uvmod.doctor.context import Context
from uvmod.errors import UvmodError

UV_BUILD_JSON = "uv_build.json"


@dataclass(frozen=True)
class ProjectEnv:
    path: Path
    how: str  # "depot", "UV_PROJECT_ENVIRONMENT", ".venv" or "VIRTUAL_ENV"


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
    return None if found is None else ProjectEnv(found.path, "depot")


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


def normalize(name: str) -> str:
    """PEP 503 name normalisation, to match `[cache_key].packages` with installed names."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Dist:
    name: str
    version: str
    dist_info: Path

    @property
    def site(self) -> Path:
        return self.dist_info.parent

    def files(self) -> list[str]:
        """RECORD entries, relative to site-packages (`../../bin/x` for scripts); raises
        OSError when RECORD cannot be read."""
        text = (self.dist_info / "RECORD").read_text("utf-8", "replace")
        return [row[0] for row in csv.reader(text.splitlines()) if row]

    def missing_files(self) -> list[str]:
        """RECORD entries not on disk."""
        try:
            files = self.files()
        except OSError:
            return ["RECORD"]
        return [f for f in files if not os.path.lexists(os.path.join(self.site, f))]

    def build_variables(self) -> dict[str, str] | None:
        """The extra build variables uv built this distribution with; None when it was not
        built by uv (installed from a wheel, or by another installer)."""
        try:
            data = json.loads((self.dist_info / UV_BUILD_JSON).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        variables = data.get("extra_build_variables") if isinstance(data, dict) else None
        if not isinstance(variables, dict):
            return {}
        return {str(k): str(v) for k, v in variables.items()}


def site_packages(env: Path) -> list[Path]:
    """site-packages directories, once each (a venv's lib64 is a symlink to lib)."""
    seen: dict[str, Path] = {}
    for candidate in sorted(env.glob("lib*/python*/site-packages")):
        seen.setdefault(os.path.realpath(candidate), candidate)
    return list(seen.values())


def _metadata(dist_info: Path) -> tuple[str, str]:
    name = version = ""
    try:
        with open(dist_info / "METADATA", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                if key == "Name":
                    name = value.strip()
                elif key == "Version":
                    version = value.strip()
    except OSError:
        pass
    if not name:  # METADATA purged: the directory name is `<name>-<version>.dist-info`
        name, _, version = dist_info.name.removesuffix(".dist-info").partition("-")
    return name, version


def installed(env: Path) -> Iterator[Dist]:
    for site in site_packages(env):
        for dist_info in sorted(site.glob("*.dist-info")):
            name, version = _metadata(dist_info)
            yield Dist(name, version, dist_info)
