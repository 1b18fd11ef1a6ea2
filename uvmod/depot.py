"""The environment depot: project root, depot names and the marker, as the sh wrapper does them.

The wrapper (sh/uv-phases.sh) computes the same things on every uv call, and `uvmod venv path`
and doctor ask it (uvmod/dryrun.py) rather than this module whenever a module is loaded. This
Python twin serves what has no wrapper call behind it: `venv list`/`gc` over a whole depot and
the commands run without a loaded module. tests/test_depot_names.py runs both over many
generated paths and keys and requires identical names and index entries.

Paths are handled as bytes (os.fsencode) because the wrapper works byte-wise (LC_ALL=C): a
project under a non-UTF-8 directory name must still map to the same environment.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from uvmod import pathexpr, trust
from uvmod.cachekey import effective_key
from uvmod.config import SiteConfig
from uvmod.errors import UvmodError
from uvmod.moduledesc import ARCH_VARIABLE, DEPOT_VARIABLE, MACHINE_VARIABLE

# The names and limits below are the one definition of the depot's layout: the wrapper gets
# each of them as an assignment at the top of bin/uv (uvmod/render/wrapper.py), so its sh body
# spells none of them (docs/design.md#one-home-for-each-rule).
HASH_CHARS = 16  # 64 bits of sha256: no collision in any plausible number of projects
# The readable part of a name: at most 48 characters, so a whole name (48 + 1 + 16 = 65) stays
# well under the 100 characters that ls and job scripts show without wrapping.
READABLE_MAX = 48
READABLE_EMPTY = "project"  # the readable part of a root whose last component has none
DEPOT_TAG = "uvmod-depot-v2"  # the first line hashed into every name: a new scheme, new names
# Characters a cache key may hold (letters, digits and these): module full names joined with
# ','. The key reaches a TOML string and directory names unescaped, so nothing else is allowed.
KEY_PUNCTUATION = "._+,/-"
# Characters the readable part keeps (letters, digits and these); each run of others is one '_'.
NAME_PUNCTUATION = "._-"
MARKER = ".uvmod-project"
LAST_USED = ".uvmod-last-used"
MARKER_HEADER = "uvmod-project 2"  # then the key, the arch, the machine and the project path
OLD_MARKER_HEADER = "uvmod-project 1"  # the key and the project path (read, never written)
TRASH = ".uvmod-trash"  # damaged environments the wrapper moved aside
CONFIG = ".uvmod-config"  # the wrapper's per-key uv.toml files
SETUPTOOLS = ".uvmod-setuptools"  # the wrapper's per-key setup.cfg (docs/design.md#per-key-builds)
INDEX = ".uvmod-index"  # the wrapper's memo of names: n-<node>/k-<key><project path>/.uvmod-name
INDEX_NAME = ".uvmod-name"  # the file holding one environment's name in the index
# The stamp directory of a depot that passed check_depot (docs/design.md#trust), and the prefix
# of the wrapper's temporary files (made by mktemp, never a predictable name).
CHECKED = ".uvmod-checked"
TEMPORARY = ".uvmod-tmp"
# A key in a path: "k-" then the key with '/' spelled '@' ('@' is no key character, so the
# spelling is one-to-one); longer than KEY_DIR_MAX (NAME_MAX is 255), "k-h-<sha256 of the key>".
KEY_DIR_PREFIX = "k-"
KEY_SLASH = "@"
HASHED_KEY_PREFIX = "h-"
KEY_DIR_MAX = 200
# The node type in a path: "n-<machine>@<arch>"; neither holds '@' (NODE_CHARS).
NODE_DIR_PREFIX = "n-"
NODE_SEPARATOR = "@"
# Characters an arch or machine name may hold: letters, digits and these (the arch names of
# [arch.flags], and `uname -m` of every Linux port).
NODE_PUNCTUATION = "._+-"
# The workspace test of project_root, as a POSIX ERE for the wrapper's grep.
WORKSPACE_ERE = r"^[[:blank:]]*\[[[:blank:]]*tool\.uv\.workspace[[:blank:]]*\]"

# '-' ends both sets, where it is literal in a regex class and in a sh bracket expression alike.
assert KEY_PUNCTUATION.endswith("-") and NAME_PUNCTUATION.endswith("-")
_WORKSPACE = re.compile(WORKSPACE_ERE.replace("[:blank:]", " \t").encode(), re.MULTILINE)
_UNSAFE_RUN = re.compile(f"[^A-Za-z0-9{NAME_PUNCTUATION}]+".encode())
KEY_CHARS = re.compile(f"[A-Za-z0-9{KEY_PUNCTUATION}]*")
NODE_CHARS = re.compile(f"[A-Za-z0-9{NODE_PUNCTUATION}]*")
assert NODE_PUNCTUATION.endswith("-") and NODE_SEPARATOR not in NODE_PUNCTUATION


@dataclass(frozen=True)
class Node:
    """The node type an environment is made for (docs/design.md#node-types): the architecture
    the module detected ("" without a module) and the machine type (`uname -m`)."""

    arch: str
    machine: str

    def __str__(self) -> str:
        return f"{self.arch or '-'} ({self.machine})"


def current_node(environ: Mapping[str, str] | None = None) -> Node:
    """This call's node type as the wrapper takes it: $UVMOD_ARCH, and $UVMOD_MACHINE, which the
    module sets at load time (else `uname -m`, as the wrapper falls back to)."""
    env = os.environ if environ is None else environ
    node = Node(env.get(ARCH_VARIABLE, ""), env.get(MACHINE_VARIABLE) or os.uname().machine)
    for variable, value in ((ARCH_VARIABLE, node.arch), (MACHINE_VARIABLE, node.machine)):
        if not NODE_CHARS.fullmatch(value):
            raise UvmodError(
                f"${variable}={value!r} holds characters other than letters, digits and "
                f"'{NODE_PUNCTUATION}'"
            )
    return node


# Without a module: no arch, this machine (what the wrapper uses then).
NO_MODULE = Node("", os.uname().machine)


def node_dir(node: Node) -> str:
    return f"{NODE_DIR_PREFIX}{node.machine}{NODE_SEPARATOR}{node.arch}"


def node_of_dir(directory: str) -> Node | None:
    """`n-x86_64@avx2` -> Node("avx2", "x86_64"), the inverse of node_dir."""
    if not directory.startswith(NODE_DIR_PREFIX):
        return None
    machine, sep, arch = directory.removeprefix(NODE_DIR_PREFIX).partition(NODE_SEPARATOR)
    if not sep or not machine or not NODE_CHARS.fullmatch(machine + arch):
        return None
    return Node(arch, machine)


def _glob_matches(relative: str, glob: str) -> bool:
    """The wrapper's _uvmod_glob_matches: a sh pattern (fnmatch's `*` also matches '/'), with
    as many '/' as the glob unless the glob has '**'."""
    if not fnmatch.fnmatchcase(relative, glob):
        return False
    return "**" in glob or relative.count("/") == glob.count("/")


class ForeignWorkspace(UvmodError):
    """Another user's pyproject.toml above a project declares a workspace uv would join it to."""


def _declares_workspace(pyproject: bytes) -> bool:
    """The wrapper's `grep -Eq "$UVMOD_WORKSPACE_ERE"`."""
    try:
        with open(pyproject, "rb") as handle:
            return _WORKSPACE.search(handle.read()) is not None
    except OSError:
        return False


def workspace_counts(directory: bytes, root: bytes, uid: int | None = None) -> bool:
    """Whether the pyproject.toml of `directory`, above the project `root`, makes it the root,
    as uv decides (the wrapper's _uvmod_workspace_counts, docs/design.md#trust): it has a
    `[tool.uv.workspace]` header line, its members globs match the project's path below
    `directory` while no exclude glob does, and the project declares no workspace of its own.
    Raises ForeignWorkspace when it would count but is neither the user's nor root's."""
    owner = os.geteuid() if uid is None else uid
    pyproject = directory + b"/pyproject.toml"
    try:
        with open(pyproject, "rb") as handle:
            data = handle.read()
        file_owner = os.stat(pyproject).st_uid
        if _WORKSPACE.search(data) is None:
            return False
        table = tomllib.loads(data.decode("utf-8")).get("tool", {}).get("uv", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    workspace = table.get("workspace") if isinstance(table, dict) else None
    if not isinstance(workspace, dict):
        return False
    relative = os.fsdecode(root.removeprefix(directory + b"/"))

    def globs(name: str) -> list[str]:
        value = workspace.get(name, [])
        items = value if isinstance(value, list) else []
        return [g.removeprefix("./").removesuffix("/") for g in items if isinstance(g, str)]

    if any(_glob_matches(relative, g) for g in globs("exclude")):
        return False
    if not any(_glob_matches(relative, g) for g in globs("members")):
        return False
    if _declares_workspace(root + b"/pyproject.toml"):
        return False
    if file_owner in (owner, 0):
        return True
    project = os.fsdecode(root)
    raise ForeignWorkspace(
        f"refusing to run uv in {project}: {os.fsdecode(pyproject)} belongs to another user "
        f"(uid {file_owner}) and declares a uv workspace with your project as a member, which "
        f"uv would join. Fix: add an empty [tool.uv.workspace] table to {project}/pyproject.toml "
        "(your project is then a workspace of its own), or ask its owner to remove it "
        "(docs/troubleshooting.md)."
    )


def _parent(path: bytes) -> bytes:
    """sh `${d%/*}` with "" standing for /."""
    return path.rpartition(b"/")[0]


def project_root(start: str | os.PathLike[str], uid: int | None = None) -> Path | None:
    """The directory whose environment uv uses when run from `start` (None: not in a project).

    Like uv, but approximated (docs/user-guide.md): the nearest directory with a pyproject.toml,
    replaced by the nearest ancestor above it that workspace_counts (for the user `uid`, by
    default this process's), which raises ForeignWorkspace for another user's workspace that uv
    would join. `start` is resolved like `cd -P`.
    """
    current = os.fsencode(os.path.realpath(start))
    current = b"" if current == b"/" else current
    while True:
        if os.path.isfile(current + b"/pyproject.toml"):
            break
        if not current:
            return None
        current = _parent(current)
    root = current
    while current:
        current = _parent(current)
        candidate = current + b"/pyproject.toml"
        if os.path.isfile(candidate) and workspace_counts(current, root, uid):
            root = current
            break
    return Path(os.fsdecode(root or b"/"))


def readable_part(root: str | os.PathLike[str]) -> str:
    """The last path component, runs of bytes outside [A-Za-z0-9._-] as one '_', at most
    READABLE_MAX characters, a leading '.' as '_' (depot entries starting with '.' are uvmod's
    own) and a leading '-' too (a name like an option), READABLE_EMPTY when nothing is left
    (the root /)."""
    base = os.fsencode(root).rstrip(b"/").rpartition(b"/")[2]
    text = _UNSAFE_RUN.sub(b"_", base)[:READABLE_MAX].decode("ascii")
    if not text:
        return READABLE_EMPTY
    return "_" + text[1:] if text.startswith((".", "-")) else text


def check_key(key: str, variable: str = "UVMOD_CACHE_KEY") -> str:
    if not KEY_CHARS.fullmatch(key):
        raise UvmodError(
            f"${variable}={key!r} holds characters other than letters, digits and "
            f"'{KEY_PUNCTUATION}'"
        )
    return key


def identity(root: str | os.PathLike[str], key: str = "", node: Node = NO_MODULE) -> bytes:
    """What an environment's name is a hash of (the wrapper's _uvmod_identity): the scheme tag,
    the key, the arch, the machine, then the real path, one line each. None of the first four
    has a newline, so the framing is one-to-one even for paths that contain one."""
    check_key(key)
    lines = (DEPOT_TAG, key, node.arch, node.machine)
    return b"".join(line.encode() + b"\n" for line in lines) + os.fsencode(root) + b"\n"


def env_name(root: str | os.PathLike[str], key: str = "", node: Node = NO_MODULE) -> str:
    """`<readable>-<hash of identity()>`."""
    digest = hashlib.sha256(identity(root, key, node)).hexdigest()
    return f"{readable_part(root)}-{digest[:HASH_CHARS]}"


def key_dir(key: str) -> str:
    """The key as one path component (KEY_DIR_PREFIX, KEY_SLASH, HASHED_KEY_PREFIX above)."""
    spelled = key.replace("/", KEY_SLASH)
    if len(spelled) > KEY_DIR_MAX:
        spelled = HASHED_KEY_PREFIX + hashlib.sha256(key.encode()).hexdigest()
    return KEY_DIR_PREFIX + spelled


def index_entry(
    depot_path: Path, root: str | os.PathLike[str], key: str = "", node: Node = NO_MODULE
) -> Path:
    """The index file where the wrapper remembers the name of (root, key, node)'s environment."""
    project = os.fsencode(root).rstrip(b"/")
    top = os.fsencode(depot_path / INDEX / node_dir(node) / key_dir(key))
    return Path(os.fsdecode(top + project + b"/" + INDEX_NAME.encode()))


def depot_dir(config: SiteConfig, environ: Mapping[str, str] | None = None) -> Path:
    """$UVMOD_VENV_DEPOT as the loaded module set it, else the site template expanded here."""
    env = os.environ if environ is None else environ
    value = env.get(DEPOT_VARIABLE)
    if value:
        return Path(value)
    try:
        return Path(pathexpr.expand(pathexpr.parse(config.paths.venv_depot), dict(env)))
    except KeyError as exc:
        raise UvmodError(f"paths.venv_depot needs ${exc.args[0]}, which is not set") from None


def current_key(config: SiteConfig, environ: Mapping[str, str] | None = None) -> str:
    """The key of this call's environment, as the wrapper computes it (a stale exported key is
    replaced by the loaded modules' key), so `uvmod venv path` names the wrapper's environment."""
    env = os.environ if environ is None else environ
    key = effective_key(config.cache_key, config.module.name, env)
    return check_key(key, config.cache_key.variable)


@dataclass(frozen=True)
class Marker:
    project: Path
    key: str
    node: Node | None  # None: written before node types were part of the identity


def read_without_atime(path: Path) -> bytes:
    """Read without refreshing the access time where Linux allows it (our own files): the marker
    is the wrapper's purge canary, and an atime-based purge must still find it old."""
    flags = os.O_RDONLY | getattr(os, "O_NOATIME", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:  # O_NOATIME on a file we do not own
        fd = os.open(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def read_own_file(path: str | bytes | os.PathLike[str], limit: int = 1 << 16) -> bytes | None:
    """The first `limit` bytes of `path` when it is a regular file of this user's and no
    symlink (the wrapper's _uvmod_own_file), else None: a FIFO or /dev/zero never blocks the
    read (O_NONBLOCK, checked with fstat before reading), another user's file is never used.
    The access time is left alone where Linux allows it (the marker is a purge canary)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOATIME", 0)
    try:
        try:
            fd = os.open(path, flags)
        except PermissionError:  # O_NOATIME on a file we do not own
            fd = os.open(path, flags & ~getattr(os, "O_NOATIME", 0))
    except OSError:
        return None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read(limit)


def read_marker(env_dir: Path) -> Marker | None:
    """The back-pointer, or None when absent, not this user's regular file, or not in our
    format."""
    data = read_own_file(env_dir / MARKER)
    if data is None:
        return None
    header, sep, rest = data.partition(b"\n")
    fields = (
        3 if header == MARKER_HEADER.encode() else 1 if header == OLD_MARKER_HEADER.encode() else 0
    )
    if not sep or not fields:
        return None
    parts = rest.split(b"\n", fields)
    if len(parts) != fields + 1:
        return None
    path = parts[-1].removesuffix(b"\n")
    if not path.startswith(b"/"):
        return None
    key = parts[0].decode(errors="replace")
    node = None
    if fields == 3:
        node = Node(parts[1].decode(errors="replace"), parts[2].decode(errors="replace"))
    return Marker(Path(os.fsdecode(path)), key, node)


def write_marker(env_dir: Path, project: Path, key: str, node: Node = NO_MODULE) -> None:
    """The same bytes the wrapper writes, atomically: into a temporary file created exclusively
    with an unpredictable name (mode 0600), renamed over the marker (a link there is replaced,
    never followed)."""
    fd, tmp = tempfile.mkstemp(prefix=TEMPORARY + ".", dir=env_dir)
    lines = (MARKER_HEADER, key, node.arch, node.machine)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"".join(x.encode() + b"\n" for x in lines) + os.fsencode(project) + b"\n")
        os.replace(tmp, env_dir / MARKER)
    except BaseException:
        os.unlink(tmp)
        raise


@dataclass(frozen=True)
class IndexEntry:
    """One entry of the wrapper's index: `file` names the environment `name`, which the wrapper
    chose for the project `project` under the key `key`."""

    file: Path
    name: str
    project: Path
    key: str
    node: Node


def key_of_index_dir(directory: str) -> str | None:
    """`k-mpich@4.1.2` -> "mpich/4.1.2", the inverse of key_dir; None for a hashed long key
    (`k-h-<sha256>`), which cannot be turned back."""
    if not directory.startswith(KEY_DIR_PREFIX) or directory.startswith(
        KEY_DIR_PREFIX + HASHED_KEY_PREFIX
    ):
        return None
    return directory.removeprefix(KEY_DIR_PREFIX).replace(KEY_SLASH, "/")


def read_index(depot_path: Path) -> list[IndexEntry]:
    """Every entry of `$UVMOD_VENV_DEPOT/.uvmod-index` that is what the wrapper would write.

    The index mirrors the project path (`n-<node>/k-<key><project>/.uvmod-name`, index_entry), and
    the wrapper writes it before uv runs, on the very first call in a project: so it knows the
    project of an environment that has no back-pointer yet, or whose back-pointer the scratch
    purge took. An entry only counts when the name it holds is the name computed from its key
    and project (env_name): a stale, hand-made or forged entry can never attribute an
    environment to another project than the one its name was computed for. Symlinks are not
    followed, and only regular files of this user's are read (read_own_file).
    """
    found: list[IndexEntry] = []
    index = depot_path / INDEX
    if index.is_symlink() or not index.is_dir():
        return found
    for node_top in sorted(index.iterdir()):
        node = node_of_dir(node_top.name)
        if node is None or node_top.is_symlink() or not node_top.is_dir():
            continue
        found += _read_node_index(node_top, node)
    return found


def _read_node_index(node_top: Path, node: Node) -> list[IndexEntry]:
    found: list[IndexEntry] = []
    for key_dir in sorted(node_top.iterdir()):
        key = key_of_index_dir(key_dir.name)
        if key is None or not KEY_CHARS.fullmatch(key) or key_dir.is_symlink():
            continue
        top = os.fsencode(key_dir)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if not os.path.islink(os.path.join(dirpath, d))]
            if INDEX_NAME.encode() not in filenames:
                continue
            entry_file = os.path.join(dirpath, INDEX_NAME.encode())
            project = dirpath[len(top) :] or b"/"
            data = read_own_file(entry_file, 200)
            try:
                name = "" if data is None else data.decode("ascii").strip()
            except UnicodeDecodeError:
                continue
            if name == env_name(os.fsdecode(project), key, node):
                found.append(
                    IndexEntry(
                        Path(os.fsdecode(entry_file)), name, Path(os.fsdecode(project)), key, node
                    )
                )
    return found


def resolve_user_environment(value: str, root: Path) -> Path:
    """UV_PROJECT_ENVIRONMENT as uv reads it: absolute as is, relative to the workspace root."""
    path = Path(value)
    return path if path.is_absolute() else root / path


class UntrustedDepot(UvmodError):
    """A depot, or a directory above it or an entry in it, that another user could write."""


def _unsafe_reason(
    path: str, info: os.stat_result, is_depot: bool, uid: int, module: str
) -> tuple[str, str] | None:
    """The wrapper's _uvmod_unsafe_path: why `path` makes the depot unsafe, and the fix. The
    rule is uvmod/trust.py's; only the words are the wrapper's (its sh twin prints the same)."""
    found = trust.unsafe_entry(path, info, top=is_depot, uid=uid, root_may_own=False)
    if found is None:
        return None
    mode = f"{info.st_mode & 0o7777:o}"
    own = f"export {DEPOT_VARIABLE}=<a directory only you can write> after loading {module}"
    if is_depot:
        if found.kind == "owner":
            return (
                f"it belongs to another user (uid {info.st_uid})",
                f"{own}, or ask your administrator to put paths.venv_depot under a directory "
                "of each user's",
            )
        return f"it is writable by other users (mode {mode})", f"chmod go-w {path}"
    if found.kind == "owner":
        return (
            f"the directory {path} above it belongs to another user (uid {info.st_uid})",
            f"{own}, or ask your administrator to change paths.venv_depot",
        )
    why = f"the directory {path} above it is writable by other users (mode {mode}) and not sticky"
    if info.st_uid == uid:
        return why, f"chmod go-w {path}"
    return why, f"{own}, or ask your administrator to chmod +t {path}"


def _routes(depot_path: Path) -> list[tuple[str, bool]]:
    """The depot and every directory above it, as given and along its real path, existing
    ones only; True marks the depot itself."""
    found: list[tuple[str, bool]] = []
    for route in (os.path.abspath(depot_path), os.path.realpath(depot_path)):
        current, first = route, True
        while True:
            if os.path.exists(current):
                found.append((current, first))
            first = False
            if current == "/":
                break
            current = os.path.dirname(current)
    return found


def _foreign_entry(real: str, uid: int) -> str | None:
    """The wrapper's find over the depot: the first entry, or anything in uvmod's own
    directories (`.uvmod-*` but the trash), that is not the user's, or that is writable by
    others and no symlink."""

    def bad(path: str) -> bool:
        info = os.lstat(path)
        return info.st_uid != uid or (not stat.S_ISLNK(info.st_mode) and bool(info.st_mode & 0o022))

    with os.scandir(real) as entries:
        children = sorted(entries, key=lambda e: e.name)
    for child in children:
        if bad(child.path):
            return child.name
        own = child.name.startswith(".uvmod-") and child.name != TRASH
        if own and child.is_dir(follow_symlinks=False):
            for dirpath, dirnames, filenames in os.walk(child.path):
                for name in sorted(dirnames + filenames):
                    path = os.path.join(dirpath, name)
                    if bad(path):
                        return os.path.relpath(path, real)
    return None


def check_depot(depot_path: Path, uid: int | None = None, module: str = "uv-hpc") -> None:
    """Raise UntrustedDepot unless the depot is safe for the user `uid` (by default this
    process's) to use: the wrapper's _uvmod_check_depot, which refuses the same depots with the
    same one line (tests/test_depot_trust.py runs both over one table). Creates nothing."""
    owner = os.geteuid() if uid is None else uid
    for path, is_depot in _routes(depot_path):
        reason = _unsafe_reason(path, os.stat(path), is_depot, owner, module)
        if reason is not None:
            why, fix = reason
            raise UntrustedDepot(
                f"refusing to use the environment depot {depot_path}: {why}; another user could "
                f"replace what uv runs in your environments. Fix: {fix} (docs/troubleshooting.md)."
            )
    real = os.path.realpath(depot_path)
    if not os.path.isdir(real):
        return
    entry = _foreign_entry(real, owner)
    if entry is not None:
        raise UntrustedDepot(
            f"refusing to use the environment depot {depot_path}: {depot_path}/{entry} is "
            "another user's or writable by others. Fix: remove it if you did not make it, "
            f"else chmod -R go-w {depot_path} (docs/troubleshooting.md)."
        )
