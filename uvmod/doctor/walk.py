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
