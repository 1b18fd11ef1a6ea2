"""Environments of deleted projects: what `uvmod venv gc` would remove (uvmod/envscan.py's
`removable`), found from the back-pointer and the wrapper's index as `uvmod venv list` finds
them."""

from __future__ import annotations

from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.result import Result, Status, found, listing, ok
from uvmod.envscan import human_size, measure, removable
from uvmod.scansummary import Summaries


def check_orphans(ctx: Context) -> Result:
    check = "depot.orphans"
    depot_path = ctx.depot_dir()
    if depot_path is None:
        return ok(check, "no depot (module not loaded)")
    entries = ctx.depot_entries(depot_path)
    orphans = [e for e in entries if removable(e)]
    if not orphans:
        return ok(check, f"{len(entries)} environment(s) in {depot_path}, none orphaned")
    # Only the orphans are measured; the walks `uvmod venv list` remembered are used, and none
    # are added: doctor writes nothing.
    summaries = Summaries(depot_path, write=False)
    measured = [measure(e, summaries) for e in orphans]
    size = sum(e.size for e in measured)
    files = sum(e.files for e in measured)
    names = [
        f"{e.path.name} ({'damaged copy' if e.state == 'trash' else f'{e.project} is gone'})"
        for e in orphans
    ]
    return found(
        check,
        Status.WARN,
        findings.ORPHANED_ENVS,
        f"{len(orphans)} in {depot_path}, {human_size(size)} and {files:,} files: {listing(names)}",
        "uvmod venv gc --yes (plain `uvmod venv gc` shows what it removes)",
    )
