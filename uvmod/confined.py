"""Removing files inside one directory, and nowhere else, whatever was planted in it.

`uvmod venv gc` removes environments, index entries and per-key configurations inside the
depot, a directory on shared scratch where another user may have replaced any entry by a
symlink between the scan and the removal (docs/reliability.md#security-model). So a removal
never works on a path string: the depot is opened once, each component below it is opened
relative to its parent's file descriptor with O_NOFOLLOW, and the last one is removed
relative to its parent's descriptor. A symlink anywhere below the depot stops the removal
(ELOOP or ENOTDIR) instead of being followed; shutil.rmtree with `dir_fd` walks the tree the
same way (it opens every directory with O_NOFOLLOW and checks it is the one it listed).
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class Refused(OSError):
    """A removal that would leave the directory it is confined to, or follow a link."""


def relative_inside(top: Path, path: Path) -> PurePosixPath:
    """`path` below `top`, lexically (no '..'): the parts to walk from `top`."""
    try:
        relative = PurePosixPath(path).relative_to(PurePosixPath(top))
    except ValueError:
        raise Refused(f"{path}: not inside {top}") from None
    if not relative.parts or ".." in relative.parts:
        raise Refused(f"{path}: not a path below {top}")
    return relative


@contextmanager
def _parent_fd(top: Path, relative: PurePosixPath) -> Iterator[int]:
    """A descriptor of the directory holding `relative`'s last part, reached from `top`
    without following any symlink below `top`."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        for part in relative.parts[:-1]:
            try:
                below = os.open(part, _DIRECTORY, dir_fd=fd)
            except OSError as exc:
                raise Refused(
                    exc.errno, f"{part} is not a directory (a symlink?)", str(top / relative)
                ) from None
            os.close(fd)
            fd = below
        yield fd
    finally:
        os.close(fd)


def remove_tree(top: Path, path: Path) -> None:
    """Remove the directory `path`, which must be inside `top` and reached through real
    directories only; a symlink at `path` or on the way is refused, not followed."""
    relative = relative_inside(top, path)
    with _parent_fd(top, relative) as fd:
        name = relative.parts[-1]
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        if not stat.S_ISDIR(info.st_mode):
            raise Refused(f"{path}: not a directory (a symlink?); left alone")
        shutil.rmtree(name, dir_fd=fd)


def remove_file(top: Path, path: Path, *, keep: Path | None = None) -> None:
    """Unlink `path` inside `top` (a symlink there is unlinked itself, never its target), then
    remove the directories it leaves empty, up to `keep` (default `top`), which stays."""
    relative = relative_inside(top, path)
    kept = len(relative_inside(top, keep).parts) if keep is not None else 0
    with _parent_fd(top, relative) as fd:
        try:
            os.unlink(relative.parts[-1], dir_fd=fd)
        except FileNotFoundError:
            pass
    parts = relative.parts[:-1]
    while len(parts) > kept:
        with _parent_fd(top, PurePosixPath(*parts)) as fd:
            try:
                os.rmdir(parts[-1], dir_fd=fd)
            except OSError:
                return  # not empty, or not ours: the first one left is where it stops
        parts = parts[:-1]
