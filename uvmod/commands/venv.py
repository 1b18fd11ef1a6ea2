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

import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TextIO

from uvmod import confined, depot, dryrun, output
from uvmod.envscan import Entry, project_state, removable, scan_depot
from uvmod.errors import UvmodError
from uvmod.sitefacts import load_site_facts


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
    exists = {"present": "yes", "gone": "no", "unreachable": "unreachable", "": "-"}[
        entry.project_state
    ]
    state = entry.state if entry.owner is None else f"foreign (user {entry.owner})"
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
    facts = load_site_facts(environ)
    depot_path = depot.depot_dir(facts.config, environ)
    # Listing writes the remembered scans (.uvmod-scan) into the depot: not where another user
    # could swap that directory for a link (the wrapper and gc refuse such a depot).
    try:
        depot.check_depot(depot_path, module=facts.config.module.name)
        trusted = True
    except depot.UntrustedDepot as exc:
        print(f"uvmod: warning: {exc}", file=sys.stderr)
        trusted = False
    entries = scan_depot(depot_path, remember=trusted)
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
    unreachable = [e for e in entries if e.project_state == "unreachable"]
    if unreachable:
        out.write(
            "\nUnreachable projects (kept by gc: their filesystem may only be missing on this "
            "node):\n"
        )
        for entry in unreachable:
            out.write(f"  {output.shown(entry.path.name)}: {output.shown(entry.project_reason)}\n")
    if any(e.state == "damaged" for e in entries):
        out.write(
            "\nDamaged environments lost files (usually to the scratch purge): the next "
            "`uv run`/`uv sync` in their project replaces them, or remove one with rm -rf.\n"
        )
    return 0


def _old_configs(depot_path: Path, current_build: str | None) -> list[Path]:
    """Per-key uv.toml directories of module builds other than the loaded one (real
    directories only: a link planted there is never followed, nor removed)."""
    config = depot_path / depot.CONFIG
    if current_build is None or config.is_symlink() or not config.is_dir():
        return []
    return sorted(p for p in config.iterdir() if p.name != current_build and not p.is_symlink())


def _remove(depot_path: Path, path: Path, *, tree: bool, out: TextIO) -> bool:
    """Remove `path` confined to the depot (uvmod/confined.py); False, and one line saying
    why, when it cannot be: another user's, or something planted in the way."""
    try:
        if tree:
            confined.remove_tree(depot_path, path)
        else:
            confined.remove_file(depot_path, path, keep=depot_path / depot.INDEX)
    except OSError as exc:
        why = exc.strerror or str(exc)
        print(f"left alone {output.shown(str(path))}: {output.shown(why)}", file=out)
        return False
    return True


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def venv_gc(dry_run: bool, environ: Mapping[str, str], out: TextIO | None = None) -> int:
    """Remove environments whose project is gone (attributed by back-pointer or index), the
    trash, index entries of deleted projects and old per-key configs; dry run by default.
    Everything is removed confined to the depot (docs/reliability.md#security-model); 1 when
    something could not be removed or another user's entries were left alone."""
    out = out or sys.stdout
    facts = load_site_facts(environ)
    depot_path = depot.depot_dir(facts.config, environ)
    # In a depot another user can write, a back-pointer could have been rewritten to make a
    # live environment look orphaned: remove nothing there (the wrapper refuses it too).
    depot.check_depot(depot_path, module=facts.config.module.name)
    scanned = scan_depot(depot_path)
    doomed = [e for e in scanned if removable(e)]
    foreign = [e for e in scanned if e.state == "foreign"]
    unreachable = [e for e in scanned if e.project_state == "unreachable"]
    entries = [i for i in depot.read_index(depot_path) if project_state(i.project) == "gone"]
    configs = _old_configs(depot_path, facts.build_id)
    verb = "would remove" if dry_run else "removed"
    freed = removed = 0
    failed = 0
    for entry in doomed:
        if not dry_run and not _remove(depot_path, entry.path, tree=True, out=out):
            failed += 1
            continue
        freed += entry.files
        removed += 1
        reason = "damaged copy" if entry.state == "trash" else f"project {entry.project} is gone"
        print(f"{verb} {output.shown(str(entry.path))} ({output.shown(reason)})", file=out)
    if entries:
        if not dry_run:
            failed += sum(
                not _remove(depot_path, indexed.file, tree=False, out=out) for indexed in entries
            )
        what = _count(len(entries), "index entry", "index entries")
        print(f"{verb} {what} of deleted projects in {depot_path / depot.INDEX}", file=out)
    old = 0
    for config in configs:
        # Rebuilt on demand by the wrapper, for the module build that is loaded.
        if not dry_run and not _remove(depot_path, config, tree=True, out=out):
            failed += 1
            continue
        old += 1
        print(f"{verb} {config} (per-key uv.toml files of another module build)", file=out)
    for entry in unreachable:
        print(
            f"kept {output.shown(str(entry.path))} (project {output.shown(str(entry.project))} "
            f"is unreachable: {output.shown(entry.project_reason)})",
            file=out,
        )
    for entry in foreign:
        print(
            f"left alone {output.shown(str(entry.path))} (belongs to {entry.owner}: "
            "a depot shared with other users, see docs/troubleshooting.md)",
            file=out,
        )
    if not (doomed or entries or configs):
        print(f"nothing to remove in {depot_path}", file=out)
        return 1 if foreign or failed else 0
    summary = ", ".join(
        [
            _count(removed, "environment", "environments") + f" ({freed:,} files)",
            _count(len(entries), "index entry", "index entries"),
            _count(old, "old configuration", "old configurations"),
        ]
    )
    if dry_run:
        print(f"{summary} to remove; run `uvmod venv gc --yes` to remove them", file=out)
    else:
        print(f"{summary} removed", file=out)
    return 1 if foreign or failed else 0
