"""The one writer: marker check, `--check` comparison, atomic replace.

Each file is written to a temporary file in its own directory, fsynced and renamed over the old
one, so a reader (a `module load` on another node) sees the old file or the new one, never half.
Nothing is written until every target has passed the marker check, and a file that does not carry
the uvmod marker is never replaced: the prefix may be shared with hand-written modulefiles.

A build killed midway (SIGKILL, power loss) leaves every file either old or new, plus at most
one `.<name>.*.uvmod-tmp` per target; the next build removes those of its own targets first. Two
builds of one tree at once take turns (an flock on the tree's root directory), so that clean-up
never removes the temporary file of a build still running (docs/reliability.md).

Modes are the plan's, whatever the umask of the shell that runs the build
(docs/design.md#modes-of-the-tree): each file gets its planned mode (0644, or 0755 for the
scripts of bin/ and libexec/) and each directory the build creates 0755. Directories that
already exist keep theirs: the prefix is the administrator's.

Stale files: inside the directories the plan owns entirely (the module's install directory), a
file that carries the marker but is no longer planned (the uv.toml of an architecture removed
from the config) is a difference for `--check` and is removed by the build, with the directories
it leaves empty. A file there without the marker is never touched.
"""

from __future__ import annotations

import difflib
import fcntl
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from uvmod.errors import UvmodError
from uvmod.plan import PlannedFile
from uvmod.render import MARKER

_MARKER_WINDOW = 512
_TMP_SUFFIX = ".uvmod-tmp"
DIRECTORY_MODE = 0o755


@dataclass
class WriteReport:
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # ours, no longer planned: removed

    @property
    def differs(self) -> bool:
        return bool(self.created or self.changed or self.stale)


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


def _make_directories(directory: Path) -> None:
    """Create `directory` and its missing parents with DIRECTORY_MODE (mkdir's own mode argument
    is filtered by the umask, hence the chmod)."""
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:  # made meanwhile by another build: its mode is its own
            continue
        os.chmod(path, DIRECTORY_MODE)


def _atomic_write(target: Path, content: bytes, mode: int) -> None:
    _make_directories(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=_TMP_SUFFIX, dir=target.parent)
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


def _remove_stale_temporaries(target: Path) -> None:
    """Temporary files a killed build left next to `target` (only ours: `.<name>.*.uvmod-tmp`)."""
    if target.parent.is_dir():
        prefix = f".{target.name}."  # compared as text: a name is never read as a glob pattern
        for stale in target.parent.iterdir():
            if stale.name.startswith(prefix) and stale.name.endswith(_TMP_SUFFIX):
                stale.unlink(missing_ok=True)


@contextmanager
def _exclusive(root: Path) -> Iterator[None]:
    """Hold an flock on `root` (a directory) while writing. Where the filesystem refuses flock
    on a directory (some NFS set-ups), go on without: concurrent builds are then the admin's
    business, as before."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass
        yield
    finally:
        os.close(fd)  # releases the lock


def write_tree(
    root: Path,
    files: Sequence[PlannedFile],
    *,
    check: bool,
    owned: Iterable[PurePosixPath] = (),
) -> WriteReport:
    """Compare (check=True) or write the planned files under `root`. `owned` are directories
    (relative to `root`) that only this plan writes into: stale files of ours there are removed."""
    owned = list(owned)
    if check:
        return _compare(root, files, owned)
    _make_directories(root)
    with _exclusive(root):
        report = _compare(root, files, owned)
        for planned in files:
            _remove_stale_temporaries(root / planned.path)
        for planned in files:
            if str(planned.path) not in report.unchanged:
                _atomic_write(root / planned.path, planned.content.encode("utf-8"), planned.mode)
        for relative in report.stale:
            stale = root / relative
            _remove_stale_temporaries(stale)
            stale.unlink(missing_ok=True)
            _remove_empty_parents(stale.parent, root, owned)
    return report


def _compare(
    root: Path, files: Sequence[PlannedFile], owned: Sequence[PurePosixPath]
) -> WriteReport:
    """Every target's state; raises before anything is written if one is not ours."""
    report = WriteReport()
    for planned in files:
        getattr(report, _state(root / planned.path, planned)).append(str(planned.path))
    planned_paths = {str(planned.path) for planned in files}
    report.stale = [p for p in _ours_under(root, owned) if p not in planned_paths]
    return report


def _ours_under(root: Path, owned: Sequence[PurePosixPath]) -> list[str]:
    """Files with the marker in the owned directories (relative to root, sorted). Symlinks are
    neither followed nor counted: uvmod never writes one. Temporaries are the writer's own."""
    found: list[str] = []
    for directory in owned:
        top = root / directory
        if top.is_symlink() or not top.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
            for name in filenames:
                path = Path(dirpath) / name
                if name.endswith(_TMP_SUFFIX) or path.is_symlink() or not path.is_file():
                    continue
                try:
                    ours = _is_ours(path)
                except OSError:
                    continue
                if ours:
                    found.append(str(path.relative_to(root)))
    return sorted(found)


def _remove_empty_parents(directory: Path, root: Path, owned: Sequence[PurePosixPath]) -> None:
    """Remove `directory` and its parents while they are empty, never an owned directory itself
    nor anything above it."""
    tops = {root / top for top in owned}
    while directory not in tops and any(top in directory.parents for top in tops):
        try:
            directory.rmdir()  # only succeeds when empty
        except OSError:
            return
        directory = directory.parent


def unified_diff(root: Path, planned: PlannedFile) -> str:
    """What a build would change in one existing file, as a unified diff (and the mode)."""
    target = root / planned.path
    old = target.read_bytes().decode("utf-8", "replace")
    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        planned.content.splitlines(keepends=True),
        fromfile=f"{target} (installed)",
        tofile=f"{target} (from the configuration)",
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    mode = target.stat().st_mode & 0o777
    if mode != planned.mode:
        text += f"mode of {target}: {mode:04o} -> {planned.mode:04o}\n"
    return text
