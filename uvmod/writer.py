"""The one writer: marker check, `--check` comparison, atomic replace.

Each file is written to a temporary file in its own directory, fsynced and renamed over the old
one, so a reader (a `module load` on another node) sees the old file or the new one, never half.
Nothing is written until every target has passed the marker check, and a file that does not carry
the uvmod marker is never replaced: the prefix may be shared with hand-written modulefiles.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from uvmod.errors import UvmodError
from uvmod.plan import PlannedFile
from uvmod.render import MARKER

_MARKER_WINDOW = 512


@dataclass
class WriteReport:
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def differs(self) -> bool:
        return bool(self.created or self.changed)


def _is_ours(path: Path) -> bool:
    with path.open("rb") as handle:
        return MARKER.encode() in handle.read(_MARKER_WINDOW)


def _state(target: Path, planned: PlannedFile) -> str:
    """'created', 'changed' or 'unchanged' for one target; raises for a foreign file."""
    if not target.exists() and not target.is_symlink():
        return "created"
    if target.is_symlink() or not target.is_file() or not _is_ours(target):
        raise UvmodError(
            f"{target}: exists and was not written by uvmod (no {MARKER!r} marker); "
            "refusing to replace it. Move it away or choose another --prefix/--destdir."
        )
    same = target.read_bytes() == planned.content.encode("utf-8")
    same = same and (target.stat().st_mode & 0o777) == planned.mode
    return "unchanged" if same else "changed"


def _atomic_write(target: Path, content: bytes, mode: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".uvmod-tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_tree(root: Path, files: Sequence[PlannedFile], *, check: bool) -> WriteReport:
    """Compare (check=True) or write the planned files under `root`."""
    report = WriteReport()
    states = [(planned, _state(root / planned.path, planned)) for planned in files]
    for planned, state in states:
        getattr(report, state).append(str(planned.path))
        if not check and state != "unchanged":
            _atomic_write(root / planned.path, planned.content.encode("utf-8"), planned.mode)
    return report
