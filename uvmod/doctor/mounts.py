"""Which filesystem a path is on: device number, mount point and type from /proc/self/mountinfo.

The device number (st_dev) is what decides whether uv can hardlink or reflink from the cache into
an environment; the mount point and type are what a user can act on ("$SCRATCH is lustre").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")


@dataclass(frozen=True)
class FsInfo:
    path: Path  # the path asked about
    existing: Path  # its nearest existing ancestor (itself when it exists), what was stat()ed
    device: int
    mount_point: str  # "?" when mountinfo is unreadable
    fstype: str

    def describe(self) -> str:
        return f"{self.mount_point} ({self.fstype})"


def nearest_existing(path: Path) -> Path:
    """A path that does not exist yet will be created on the filesystem of its nearest existing
    ancestor (uv creates the cache and the environments with create_dir_all)."""
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal (\040 ...).
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def _mounts() -> list[tuple[str, str, str]]:
    """(major:minor, mount point, fstype) of every mount this process sees."""
    try:
        lines = MOUNTINFO.read_text("utf-8", "replace").splitlines()
    except OSError:
        return []
    mounts = []
    for line in lines:
        fields = line.split()
        if "-" not in fields:
            continue
        dash = fields.index("-")
        if dash < 5 or dash + 1 >= len(fields):
            continue
        mounts.append((fields[2], _unescape(fields[4]), fields[dash + 1]))
    return mounts


def fs_info(path: Path) -> FsInfo:
    existing = nearest_existing(path)
    device = existing.stat().st_dev
    dev = f"{os.major(device)}:{os.minor(device)}"
    real = os.path.realpath(existing)
    best: tuple[str, str] | None = None
    for mount_dev, point, fstype in _mounts():
        if mount_dev != dev:
            continue
        inside = real == point or real.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) > len(best[0])):
            best = (point, fstype)
    point, fstype = best if best else ("?", "?")
    return FsInfo(path, existing, device, point, fstype)
