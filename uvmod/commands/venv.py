"""`uvmod venv path|list|gc`: the user's view of the environment depot.

Each depot environment carries the back-pointer the wrapper writes (uvmod/depot.py), like
pipx's metadata file: `list` reports from it, and `gc` removes only environments that carry it
and whose project is gone, plus the damaged copies the wrapper moved to .uvmod-trash.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from uvmod import depot
from uvmod.errors import UvmodError
from uvmod.sitefacts import load_site_facts


@dataclass(frozen=True)
class Entry:
    path: Path
    project: Path | None
    project_state: str  # "present", "gone", "unknown" (filesystem not there), "" (no marker)
    key: str | None
    size: int
    files: int
    missing_files: int  # listed in a RECORD of site-packages but not on disk
    last_used: float | None
    state: str  # "ok", "damaged", "unmarked", "trash"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        data["project"] = None if self.project is None else str(self.project)
        data["project_exists"] = self.project_state == "present"
        data["last_used"] = (
            None
            if self.last_used is None
            else datetime.fromtimestamp(self.last_used, UTC).isoformat()
        )
        return data


def _project_state(project: Path) -> str:
    """'gone' only when the filesystem holding it is visibly there: an unmounted $WORK on this
    node must not make gc delete every environment. An unmounted mount point is an empty
    directory, so the nearest existing ancestor must be below / and either hold something or be
    the project's own parent (the user removed the last project in it) below the top level."""
    try:
        if (project / "pyproject.toml").is_file():
            return "present"
        for ancestor in project.parents:
            if ancestor == Path("/"):
                return "unknown"
            if ancestor.is_dir():
                if any(ancestor.iterdir()):
                    return "gone"
                own_parent = ancestor == project.parent and ancestor.parent != Path("/")
                return "gone" if own_parent else "unknown"
    except OSError:
        pass
    return "unknown"


def _walk(root: Path) -> tuple[int, int, set[str]]:
    """Total size, file count and the set of file paths (for the RECORD check); no symlinks
    followed (a venv's bin/python is a symlink to the interpreter)."""
    size = files = 0
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            try:
                size += os.lstat(full).st_size
            except OSError:
                continue
            files += 1
            seen.add(os.path.normpath(full))
    return size, files, seen


def _missing_from_records(root: Path, seen: set[str]) -> int:
    """Files that installed distributions list in their RECORD and that are gone: what an
    age-based purge leaves behind in site-packages."""
    missing = 0
    records = [
        record
        for lib in root.glob("lib*")
        if not lib.is_symlink()  # uv makes lib64 -> lib: count each file once
        for record in lib.glob("python*/site-packages/*.dist-info/RECORD")
    ]
    for record in records:
        site = record.parent.parent
        try:
            rows = list(csv.reader(record.read_text("utf-8", "replace").splitlines()))
        except (OSError, csv.Error):
            continue
        for row in rows:
            if row and os.path.normpath(os.path.join(site, row[0])) not in seen:
                missing += 1
    return missing


def _entry(path: Path, *, trash: bool) -> Entry:
    marker = depot.read_marker(path)
    size, files, seen = _walk(path)
    missing = _missing_from_records(path, seen)
    used_file = path / depot.LAST_USED
    last_used: float | None = None
    for candidate in (used_file, path / depot.MARKER, path):
        try:
            last_used = candidate.stat().st_mtime
            break
        except OSError:
            continue
    if trash:
        state = "trash"
    elif marker is None:
        state = "damaged" if used_file.exists() else "unmarked"
    elif missing or not (path / "pyvenv.cfg").is_file():
        state = "damaged"
    else:
        state = "ok"
    return Entry(
        path=path,
        project=marker.project if marker else None,
        project_state=_project_state(marker.project) if marker else "",
        key=marker.key if marker else None,
        size=size,
        files=files,
        missing_files=missing,
        last_used=last_used,
        state=state,
    )


def scan(depot_path: Path) -> Iterator[Entry]:
    """Every environment in the depot (names not starting with '.'), then the trash."""
    if not depot_path.is_dir():
        return
    for child in sorted(depot_path.iterdir()):
        if not child.name.startswith(".") and child.is_dir() and not child.is_symlink():
            yield _entry(child, trash=False)
    trash = depot_path / depot.TRASH
    if trash.is_dir():
        for child in sorted(trash.iterdir()):
            if child.is_dir() and not child.is_symlink():
                yield _entry(child, trash=True)


def _depot(environ: Mapping[str, str]) -> Path:
    return depot.depot_dir(load_site_facts(environ).config, environ)


def venv_path(directory: Path, environ: Mapping[str, str], out: TextIO | None = None) -> int:
    """Print the environment uv (through the wrapper) uses for the project containing DIR."""
    out = out or sys.stdout
    root = depot.project_root(directory)
    if root is None:
        raise UvmodError(f"{directory}: not inside a project (no pyproject.toml here or above)")
    chosen = environ.get("UV_PROJECT_ENVIRONMENT")
    if chosen:  # the user's opt-out: the wrapper leaves it alone, so do we
        print(depot.resolve_user_environment(chosen, root), file=out)
        return 0
    config = load_site_facts(environ).config
    key = depot.current_key(config, environ)
    env_dir = depot.depot_dir(config, environ) / depot.env_name(root, key)
    if (env_dir / "pyvenv.cfg").is_file() and not (env_dir / depot.MARKER).exists():
        # Made by a single uv call so far: the wrapper writes the back-pointer on the next
        # one; we know the project and the key, so write it now (then gc can see it).
        try:
            depot.write_marker(env_dir, root, key)
        except OSError:
            pass
    print(env_dir, file=out)
    return 0


def _human(entry: Entry) -> list[str]:
    from rich.filesize import decimal

    used = (
        "-"
        if entry.last_used is None
        else datetime.fromtimestamp(entry.last_used).strftime("%Y-%m-%d %H:%M")
    )
    exists = {"present": "yes", "gone": "no", "unknown": "?", "": "-"}[entry.project_state]
    state = entry.state
    if entry.missing_files:
        state += f" ({entry.missing_files} files missing)"
    return [
        entry.path.name,
        str(entry.project or "-"),
        exists,
        entry.key or "-",
        decimal(entry.size),
        str(entry.files),
        used,
        state,
    ]


def venv_list(as_json: bool, environ: Mapping[str, str], out: TextIO | None = None) -> int:
    out = out or sys.stdout
    depot_path = _depot(environ)
    entries = list(scan(depot_path))
    if as_json:
        data = {"depot": str(depot_path), "environments": [e.as_json() for e in entries]}
        out.write(json.dumps(data, indent=2) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"uv environments in {depot_path}")
    for column in ("Environment", "Project", "Exists", "Key", "Size", "Files", "Last used"):
        table.add_column(column, overflow="fold")
    table.add_column("State")
    for entry in entries:
        table.add_row(*_human(entry))
    console = Console(file=out)
    if entries:
        console.print(table)
    else:
        console.print(f"No environments in {depot_path}.")
    if any(e.state == "damaged" for e in entries):
        console.print(
            "Damaged environments lost files (usually to the scratch purge): the next "
            "`uv run`/`uv sync` in their project replaces them, or remove one with rm -rf."
        )
    return 0


def _current_build(home: Path | None) -> str | None:
    """UVMOD_BUILD_ID of the loaded module's wrapper (None: unknown, keep every build's files)."""
    if home is None:
        return None
    try:
        lines = (home / "bin" / "uv").read_text("utf-8", "replace").splitlines()[:20]
    except OSError:
        return None
    for line in lines:
        if line.startswith("UVMOD_BUILD_ID="):
            return line.removeprefix("UVMOD_BUILD_ID=").strip("'")
    return None


def _stale_caches(depot_path: Path, current_build: str | None) -> list[Path]:
    found = [depot_path / depot.INDEX] if (depot_path / depot.INDEX).is_dir() else []
    config = depot_path / depot.CONFIG
    if current_build is not None and config.is_dir():
        found += sorted(p for p in config.iterdir() if p.name != current_build)
    return found


def _removable(entry: Entry) -> bool:
    return entry.state == "trash" or entry.project_state == "gone"


def venv_gc(dry_run: bool, environ: Mapping[str, str], out: TextIO | None = None) -> int:
    """Remove marked environments whose project is gone, and the trash; dry run by default."""
    out = out or sys.stdout
    facts = load_site_facts(environ)
    depot_path = depot.depot_dir(facts.config, environ)
    doomed = [e for e in scan(depot_path) if _removable(e)]
    caches = _stale_caches(depot_path, _current_build(facts.home))
    verb = "would remove" if dry_run else "removed"
    freed = 0
    for entry in doomed:
        # Never follow a path out of the depot (scan() skips symlinks; this guards the rest).
        if depot_path.resolve() not in entry.path.resolve().parents:
            continue
        if not dry_run:
            shutil.rmtree(entry.path)
        freed += entry.files
        reason = "damaged copy" if entry.state == "trash" else f"project {entry.project} is gone"
        print(f"{verb} {entry.path} ({reason})", file=out)
    for cache in caches:
        # Rebuilt on demand by the wrapper: the name index (one sha256sum per project on its
        # next call) and per-key uv.toml files of module builds that are no longer loaded.
        if not dry_run:
            shutil.rmtree(cache, ignore_errors=True)
        print(f"{verb} {cache} (cache, rebuilt when needed)", file=out)
    summary = f"{len(doomed)} environment(s), {freed} files"
    if dry_run:
        print(f"{summary} to remove; run `uvmod venv gc --yes` to remove them", file=out)
    else:
        print(f"{summary} removed", file=out)
    return 0
