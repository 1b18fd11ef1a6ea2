"""The wheelhouse as an index of file names, and which wheel uv takes from it.

Scanning reads directory entries only: no stat() per file and no zip is opened, so a
50,000-wheel wheelhouse on CVMFS costs one readdir per directory (docs/performance.md). File
names are grouped by their name part first and parsed with `packaging` only for the names asked
for, so `uvmod wheels numpy` never parses the other 49,990.

Which file uv takes follows docs/design.md#which-file-uv-takes, checked with uv 0.13.8 for each
setting the site policy can produce (tests/test_wheels_uv_agreement.py runs the real uv against
these rules). Only wheels count: a source distribution in a directory is not looked at, and
neither is a wheel's Requires-Python (it is inside the zip).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    BuildTag,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from uvmod.config import WheelhouseSection


@dataclass(frozen=True)
class Directory:
    """One wheelhouse directory as found on this node."""

    relative: str  # as configured under [wheelhouse.arch], relative to wheelhouse.root
    path: str
    filenames: tuple[str, ...]  # the *.whl entries, in directory order
    error: str | None = None  # why it could not be listed (then filenames is empty)


def scan(relative: str, path: str) -> Directory:
    """The `*.whl` names in `path`: one scandir, no stat (DirEntry.name needs none)."""
    try:
        with os.scandir(path) as entries:
            names = tuple(e.name for e in entries if e.name.endswith(".whl") and e.name[0] != ".")
    except FileNotFoundError:
        return Directory(relative, path, (), "does not exist")
    except NotADirectoryError:
        return Directory(relative, path, (), "is not a directory")
    except PermissionError:
        return Directory(relative, path, (), "cannot be read (permission denied)")
    except OSError as exc:
        return Directory(relative, path, (), f"cannot be read ({exc.strerror or exc})")
    return Directory(relative, path, names)


@dataclass(frozen=True)
class Wheel:
    name: NormalizedName
    version: Version
    version_text: str  # str(version), formatted once per distinct version string
    build: BuildTag  # () when the file name has no build tag
    tags: frozenset[Tag]
    tag_text: str  # the file name's "python-abi-platform" part, as written
    filename: str
    directory: str  # Directory.relative
    path: str  # the file's absolute path

    @property
    def python_tags(self) -> list[str]:
        return self.tag_text.split("-")[0].split(".")

    @property
    def abi_tags(self) -> list[str]:
        return self.tag_text.split("-")[1].split(".")

    @property
    def platform_tags(self) -> list[str]:
        return self.tag_text.split("-")[2].split(".")


@dataclass(frozen=True)
class InvalidFile:
    directory: str
    filename: str
    error: str


def _tag_text(filename: str) -> str:
    return "-".join(filename[: -len(".whl")].split("-")[-3:])


class WheelIndex:
    """Wheel file names of several directories, grouped by project name, parsed on demand."""

    def __init__(self, directories: Iterable[Directory]) -> None:
        self.directories: dict[str, Directory] = {d.relative: d for d in directories}
        self._names: dict[str, NormalizedName] = {}
        self._files: dict[NormalizedName, list[tuple[Directory, str]]] = {}
        for directory in self.directories.values():
            for filename in directory.filenames:
                raw = filename[: -len(".whl")].partition("-")[0]
                name = self._names.get(raw)
                if name is None:
                    name = self._names[raw] = canonicalize_name(raw)
                self._files.setdefault(name, []).append((directory, filename))
        self._parsed: dict[NormalizedName, list[Wheel]] = {}
        self._version_text: dict[str, str] = {}  # as in the file name -> normalised
        self.invalid: list[InvalidFile] = []

    def names(self) -> list[NormalizedName]:
        """Every project name with at least one file, sorted (names of invalid files included)."""
        return sorted(self._files)

    def wheels(self, name: str) -> list[Wheel]:
        """The wheels of one project (any spelling of its name), in scan order."""
        key = canonicalize_name(name)
        if key not in self._parsed:
            self._parsed[key] = list(self._parse(self._files.get(key, [])))
        return self._parsed[key]

    def _parse(self, files: Sequence[tuple[Directory, str]]) -> Iterator[Wheel]:
        for directory, filename in files:
            try:
                name, version, build, tag_set = parse_wheel_filename(filename)
            except (InvalidWheelFilename, InvalidVersion) as exc:
                self.invalid.append(InvalidFile(directory.relative, filename, str(exc)))
                continue
            written = filename.split("-", 2)[1]
            text = self._version_text.get(written)
            if text is None:
                text = self._version_text[written] = str(version)
            yield Wheel(
                name,
                version,
                text,
                build,
                tag_set,
                _tag_text(filename),
                filename,
                directory.relative,
                f"{directory.path.rstrip('/')}/{filename}",
            )


class TagMatcher:
    """Whether a wheel suits the target Python on this machine, and how much uv prefers it."""

    def __init__(self, supported: Sequence[Tag]) -> None:
        self._rank: dict[Tag, int] = {}
        for rank, tag in enumerate(supported):
            self._rank.setdefault(tag, rank)
        self._platforms = {t.platform for t in supported}
        # The interpreter tags a wheel built for exactly this Python carries (cp311, py3, …):
        # one of them with a foreign ABI is an ABI mismatch, anything else another Python.
        self._own = {t.interpreter for t in supported if t.abi not in ("abi3", "abi3t")}
        self._cache: dict[str, int | None] = {}
        self._mismatch: dict[str, str | None] = {}

    def rank(self, wheel: Wheel) -> int | None:
        """The position of the wheel's best tag in the preference order (0 is best); None when
        no tag fits."""
        try:
            return self._cache[wheel.tag_text]
        except KeyError:
            ranks = [self._rank[t] for t in wheel.tags if t in self._rank]
            result = self._cache[wheel.tag_text] = min(ranks) if ranks else None
            return result

    def mismatch(self, wheel: Wheel) -> str | None:
        """None when compatible, else the first tag part that rules the wheel out."""
        try:
            return self._mismatch[wheel.tag_text]
        except KeyError:
            result = self._mismatch[wheel.tag_text] = self._why(wheel)
            return result

    def _why(self, wheel: Wheel) -> str | None:
        if self.rank(wheel) is not None:
            return None
        if not any(t.platform in self._platforms for t in wheel.tags):
            return "platform"
        if any(t.interpreter in self._own for t in wheel.tags):
            return "abi"
        return "python"


class Rule(enum.Enum):
    """How uv chooses between the wheelhouse directories, from the site policy (policy.py)."""

    WHEELHOUSE_ONLY = "wheelhouse-only"  # pypi = false: flat indexes, unsafe-best-match
    FIRST_INDEX = "first-index"  # pypi = true: flat [[index]] entries and this index-strategy
    UNSAFE_FIRST_MATCH = "unsafe-first-match"
    UNSAFE_BEST_MATCH = "unsafe-best-match"

    @classmethod
    def of(cls, wheelhouse: WheelhouseSection) -> Rule:
        return cls.WHEELHOUSE_ONLY if not wheelhouse.pypi else cls(wheelhouse.index_strategy)


RULE_TEXT = {
    Rule.WHEELHOUSE_ONLY: (
        "pypi = false (wheelhouse only, unsafe-best-match): the highest fitting version in any "
        "directory of the chain; its wheels from the first directory of the chain holding a "
        "fitting one (so an identical file name goes to the earlier directory), the best tag"
    ),
    Rule.FIRST_INDEX: (
        "index-strategy first-index: only the first directory of the chain holding any wheel "
        "of the name; there the highest version with a fitting wheel, its best tag"
    ),
    Rule.UNSAFE_FIRST_MATCH: (
        "index-strategy unsafe-first-match: the first directory of the chain holding a fitting "
        "version; there the highest one, its best tag"
    ),
    Rule.UNSAFE_BEST_MATCH: (
        "index-strategy unsafe-best-match: the highest fitting version in any directory; its "
        "wheels from the first directory of the chain holding a fitting one, the best tag"
    ),
}


@dataclass(frozen=True)
class Pick:
    """The wheel uv takes for one requirement from one chain, or why there is none."""

    wheel: Wheel | None
    tied: tuple[Wheel, ...] = ()  # every wheel uv could take equally (the pick included)
    reason: str | None = None


@dataclass
class _Ranked:
    wheel: Wheel
    rank: int
    position: int  # of its directory in the chain
    order: tuple[int, int] = field(init=False)

    def __post_init__(self) -> None:
        # Best tag first, then the highest build number; no build tag comes last (checked with
        # uv 0.13.8: build 10 beats 2 beats 1 beats none, docs/design.md#which-file-uv-takes).
        build = self.wheel.build
        self.order = (self.rank, -build[0] if build else 1)


def _fitting(ranked: Sequence[_Ranked], spec: SpecifierSet) -> list[_Ranked]:
    """Wheels whose version satisfies `spec`. Pre-releases count when the specifier names one,
    or when no final release among `ranked` satisfies it (uv's default, if-necessary-or-explicit,
    judged over the wheels being searched: docs/design.md#which-file-uv-takes)."""
    if not spec:  # no version constraint (every listed name): the common case, kept cheap
        finals = [r for r in ranked if not r.wheel.version.is_prerelease]
        return finals or list(ranked)
    if spec.prereleases:
        return [r for r in ranked if spec.contains(r.wheel.version, prereleases=True)]
    finals = [r for r in ranked if spec.contains(r.wheel.version, prereleases=False)]
    return finals or [r for r in ranked if spec.contains(r.wheel.version, prereleases=True)]


def _best_files(candidates: Sequence[_Ranked]) -> Pick:
    top = max(r.wheel.version for r in candidates)
    files = [r for r in candidates if r.wheel.version == top]
    best = min(r.order for r in files)
    tied = [r for r in files if r.order == best]
    tied.sort(key=lambda r: (r.position, r.wheel.filename))
    wheels = tuple(r.wheel for r in tied)
    return Pick(wheels[0], wheels if len(wheels) > 1 else ())


def select(
    wheels: Sequence[Wheel],
    chain: Sequence[str],
    spec: SpecifierSet,
    matcher: TagMatcher,
    rule: Rule,
) -> Pick:
    """The wheel `uv pip install` takes offline for `name<spec>` from the directories `chain`
    (most specific first), by the rule of the site policy. `wheels` are one project's."""
    position = {rel: i for i, rel in enumerate(chain)}
    mine = [w for w in wheels if w.directory in position]
    if not mine:
        return Pick(None, reason="no wheel of that name")
    ranked = [
        _Ranked(w, rank, position[w.directory])
        for w in mine
        if (rank := matcher.rank(w)) is not None
    ]
    if rule is Rule.FIRST_INDEX:
        first = min(position[w.directory] for w in mine)
        searched = [r for r in ranked if r.position == first]
        found = _fitting(searched, spec)
        if found:
            return _best_files(found)
        held = [w for w in mine if position[w.directory] == first]
        return Pick(None, reason=_no_fit(searched, held, spec, chain[first]))
    if rule is Rule.UNSAFE_FIRST_MATCH:
        for index in sorted({r.position for r in ranked}):
            found = _fitting([r for r in ranked if r.position == index], spec)
            if found:
                return _best_files(found)
        return Pick(None, reason=_no_fit(ranked, mine, spec, None))
    found = _fitting(ranked, spec)
    if not found:
        return Pick(None, reason=_no_fit(ranked, mine, spec, None))
    # unsafe-best-match, and wheelhouse only (which is unsafe-best-match over the directories).
    top = max(r.wheel.version for r in found)
    first = min(r.position for r in found if r.wheel.version == top)
    return _best_files([r for r in found if r.position == first])


def _versions(ranked: Iterable[_Ranked]) -> str:
    versions = sorted({r.wheel.version for r in ranked}, reverse=True)
    shown = ", ".join(str(v) for v in versions[:5])
    return shown + (f" and {len(versions) - 5} more" if len(versions) > 5 else "")


def _no_fit(
    searched: Sequence[_Ranked], mine: Sequence[Wheel], spec: SpecifierSet, only: str | None
) -> str:
    where = f"in {only} (the first directory holding it; first-index looks no further)"
    if not searched:
        tags = sorted({w.tag_text for w in mine})
        shown = ", ".join(tags[:3]) + (f" and {len(tags) - 3} more" if len(tags) > 3 else "")
        scope = f" {where}" if only else ""
        return f"no wheel{scope} fits this Python and platform (found {shown})"
    scope = f" {where}" if only else ""
    return f"no version{scope} satisfies {spec or 'the requirement'} (has {_versions(searched)})"
