"""`uvmod venv path|list|gc`: the user's view of the environment depot.

Each depot environment is attributed to its project (docs/design.md#environment-depot): by the
back-pointer the wrapper writes into it (uvmod/depot.py, like pipx's metadata file), else by
the wrapper's index, which it writes before uv runs, so from the very first call (a new
environment has no back-pointer until a second call, and the scratch purge may take it). `list`
reports from that, and `gc` removes environments whose project is gone, whatever their
marking, plus the damaged copies the wrapper moved to .uvmod-trash, the index entries of
deleted projects and the per-key uv.toml files of other module builds. An environment that
neither attributes is never removed.
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

from uvmod import depot, dryrun, output
from uvmod.errors import UvmodError
from uvmod.sitefacts import load_site_facts


@dataclass(frozen=True)
class Entry:
    path: Path
    project: Path | None
    project_state: str  # "present", "gone", "unknown" (filesystem not there), "" (no project)
    key: str | None
    size: int
    files: int
    missing_files: int  # listed in a RECORD of site-packages but not on disk
    last_used: float | None
    state: str  # "ok", "damaged", "unmarked" (no project known), "trash"
    project_from: str | None = None  # "marker", "index" or None (unmarked)

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


def _entry(path: Path, *, trash: bool, indexed: depot.IndexEntry | None) -> Entry:
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
    project, key, source = None, None, None
    if marker is not None:
        project, key, source = marker.project, marker.key, "marker"
    elif indexed is not None:
        project, key, source = indexed.project, indexed.key, "index"
    if trash:
        state = "trash"
    elif marker is None and used_file.exists():
        state = "damaged"  # the back-pointer was there (last-used is written after it): purged
    elif project is None:
        state = "unmarked"
    elif missing or not (path / "pyvenv.cfg").is_file():
        state = "damaged"
    else:
        state = "ok"
    return Entry(
        path=path,
        project=project,
        project_state=_project_state(project) if project is not None else "",
        key=key,
        size=size,
        files=files,
        missing_files=missing,
        last_used=last_used,
        state=state,
        project_from=source,
    )


def scan(depot_path: Path) -> Iterator[Entry]:
    """Every environment in the depot (names not starting with '.'), then the trash."""
    if not depot_path.is_dir():
        return
    index = {entry.name: entry for entry in depot.read_index(depot_path)}
    for child in sorted(depot_path.iterdir()):
        if not child.name.startswith(".") and child.is_dir() and not child.is_symlink():
            yield _entry(child, trash=False, indexed=index.get(child.name))
    trash = depot_path / depot.TRASH
    if trash.is_dir():
        for child in sorted(trash.iterdir()):
            if child.is_dir() and not child.is_symlink():
                # Moved aside as <name>.<pid> (sh/uv-rare.sh, _uvmod_move_aside).
                name = child.name.rpartition(".")[0] or child.name
                yield _entry(child, trash=True, indexed=index.get(name))


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
    found = dryrun.project_environment(directory, environ, load_site_facts(environ))
    if found is None:
        raise UvmodError(f"{directory}: the uv wrapper chooses no depot environment here")
    root, key, env_dir = found.root, found.key, found.path
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


def venv_list(
    as_json: bool, environ: Mapping[str, str], out: TextIO | None = None, width: int | None = None
) -> int:
    out = out or sys.stdout
    depot_path = _depot(environ)
    entries = list(scan(depot_path))
    if as_json:
        data = {"depot": str(depot_path), "environments": [e.as_json() for e in entries]}
        out.write(json.dumps(data, indent=2) + "\n")
        return 0
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(f"uv environments in {depot_path}"))
    for column in ("Environment", "Project", "Exists", "Key", "Size", "Files", "Last used"):
        table.add_column(column, overflow="fold")
    table.add_column("State")
    for entry in entries:
        table.add_row(*(escape(cell) for cell in _human(entry)))
    console = output.console(out, width)
    if entries:
        console.print(table)
    else:
        console.print(escape(f"No environments in {depot_path}."))
    if any(e.state == "damaged" for e in entries):
        console.print(
            "Damaged environments lost files (usually to the scratch purge): the next "
            "`uv run`/`uv sync` in their project replaces them, or remove one with rm -rf."
        )
    return 0


def _old_configs(depot_path: Path, current_build: str | None) -> list[Path]:
    """Per-key uv.toml directories of module builds other than the loaded one."""
    config = depot_path / depot.CONFIG
    if current_build is None or config.is_symlink() or not config.is_dir():
        return []
    return sorted(p for p in config.iterdir() if p.name != current_build)


def _removable(entry: Entry) -> bool:
    return entry.state == "trash" or entry.project_state == "gone"


def _remove_index_entry(entry: depot.IndexEntry, depot_path: Path) -> None:
    """The entry's file, then the directories it leaves empty, up to .uvmod-index."""
    entry.file.unlink(missing_ok=True)
    top = depot_path / depot.INDEX
    directory = entry.file.parent
    while directory != top and top in directory.parents:
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def venv_gc(dry_run: bool, environ: Mapping[str, str], out: TextIO | None = None) -> int:
    """Remove environments whose project is gone (attributed by back-pointer or index), the
    trash, index entries of deleted projects and old per-key configs; dry run by default."""
    out = out or sys.stdout
    facts = load_site_facts(environ)
    depot_path = depot.depot_dir(facts.config, environ)
    real_depot = depot_path.resolve()
    # Never follow a path out of the depot (scan() skips symlinks; this guards the rest).
    doomed = [
        e for e in scan(depot_path) if _removable(e) and real_depot in e.path.resolve().parents
    ]
    entries = [i for i in depot.read_index(depot_path) if _project_state(i.project) == "gone"]
    configs = _old_configs(depot_path, facts.build_id)
    verb = "would remove" if dry_run else "removed"
    freed = 0
    for entry in doomed:
        if not dry_run:
            shutil.rmtree(entry.path)
        freed += entry.files
        reason = "damaged copy" if entry.state == "trash" else f"project {entry.project} is gone"
        print(f"{verb} {entry.path} ({reason})", file=out)
    if entries:
        if not dry_run:
            for indexed in entries:
                _remove_index_entry(indexed, depot_path)
        what = _count(len(entries), "index entry", "index entries")
        print(f"{verb} {what} of deleted projects in {depot_path / depot.INDEX}", file=out)
    for config in configs:
        # Rebuilt on demand by the wrapper, for the module build that is loaded.
        if not dry_run:
            shutil.rmtree(config, ignore_errors=True)
        print(f"{verb} {config} (per-key uv.toml files of another module build)", file=out)
    if not (doomed or entries or configs):
        print(f"nothing to remove in {depot_path}", file=out)
        return 0
    summary = ", ".join(
        [
            _count(len(doomed), "environment", "environments") + f" ({freed:,} files)",
            _count(len(entries), "index entry", "index entries"),
            _count(len(configs), "old configuration", "old configurations"),
        ]
    )
    if dry_run:
        print(f"{summary} to remove; run `uvmod venv gc --yes` to remove them", file=out)
    else:
        print(f"{summary} removed", file=out)
    return 0
