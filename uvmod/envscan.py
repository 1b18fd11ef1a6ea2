"""Environments on disk: what is installed, whether it is whole, what it costs, and the depot.

Every command that looks at environments reads them through this module: `uvmod venv list`
and `gc`, and doctor's depot, activated-environment, purge and cache checks. So there is one
rule for each question:

- **Complete?** Every path a distribution's RECORD lists (PEP 376/627) exists, RECORD
  included (`missing_files`); for an environment also pyvenv.cfg and bin/python, without which
  uv does not use it at all (`damage`). An age-based scratch purge deletes files one by one, so
  an environment can lose part of site-packages and still look present: RECORD is the list to
  check against.
- **What does it cost?** Files and bytes under a directory, symlinks not followed (a venv's
  bin/python is a symlink to the interpreter), counted by one walk (`walk`).
- **Whose is it, and may gc remove it?** The back-pointer, else the wrapper's index
  (docs/design.md#environment-depot); `removable`: the trash, and environments whose project
  is gone.

A depot is read in two steps (docs/design.md#one-scan-of-environments): `locate_depot` finds
each environment's project and last use with a few stat()s; `measure` adds what its files cost
and whether they are complete, re-walking only environments that changed since they were last
measured (uvmod/scansummary.py, docs/design.md#remembered-scans).
"""

from __future__ import annotations

import csv
import functools
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from uvmod import depot
from uvmod.scansummary import Contents, Stamp, Summaries
from uvmod.trust import owner_name

PYVENV_CFG = "pyvenv.cfg"
PYTHON = "bin/python"


# Distributions -----------------------------------------------------------------------------


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
        OSError when RECORD cannot be read. Read without touching its access time: the purge
        checks read atimes as use, and looking is not using."""
        data = depot.read_without_atime(self.dist_info / "RECORD")
        text = data.decode("utf-8", "replace")
        if '"' not in text:  # no quoted field: the path is what precedes the first comma
            return [line.partition(",")[0] for line in text.splitlines() if line]
        try:
            return [row[0] for row in csv.reader(text.splitlines()) if row]
        except csv.Error as exc:  # a corrupt RECORD is as good as none
            raise OSError(f"{self.dist_info / 'RECORD'}: {exc}") from None

    def missing_files(self) -> list[str]:
        """RECORD entries not on disk; ["RECORD"] when RECORD itself is gone or unreadable."""
        try:
            files = self.files()
        except OSError:
            return ["RECORD"]
        return missing_paths(self.site, files)


def missing_paths(site: Path, paths: Iterable[str]) -> list[str]:
    """The paths (relative to `site`, or absolute) that do not exist, symlinks not followed.
    One lstat() each, joined as strings: this runs for every file of a large cache."""
    base = str(site) + "/"
    lstat = os.lstat
    missing = []
    for path in paths:
        try:
            lstat(path if path.startswith("/") else base + path)
        except (OSError, ValueError):  # ValueError: a NUL byte in the path
            missing.append(path)
    return missing


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
        name, version = name_from_dist_info(dist_info)
    return name, version


def name_from_dist_info(dist_info: Path) -> tuple[str, str]:
    """`numpy-2.4.6.dist-info` -> ("numpy", "2.4.6") (the wheel spec escapes '-' in both)."""
    name, _, version = dist_info.name.removesuffix(".dist-info").partition("-")
    return name, version


def normalize(name: str) -> str:
    """PEP 503 name normalisation, to match `[cache_key].packages` with installed names."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(env: Path) -> Iterator[Dist]:
    for site in site_packages(env):
        for dist_info in sorted(site.glob("*.dist-info")):
            name, version = _metadata(dist_info)
            yield Dist(name, version, dist_info)


@dataclass(frozen=True)
class Damage:
    """What an environment lost: files that installed distributions list in RECORD and are
    gone, and pyvenv.cfg and bin/python, without which uv does not use it at all."""

    missing: int  # RECORD files gone, plus one for each of pyvenv.cfg and bin/python
    record_missing: int  # RECORD files gone (a purged RECORD counts as one)
    lost: list[str]  # "bin/python", "pyvenv.cfg", "<name> <count>"
    dists: list[Dist]  # the distributions missing files
    total_dists: int

    @property
    def unusable(self) -> bool:
        return bool({PYTHON, PYVENV_CFG} & set(self.lost))


def damage(env: Path) -> Damage:
    lost: list[str] = []
    hurt: list[Dist] = []
    record_missing = 0
    dists = list(installed(env))
    for dist in dists:
        missing = dist.missing_files()
        if missing:
            record_missing += len(missing)
            lost.append(f"{dist.name} {len(missing)}")
            hurt.append(dist)
    core = [name for name in (PYTHON, PYVENV_CFG) if not _core_present(env, name)]
    return Damage(record_missing + len(core), record_missing, core + lost, hurt, len(dists))


def _core_present(env: Path, name: str) -> bool:
    if name == PYVENV_CFG:
        return (env / name).is_file()
    return (env / name).exists()  # uv refuses an environment whose interpreter link is broken


# Sizes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    files: int  # every non-directory entry, symlinks included: each costs an inode
    size: int  # bytes (st_size; hardlinked files counted once per name)


def walk(root: Path, *, keep_times: bool = False, stamps: list[Stamp] | None = None) -> Usage:
    """Files and bytes under `root`, symlinks not followed; nothing when `root` is unreadable.

    `keep_times` puts back the access time of every directory listed: listing a directory
    updates its atime (on relatime mounts when older than a day or than the mtime), and the
    purge check reads atimes as "last used", so measuring must not make an entry look used.
    Files are only lstat()ed, which leaves their atime alone. `stamps` collects each
    directory's identity and times, taken before it is listed (scansummary.py).
    """
    files = size = 0
    try:
        pending: list[tuple[str, str, os.stat_result]] = [(str(root), "", os.lstat(root))]
    except OSError:
        return Usage(0, 0)
    while pending:
        path, relative, info = pending.pop()
        if stamps is not None:
            stamps.append(Stamp(relative, info.st_ino, info.st_mtime_ns, info.st_ctime_ns))
        try:
            with os.scandir(path) as entries:
                listed = list(entries)
        except OSError:
            continue
        if keep_times:
            try:
                os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns), follow_symlinks=False)
            except OSError:
                pass  # not ours to change: the measurement still stands
        for entry in listed:
            try:
                found = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(found.st_mode):
                pending.append((entry.path, f"{relative}/{entry.name}", found))
            else:
                files += 1
                size += found.st_size
    return Usage(files, size)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError  # unreachable: the loop returns at TB


# The depot ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Located:
    """A depot environment as its place, back-pointer and the wrapper's index tell, before its
    files are looked at (what gc and the purge-age check need)."""

    path: Path
    summary: str  # its name among the remembered scans (scansummary.py)
    project: Path | None
    project_state: str  # "present", "gone", "unreachable" (see reach), "" (no project)
    key: str | None
    last_used: float | None
    # "ok" (so far), "damaged" (back-pointer purged), "unmarked", "trash", "foreign"
    state: str
    project_from: str | None  # "marker", "index" or None (unmarked)
    project_reason: str = ""  # why the project is gone or unreachable (reach)
    owner: str | None = None  # the user owning a foreign entry
    node: depot.Node | None = None  # the node type it was made for, when known


@dataclass(frozen=True)
class Entry:
    """A depot environment with what its files cost and whether they are complete."""

    path: Path
    project: Path | None
    project_state: str
    key: str | None
    size: int
    files: int
    missing_files: int  # listed in a RECORD of site-packages but not on disk
    last_used: float | None
    state: str  # "ok", "damaged", "unmarked" (no project known), "trash", "foreign"
    project_from: str | None = None
    project_reason: str = ""
    owner: str | None = None  # another user's entry in a shared depot: never read nor removed
    node: depot.Node | None = None  # the node type it was made for, when known

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["node"]
        data["arch"] = None if self.node is None else self.node.arch
        data["machine"] = None if self.node is None else self.node.machine
        data["path"] = str(self.path)
        data["project"] = None if self.project is None else str(self.project)
        data["project_exists"] = self.project_state == "present"
        data["last_used"] = (
            None
            if self.last_used is None
            else datetime.fromtimestamp(self.last_used, UTC).isoformat()
        )
        return data


@dataclass(frozen=True)
class Reach:
    """Whether a project is there, and why uvmod says so: `state` is "present", "gone" or
    "unreachable"; `reason` says what was seen (empty when present)."""

    state: str
    reason: str = ""


def reach(project: Path) -> Reach:
    """'gone' only when the filesystem that held the project is visibly here and the project is
    not (docs/design.md#gone-or-unreachable): a $WORK not mounted on this node must not make gc
    delete every environment of it. The nearest existing ancestor is what decides:

    - none below / (the top-level directory of a mount is missing): unreachable;
    - a mount point (another device than its parent) with nothing below: a filesystem mounted
      empty, or an automount that did not come up: unreachable;
    - a directory holding no directory (nothing, or only files): what an unmounted mount point
      looks like, bare or with the stub file sites leave in it: unreachable. This also keeps the
      environment of the last project removed from a directory: kept, listed, never deleted;
    - a directory holding directories, on the device of its parent: the filesystem is here and
      the project is not: gone.

    Anything that cannot be looked at (permissions, a hung or failing mount) is unreachable."""
    try:
        if stat.S_ISREG(os.stat(f"{project}/pyproject.toml").st_mode):
            return Reach("present")
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError as exc:
        return Reach("unreachable", f"cannot look at {project}: {exc.strerror or exc}")
    for ancestor in project.parents:
        if ancestor == Path("/"):
            return Reach("unreachable", f"no directory of {project} exists below /")
        try:
            info = os.stat(ancestor)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            return Reach("unreachable", f"cannot look at {ancestor}: {exc.strerror or exc}")
        if not stat.S_ISDIR(info.st_mode):
            return Reach("unreachable", f"{ancestor} is not a directory")
        try:
            parent_device = os.stat(ancestor.parent).st_dev
            with os.scandir(ancestor) as entries:
                holds_directory = any(e.is_dir(follow_symlinks=False) for e in entries)
        except OSError as exc:
            return Reach("unreachable", f"cannot list {ancestor}: {exc.strerror or exc}")
        if info.st_dev != parent_device and not holds_directory:
            return Reach("unreachable", f"{ancestor} is a mount point with nothing below")
        if not holds_directory:
            return Reach(
                "unreachable",
                f"{ancestor} holds no directory (a filesystem not mounted here?)",
            )
        return Reach("gone", f"{ancestor} is here without it")
    return Reach("unreachable", f"no directory of {project} exists below /")


def project_state(project: Path) -> str:
    """reach(project).state."""
    return reach(project).state


def removable(entry: Located | Entry) -> bool:
    """What `uvmod venv gc` removes and doctor calls orphaned: the damaged copies the wrapper
    moved to the trash, and environments whose project is gone (never an unattributed one,
    nor one whose project's filesystem is not visible here, nor another user's)."""
    if entry.state == "foreign":
        return False
    return entry.state == "trash" or entry.project_state == "gone"


def contents(env: Path) -> tuple[Contents, list[Stamp]]:
    """Walk `env` and check its RECORDs: what a listing shows of it, and the stamps that tell
    whether it changed since."""
    stamps: list[Stamp] = []
    used = walk(env, stamps=stamps)
    lost = damage(env)
    core = tuple(name for name in lost.lost if name in (PYTHON, PYVENV_CFG))
    return Contents(used.size, used.files, lost.record_missing, core), stamps


def _last_used(path: Path) -> float | None:
    base = str(path)
    for candidate in (f"{base}/{depot.LAST_USED}", f"{base}/{depot.MARKER}", base):
        try:
            return os.stat(candidate).st_mtime
        except OSError:
            continue
    return None


IndexLookup = Callable[[str], depot.IndexEntry | None]


def _foreign(path: Path, summary: str) -> Located | None:
    """Another user's entry in a shared depot: listed with its owner, its back-pointer not
    believed (its owner wrote it), never removed (docs/reliability.md#security-model)."""
    try:
        uid = os.lstat(path).st_uid
    except OSError:
        return None
    if uid == os.geteuid():
        return None
    return Located(
        path=path,
        summary=summary,
        project=None,
        project_state="",
        key=None,
        last_used=None,
        state="foreign",
        project_from=None,
        owner=owner_name(uid),
    )


def _locate(path: Path, summary: str, name: str, *, trash: bool, index: IndexLookup) -> Located:
    foreign = _foreign(path, summary)
    if foreign is not None:
        return foreign
    marker = depot.read_marker(path)
    project, key, source, node = None, None, None, None
    indexed = index(name) if marker is None or marker.node is None else None
    if marker is not None:
        project, key, source, node = marker.project, marker.key, "marker", marker.node
    elif indexed is not None:
        project, key, source = indexed.project, indexed.key, "index"
    if node is None and indexed is not None:
        node = indexed.node
    if trash:
        state = "trash"
    elif marker is None and os.path.exists(f"{path}/{depot.LAST_USED}"):
        state = "damaged"  # the back-pointer was there (last-used is written after it): purged
    elif project is None:
        state = "unmarked"
    else:
        state = "ok"
    reached = reach(project) if project is not None else Reach("")
    return Located(
        path=path,
        summary=summary,
        project=project,
        project_state=reached.state,
        key=key,
        last_used=_last_used(path),
        state=state,
        project_from=source,
        project_reason=reached.reason,
        node=node,
    )


def _children(directory: Path, *, own: bool = False) -> list[Path]:
    """Real directories in `directory`, by name; symlinks are never followed out of the depot.
    `own`: `directory` is one of uvmod's inside the depot, and not followed either when it is a
    link (a `.uvmod-trash` replaced by a link to `.` lists nothing)."""
    try:
        if own and not stat.S_ISDIR(os.lstat(directory).st_mode):
            return []
        with os.scandir(directory) as entries:
            names = sorted(e.name for e in entries if e.is_dir(follow_symlinks=False))
    except OSError:
        return []
    return [directory / name for name in names]


def locate_depot(depot_path: Path) -> list[Located]:
    """Every environment in the depot (names not starting with '.'), then the trash."""
    if not depot_path.is_dir():
        return []

    # Read only for an environment without a back-pointer, which most of them have.
    @functools.cache
    def index() -> dict[str, depot.IndexEntry]:
        return {entry.name: entry for entry in depot.read_index(depot_path)}

    def lookup(name: str) -> depot.IndexEntry | None:
        return index().get(name)

    found = [
        _locate(child, child.name, child.name, trash=False, index=lookup)
        for child in _children(depot_path)
        if not child.name.startswith(".")
    ]
    for child in _children(depot_path / depot.TRASH, own=True):
        # Moved aside as <name>.<pid> (sh/uv-rare.sh, _uvmod_move_aside).
        name = child.name.rpartition(".")[0] or child.name
        found.append(_locate(child, "." + child.name, name, trash=True, index=lookup))
    return found


def measure(located: Located, summaries: Summaries) -> Entry:
    """`located` with its size, file count and missing files: remembered, else walked (not
    another user's: nothing of theirs is read)."""
    if located.state == "foreign":
        known = Contents(0, 0, 0, ())
    else:
        known = summaries.get(located.summary, located.path, contents)
    state = located.state
    if state == "ok" and (known.missing or known.core_lost):
        state = "damaged"
    return Entry(
        path=located.path,
        project=located.project,
        project_state=located.project_state,
        key=located.key,
        size=known.size,
        files=known.files,
        missing_files=known.missing,
        last_used=located.last_used,
        state=state,
        project_from=located.project_from,
        project_reason=located.project_reason,
        owner=located.owner,
        node=located.node,
    )


def scan_depot(depot_path: Path, *, remember: bool = True) -> list[Entry]:
    """Every environment in the depot, then the trash, measured. `remember`: keep what each
    walk found for the next scan, and forget environments that are gone."""
    summaries = Summaries(depot_path, write=remember)
    entries = [measure(located, summaries) for located in locate_depot(depot_path)]
    summaries.prune()
    return entries
