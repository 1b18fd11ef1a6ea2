"""Counting files and bytes under a directory without following symlinks (a venv's
bin/python is a symlink to the interpreter, and a .venv may be a symlink into the depot)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Usage:
    files: int  # every non-directory entry, symlinks included: each costs an inode
    size: int  # bytes (st_size; hardlinked files counted once per name)


def usage_keeping_times(root: Path) -> Usage:
    """usage(), putting back the atime of every directory it lists.

    Listing a directory updates its atime (on relatime mounts when the atime is older than a day
    or than the mtime), and the purge check reads atimes as "last used": measuring an entry must
    not make it look used. Files are only lstat()ed, which leaves their atime alone.
    """
    files = size = 0
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            before = os.lstat(directory)
            with os.scandir(directory) as entries:
                listed = list(entries)
        except OSError:
            continue
        try:
            os.utime(directory, ns=(before.st_atime_ns, before.st_mtime_ns), follow_symlinks=False)
        except OSError:
            pass  # not ours to change: the measurement still stands
        for entry in listed:
            if entry.is_dir(follow_symlinks=False):
                pending.append(Path(entry.path))
                continue
            try:
                size += entry.stat(follow_symlinks=False).st_size
            except OSError:
                continue
            files += 1
    return Usage(files, size)


def usage(root: Path) -> Usage:
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(root):
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in filenames + links:
            try:
                size += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
            files += 1
    return Usage(files, size)


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError  # unreachable: the loop returns at TB
