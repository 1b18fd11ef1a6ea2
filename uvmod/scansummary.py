"""What the walk of one depot environment found, remembered until one of its directories changes.

A listing of the depot walks every file of every environment (sizes, file counts, the RECORD
check): 700,000 files for 2,000 small environments. Most environments do not change between two
listings, so the result of each walk is kept in `$UVMOD_VENV_DEPOT/.uvmod-scan/<name>`,
together with a stamp of every directory of the environment (inode, mtime and ctime, taken
before the directory was listed). The next listing reuses it while every stamp still matches:
one lstat() per directory instead of one per file. Creating, deleting or renaming a file
changes its directory's mtime and ctime (POSIX), and nothing sets a ctime back, so any file a
purge deleted, uv installed or a user removed is noticed. docs/design.md#remembered-scans says
what this guarantees and what it does not.

Only files this user wrote are read: the directory and each file must be owned by the caller
and writable by nobody else, and symlinks are not followed. A summary that cannot be read or
written is simply not used: the environment is walked as before.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SCAN_DIR = ".uvmod-scan"
FORMAT = 2  # bump when what a summary holds, or the rules that computed it, change
# A directory changed within this much of the walk is walked again next time: two changes in
# one timestamp tick look the same (Lustre keeps seconds, ext4 a kernel tick), and the clock
# that stamps files may run apart from this node's.
RACY_NS = 2_000_000_000
STALE_SECONDS = 60  # summaries of environments gone since, and temporary files left behind


@dataclass(frozen=True)
class Stamp:
    path: str  # the directory below the environment, "/bin" ("" for the environment itself)
    inode: int
    mtime_ns: int
    ctime_ns: int


@dataclass(frozen=True)
class Contents:
    """What a listing shows of an environment's files."""

    size: int
    files: int
    missing: int  # files listed in a RECORD that are gone
    core_lost: tuple[str, ...]  # "bin/python", "pyvenv.cfg": missing, so uv cannot use it


Compute = Callable[[Path], tuple[Contents, list[Stamp]]]


def _ours(info: os.stat_result) -> bool:
    return info.st_uid == os.geteuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


class Summaries:
    """The summaries of one depot, for one listing. `write`: remember new walks and forget
    environments that are gone (False for doctor, which changes nothing)."""

    def __init__(self, depot: Path, *, write: bool = True) -> None:
        self.directory = depot / SCAN_DIR
        self.write = write
        self._names: set[str] = set()
        try:
            info = os.lstat(self.directory)
        except FileNotFoundError:
            self._state = "absent"  # made on the first save
        except OSError:
            self._state = "refused"
        else:
            ok = stat.S_ISDIR(info.st_mode) and _ours(info)
            self._state = "ours" if ok else "refused"

    def get(self, name: str, env: Path, compute: Compute) -> Contents:
        """The contents of the environment `env`, remembered under `name`, else computed (and
        remembered for the next listing)."""
        self._names.add(name)
        if self._state == "ours":
            remembered = self._load(name, env)
            if remembered is not None:
                return remembered
        start = time.monotonic_ns()
        found, stamps = compute(env)
        self._save(name, found, stamps, time.monotonic_ns() - start)
        return found

    def _load(self, name: str, env: Path) -> Contents | None:
        try:
            fd = os.open(f"{self.directory}/{name}", os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or not _ours(info):
                return None
            data = handle.read()
        try:
            record = json.loads(data)
            if record["format"] != FORMAT:
                return None
            # Stamps of directories that changed shortly before the walk began cannot tell a
            # later change in the same tick: not trusted (git's "racy" rule).
            limit = info.st_mtime_ns - int(record["scan_ns"]) - RACY_NS
            base = str(env)
            lstat = os.lstat
            # This loop is what a listing of an unchanged depot costs: one lstat() a directory.
            flat = iter(record["dirs"])
            for relative, inode, mtime_ns, ctime_ns in zip(flat, flat, flat, flat, strict=True):
                if mtime_ns >= limit or ctime_ns >= limit:
                    return None
                now = lstat(base + relative)
                if now.st_mtime_ns != mtime_ns or now.st_ctime_ns != ctime_ns:
                    return None
                if now.st_ino != inode:
                    return None
            return Contents(
                int(record["size"]),
                int(record["files"]),
                int(record["missing"]),
                tuple(str(n) for n in record["core_lost"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save(self, name: str, found: Contents, stamps: list[Stamp], scan_ns: int) -> None:
        if not self.write or self._state == "refused" or not stamps:
            return
        record = {
            "format": FORMAT,
            "size": found.size,
            "files": found.files,
            "missing": found.missing,
            "core_lost": list(found.core_lost),
            "scan_ns": scan_ns,
            # One flat list (path, inode, mtime, ctime, path, ...): the quickest to parse.
            "dirs": [v for s in stamps for v in (s.path, s.inode, s.mtime_ns, s.ctime_ns)],
        }
        tmp = self.directory / f".{name}.{os.getpid()}.tmp"
        try:
            if self._state == "absent":
                os.mkdir(self.directory, 0o700)
                self._state = "ours"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(json.dumps(record, separators=(",", ":")).encode())
            os.replace(tmp, self.directory / name)
        except OSError:
            # Read-only depot, a name too long for a file, a race with another listing: the
            # next listing walks this environment again.
            self._state = "refused" if self._state == "absent" else self._state
            try:
                tmp.unlink()
            except OSError:
                pass

    def prune(self) -> None:
        """Remove the summaries of environments not listed this time (removed, or moved to the
        trash) and temporary files left behind, once they are a minute old."""
        if not self.write or self._state != "ours":
            return
        cutoff = time.time() - STALE_SECONDS
        try:
            with os.scandir(self.directory) as entries:
                for entry in entries:
                    if entry.name in self._names:
                        continue
                    try:
                        if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                            os.unlink(entry.path)
                    except OSError:
                        continue
        except OSError:
            return
