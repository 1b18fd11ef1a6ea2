"""Generated uv caches and environment depots of a given size, shaped like the ones uv makes.

A cache entry is what uv 0.13.8 unpacks into `archive-v0/<id>/`: the package's directories and
files plus `<name>-<version>.dist-info/` with METADATA, WHEEL and a RECORD listing every file.
An environment is what `uv venv` + `uv sync` leave in the depot: pyvenv.cfg, CACHEDIR.TAG,
bin/ (nine activate scripts, `python` symlinks), `lib64 -> lib`, and in
`lib/python3.11/site-packages/` the files of its distributions hard-linked from the cache
(the link mode uv uses on one filesystem), each dist-info with its own RECORD, INSTALLER and
REQUESTED; some environments hold `__pycache__` directories of byte code, as after an import.
The wrapper's files come with it: the back-pointer, `.uvmod-last-used` and the index entry.

Sizes follow a long tail, as on PyPI: most distributions are small pure-Python ones (8-40
files), some hold a few hundred files, a few over a thousand. Seeded: the same arguments give
the same tree.
"""

from __future__ import annotations

import hashlib
import os
import random
import string
from dataclasses import dataclass
from pathlib import Path

from uvmod import depot

PYTHON = "python3.11"
SITE = Path("lib") / PYTHON / "site-packages"
ACTIVATE = (
    "activate",
    "activate.bat",
    "activate.csh",
    "activate.fish",
    "activate.nu",
    "activate.ps1",
    "activate.xsh",
    "activate_this.py",
    "deactivate.bat",
    "pydoc.bat",
)
BODY = b"# generated for a uvmod benchmark\n" * 4  # 140 bytes: real files are larger, not fewer


@dataclass(frozen=True)
class CachedDist:
    """One unpacked wheel in the cache: its directory and its files, relative to it."""

    name: str
    version: str
    entry: Path
    files: tuple[str, ...]  # RECORD order, RECORD itself last

    @property
    def dist_info(self) -> str:
        return f"{self.name}-{self.version}.dist-info"


def _size(rng: random.Random) -> int:
    draw = rng.random()
    if draw < 0.6:
        return rng.randint(8, 40)
    if draw < 0.92:
        return rng.randint(40, 300)
    return rng.randint(300, 2000)


def _package_files(rng: random.Random, name: str, count: int) -> list[str]:
    """`count` module paths under the package `name`, about eight per directory."""
    dirs = [name]
    files: list[str] = []
    while len(files) < count:
        if len(files) % 8 == 7 and len(dirs) < count // 4 + 1:
            parent = rng.choice(dirs)
            dirs.append(f"{parent}/{rng.choice(string.ascii_lowercase)}{len(dirs)}")
        directory = rng.choice(dirs[-3:])
        files.append(f"{directory}/m{len(files)}.py")
    return files


def _write(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def _record(files: list[str], dist_info: str) -> bytes:
    rows = [f"{f},sha256=x,{len(BODY)}" for f in files] + [f"{dist_info}/RECORD,,"]
    return ("\n".join(rows) + "\n").encode()


def make_cache(
    root: Path, files: int, *, tool_envs: int = 0, seed: int = 20261201
) -> list[CachedDist]:
    """Unpacked wheels under `root/archive-v0` until they hold `files` files in all, then
    `tool_envs` environments of `uv tool run`/uvx beside them (uv keeps those in the same
    bucket), each with one of the wheels installed."""
    rng = random.Random(seed)
    archive = root / "archive-v0"
    archive.mkdir(parents=True, exist_ok=True)
    (root / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n")
    made: list[CachedDist] = []
    total = 0
    while total < files:
        count = min(_size(rng), max(files - total - 4, 1))
        name = f"pkg{len(made):05d}"
        version = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
        entry = archive / "".join(rng.choices(string.ascii_letters + string.digits, k=16))
        package = _package_files(rng, name, count)
        dist_info = f"{name}-{version}.dist-info"
        meta = [f"{dist_info}/METADATA", f"{dist_info}/WHEEL"]
        for directory in sorted({str(entry / Path(f).parent) for f in package + meta}):
            os.makedirs(directory, exist_ok=True)
        for relative in package:
            _write(str(entry / relative), BODY)
        _write(str(entry / meta[0]), f"Metadata-Version: 2.1\nName: {name}\n".encode())
        _write(str(entry / meta[1]), b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
        _write(str(entry / dist_info / "RECORD"), _record(package + meta, dist_info))
        listed = (*package, *meta, f"{dist_info}/RECORD")
        made.append(CachedDist(name, version, entry, listed))
        total += len(listed)
    small = [d for d in made if len(d.files) <= 40] or made
    for n in range(tool_envs):
        env = archive / f"tool-env-{n:04d}"
        _venv_skeleton(env)
        _install(env, small[n % len(small)], byte_code=True)
    return made


def _venv_skeleton(env: Path) -> None:
    (env / "bin").mkdir(parents=True)
    (env / SITE).mkdir(parents=True)
    (env / "lib64").symlink_to("lib")
    _write(str(env / "pyvenv.cfg"), b"home = /usr/bin\nimplementation = CPython\nuv = 0.13.8\n")
    _write(str(env / "CACHEDIR.TAG"), b"Signature: 8a477f597d28d172789f06886806bc55\n")
    for script in ACTIVATE:
        _write(str(env / "bin" / script), BODY)
    (env / "bin" / "python").symlink_to("/usr/bin/python3")
    (env / "bin" / "python3").symlink_to("python")
    (env / "bin" / PYTHON).symlink_to("python")


def _install(env: Path, dist: CachedDist, byte_code: bool) -> None:
    """Hard-link the distribution's files into site-packages, as uv does from its cache."""
    site = env / SITE
    listed = [f for f in dist.files if not f.endswith("/RECORD")]
    for directory in sorted({str(site / Path(f).parent) for f in listed}):
        os.makedirs(directory, exist_ok=True)
    for relative in listed:
        os.link(dist.entry / relative, site / relative)
    extra = [f"{dist.dist_info}/INSTALLER", f"{dist.dist_info}/REQUESTED"]
    _write(str(site / extra[0]), b"uv\n")
    _write(str(site / extra[1]), b"")
    _write(str(site / dist.dist_info / "RECORD"), _record(listed + extra, dist.dist_info))
    if byte_code:
        for relative in listed:
            if relative.endswith(".py"):
                cache = site / Path(relative).parent / "__pycache__"
                cache.mkdir(exist_ok=True)
                _write(str(cache / f"{Path(relative).stem}.cpython-311.pyc"), BODY)


@dataclass(frozen=True)
class Depot:
    path: Path
    envs: list[Path]
    projects: list[Path]  # one per environment; the deleted ones no longer exist


def make_depot(
    path: Path,
    projects_root: Path,
    cache: list[CachedDist],
    envs: int,
    *,
    dists_per_env: tuple[int, int] = (1, 4),
    gone_fraction: float = 0.1,
    key: str = "",
    seed: int = 20261202,
) -> Depot:
    """`envs` environments of projects under `projects_root` (a tenth of them deleted), each
    with a few distributions of the cache; their marker, last-used file and index entry."""
    rng = random.Random(seed)
    path.mkdir(parents=True, exist_ok=True)
    small = [d for d in cache if len(d.files) <= 300] or cache
    made: list[Path] = []
    projects: list[Path] = []
    for n in range(envs):
        project = projects_root / f"group{n % 20:02d}" / f"project{n:05d}"
        project.mkdir(parents=True)
        # What a group directory holds besides projects: a project deleted from it is then gone,
        # not unreachable (docs/design.md#gone-or-unreachable).
        (project.parent / "data").mkdir(exist_ok=True)
        (project / "pyproject.toml").write_text(f'[project]\nname = "p{n}"\nversion = "0"\n')
        name = depot.env_name(str(project), key)
        env = path / name
        _venv_skeleton(env)
        chosen = rng.sample(small, min(len(small), rng.randint(*dists_per_env)))
        byte_code = rng.random() < 0.5
        for dist in chosen:
            _install(env, dist, byte_code)
        depot.write_marker(env, project, key)
        _write(str(env / depot.LAST_USED), b"")
        index = Path(os.fsdecode(depot.index_entry(path, str(project), key))).parent
        index.mkdir(parents=True)
        _write(str(index / depot.INDEX_NAME), (name + "\n").encode())
        made.append(env)
        projects.append(project)
    for project in rng.sample(projects, int(len(projects) * gone_fraction)):
        (project / "pyproject.toml").unlink()
        project.rmdir()
    return Depot(path, made, projects)


def count_files(root: Path) -> tuple[int, int]:
    """(non-directory entries, directories) under `root`, symlinks not followed."""
    files = dirs = 0
    for _, dirnames, filenames in os.walk(root):
        dirs += len(dirnames)
        files += len(filenames)
    return files, dirs


def tree_digest(root: Path) -> str:
    """A digest of the relative paths under `root`: two runs with one seed give one tree."""
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted(filenames):
            digest.update(os.path.relpath(os.path.join(dirpath, name), root).encode() + b"\n")
    return digest.hexdigest()[:16]
