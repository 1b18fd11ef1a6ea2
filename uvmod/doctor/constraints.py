"""The project's uv.lock keeps to the site constraints (`[wheelhouse] constraints`).

uv applies UV_CONSTRAINT, which the module sets, to `uv pip` (and `uv add`) only: `uv lock`,
`uv sync` and `uv run` read constraints from the project's own `[tool.uv]
constraint-dependencies`, and a `constraint-dependencies` in the system uv.toml is not read in a
project (uv 0.13.8, docs/design.md#constraints). So doctor compares the lock with the site's
files and names the line that makes uv keep to them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.result import Result, Status, found, listing, ok
from uvmod.envscan import normalize
from uvmod.errors import ConfigError
from uvmod.requirements import read_requirements_file


def site_constraints(ctx: Context) -> list[Requirement]:
    """The requirements of the site's constraint files that apply on this machine."""
    found_: list[Requirement] = []
    for path in ctx.config.wheelhouse.constraints:
        for wanted in read_requirements_file(Path(path)):
            req = wanted.requirement
            if req is not None and req.specifier and (req.marker is None or req.marker.evaluate()):
                found_.append(req)
    return found_


def locked_versions(lock: dict[str, object]) -> dict[str, list[str]]:
    versions: dict[str, list[str]] = {}
    packages = lock.get("package", [])
    for package in packages if isinstance(packages, list) else []:
        if isinstance(package, dict):
            name, version = package.get("name"), package.get("version")
            if isinstance(name, str) and isinstance(version, str):
                versions.setdefault(normalize(name), []).append(version)
    return versions


def check_locked_constraints(ctx: Context) -> Result:
    check = "constraints.locked"
    if not ctx.config.wheelhouse.constraints:
        return ok(check, "the site sets no constraints")
    if ctx.project is None:
        return ok(check, "not in a project")
    lock_path = ctx.project / "uv.lock"
    if not lock_path.is_file():
        return ok(check, "the project has no uv.lock yet")
    try:
        constraints = site_constraints(ctx)
    except ConfigError as exc:
        return found(
            check,
            Status.WARN,
            findings.CHECK_ERROR,
            "; ".join(exc.messages),
            "ask your administrator: a site constraint file cannot be read",
        )
    try:
        lock = tomllib.loads(lock_path.read_text("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return found(check, Status.FAIL, findings.CONFIG_INVALID, f"{lock_path}: {exc}", "uv lock")
    versions = locked_versions(lock)
    violations: list[str] = []
    broken: list[str] = []
    for req in constraints:
        for version in versions.get(normalize(req.name), []):
            try:
                fits = req.specifier.contains(Version(version), prereleases=True)
            except InvalidVersion:
                continue
            if not fits:
                violations.append(f"{req.name} {version} (site: {req})")
                broken.append(str(req))
    if not violations:
        return ok(check, f"uv.lock keeps to the {len(constraints)} site constraints")
    line = "constraint-dependencies = [" + ", ".join(f'"{c}"' for c in dict.fromkeys(broken))
    return found(
        check,
        Status.FAIL,
        findings.LOCK_VIOLATES_CONSTRAINTS,
        listing(violations),
        f"add {line}] under [tool.uv] in {ctx.project / 'pyproject.toml'}, then uv lock",
    )
