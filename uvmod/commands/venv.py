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

import shutil
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TextIO

from uvmod import depot, dryrun, output
from uvmod.envscan import Entry, project_state, removable, scan_depot
from uvmod.errors import UvmodError
from uvmod.sitefacts import load_site_facts


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
            depot.write_marker(env_dir, root, key, found.node)
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
        "-" if entry.node is None else str(entry.node),
        decimal(entry.size),
        str(entry.files),
        used,
        state,
    ]


COLUMNS = (
    *("Environment", "Project", "Exists", "Key", "Arch (machine)"),
    *("Size", "Files", "Last used", "State"),
)


def venv_list(as_json: bool, environ: Mapping[str, str], out: TextIO | None = None) -> int:
    out = out or sys.stdout
    depot_path = _depot(environ)
    entries = scan_depot(depot_path)
    if as_json:
        data = {"depot": str(depot_path), "environments": [e.as_json() for e in entries]}
        output.write_json(data, out)
        return 0
    # Aligned columns, one environment a line whatever the width (grep-able when piped).
    if not entries:
        out.write(f"No environments in {output.shown(str(depot_path))}.\n")
        return 0
    out.write(f"uv environments in {output.shown(str(depot_path))}\n\n")
    out.write(output.columns(COLUMNS, map(_human, entries)))
    if any(e.state == "damaged" for e in entries):
        out.write(
            "\nDamaged environments lost files (usually to the scratch purge): the next "
            "`uv run`/`uv sync` in their project replaces them, or remove one with rm -rf.\n"
        )
    return 0


def _old_configs(depot_path: Path, current_build: str | None) -> list[Path]:
    """Per-key uv.toml directories of module builds other than the loaded one."""
    config = depot_path / depot.CONFIG
    if current_build is None or config.is_symlink() or not config.is_dir():
        return []
    return sorted(p for p in config.iterdir() if p.name != current_build)


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
        e for e in scan_depot(depot_path) if removable(e) and real_depot in e.path.resolve().parents
    ]
    entries = [i for i in depot.read_index(depot_path) if project_state(i.project) == "gone"]
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
