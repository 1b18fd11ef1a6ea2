"""Requirements to check against the wheelhouse: from a requirements file or a project.

A requirements file is read the way pip and `uv pip install -r` read one, for what decides
whether the wheelhouse can serve it: comments, `\\` continuations, nested `-r`/`--requirement`
files, per-line options such as `--hash` (dropped). Global options (`--index-url`, `--pre`, …)
and constraint files (`-c`) are skipped; editable installs, paths and URLs come from elsewhere,
so they are listed as not checked. A project gives its `[project].dependencies` and its
`[build-system].requires` (uv resolves both with the site policy: docs/design.md#site-policy).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from uvmod.errors import ConfigError

_COMMENT = re.compile(r"(^|\s+)#.*$")
# A per-requirement option after the requirement (`--hash=…`, `--config-settings …`).
_LINE_OPTION = re.compile(r"\s+--?[A-Za-z]")
_INCLUDE = re.compile(r"(?:-r|--requirement)(?:\s*=\s*|\s+|(?<=-r))(?P<file>\S.*)")
_EDITABLE = re.compile(r"(?:-e|--editable)(?:\s*=\s*|\s+|(?<=-e))\S")


def _why(exc: InvalidRequirement) -> str:
    """packaging's message without the lines that draw a caret under the text."""
    return str(exc).splitlines()[0].strip()


@dataclass(frozen=True)
class Wanted:
    """One requirement and where it was written; `requirement` is None when uvmod cannot check
    it against the wheelhouse, and `unchecked` says why."""

    text: str
    source: str
    requirement: Requirement | None
    unchecked: str | None = None


def parse_argument(text: str) -> Wanted:
    """A NAME argument of `uvmod wheels`: a name or a requirement (`numpy>=1.24`)."""
    try:
        return Wanted(text, "command line", Requirement(text))
    except InvalidRequirement as exc:
        raise ConfigError(f"{text!r}: not a package name or requirement ({_why(exc)})") from None


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, line) with continuations joined and comments removed."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not pending:
            start = number
        line = raw if pending else raw.lstrip()
        if line.endswith("\\") and not _COMMENT.search(line):
            pending.append(line[:-1])
            continue
        pending.append(line)
        joined = _COMMENT.sub("", "".join(pending)).strip()
        pending = []
        if joined:
            yield start, joined
    if pending:
        joined = _COMMENT.sub("", "".join(pending)).strip()
        if joined:
            yield start, joined


def _looks_like_location(text: str) -> bool:
    return (
        "/" in text
        or text.startswith(".")
        or text.endswith((".whl", ".tar.gz", ".zip", ".tar.bz2"))
    )


def read_requirements_file(path: Path, _seen: frozenset[Path] = frozenset()) -> list[Wanted]:
    """Every requirement of a requirements file and the files it includes."""
    where = str(path)
    try:
        resolved = path.resolve()
        text = path.read_text("utf-8")
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: not UTF-8 text (byte {exc.start})") from None
    if resolved in _seen:
        raise ConfigError(f"{where}: includes itself (through -r)")
    found: list[Wanted] = []
    for number, line in _logical_lines(text):
        source = f"{where}:{number}"
        include = _INCLUDE.fullmatch(line)
        if include:
            nested = Path(include.group("file").strip())
            if not nested.is_absolute():
                nested = path.parent / nested
            found += read_requirements_file(nested, _seen | {resolved})
            continue
        if _EDITABLE.match(line):
            found.append(Wanted(line, source, None, "editable install: built from its source"))
            continue
        if line.startswith("-"):
            continue  # a global option (--index-url, --pre, -c constraints, …): not a requirement
        requirement_text = _LINE_OPTION.split(line, maxsplit=1)[0].strip()
        try:
            requirement = Requirement(requirement_text)
        except InvalidRequirement as exc:
            if _looks_like_location(requirement_text):
                found.append(Wanted(requirement_text, source, None, "a path or URL, not a name"))
                continue
            raise ConfigError(
                f"{source}: not a requirement: {requirement_text!r} ({_why(exc)})"
            ) from None
        found.append(_wanted(requirement_text, source, requirement))
    return found


def _wanted(text: str, source: str, requirement: Requirement) -> Wanted:
    if requirement.url:
        return Wanted(text, source, None, f"a direct reference ({requirement.url})")
    return Wanted(text, source, requirement)


def find_pyproject(directory: Path) -> Path:
    """The nearest pyproject.toml at or above `directory` (how uv finds a project)."""
    if not directory.is_dir():
        raise ConfigError(f"--project {directory}: not a directory")
    for candidate in [directory.resolve(), *directory.resolve().parents]:
        if (candidate / "pyproject.toml").is_file():
            return candidate / "pyproject.toml"
    raise ConfigError(f"--project {directory}: no pyproject.toml in it or above")


def read_project(pyproject: Path) -> tuple[list[Wanted], list[str]]:
    """`[project].dependencies` and `[build-system].requires`, and warnings (dynamic ones)."""
    try:
        data = tomllib.loads(pyproject.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{pyproject}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{pyproject}: not valid TOML: {exc}") from None
    project = data.get("project", {})
    build = data.get("build-system", {})
    if not isinstance(project, dict) or not isinstance(build, dict):
        raise ConfigError(f"{pyproject}: [project] and [build-system] must be tables")
    warnings = []
    if "dependencies" in (project.get("dynamic") or []):
        warnings.append(
            f"{pyproject}: project.dependencies is dynamic (computed by the build back-end), so "
            "only build-system.requires is checked"
        )
    found: list[Wanted] = []
    for key, table, field in (
        ("project.dependencies", project, "dependencies"),
        ("build-system.requires", build, "requires"),
    ):
        values = table.get(field, [])
        if not isinstance(values, list):
            raise ConfigError(f"{pyproject}: {key}: must be a list of requirements")
        for index, value in enumerate(values):
            source = f"{pyproject}: {key}[{index}]"
            if not isinstance(value, str):
                raise ConfigError(f"{source}: not a string: {value!r}")
            try:
                requirement = Requirement(value)
            except InvalidRequirement as exc:
                raise ConfigError(f"{source}: not a requirement: {value!r} ({_why(exc)})") from None
            found.append(_wanted(value, source, requirement))
    return found, warnings
