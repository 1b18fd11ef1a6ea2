"""The real uv the wrapper execs: where it is found, and which version it is.

Found in this order (docs/design.md#finding-the-real-uv): `--uv`, then `module.uv` of the site
config, then the `uv` on PATH, then the uv installed together with uvmod (uv is a dependency of
uvmod, so `pip install uvmod` alone gives a default that works, even when that environment's
bin/ is not on PATH, as with `.venv/bin/uvmod`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from uvmod.errors import ConfigError
from uvmod.render import MARKER

# The uv versions the test suite runs against: the facts in docs/design.md were checked with
# this uv, and the wrapper's list of `uv run` options is compared with its `--help`. pyproject.toml
# pins the same version as uvmod's dependency (tests/test_realuv.py keeps the two equal).
COVERED_UV = SpecifierSet("==0.13.8")


@dataclass(frozen=True)
class RealUv:
    path: str
    how: str  # "--uv", "module.uv", "PATH" or "installed with uvmod"


def _installed_with_uvmod() -> str | None:
    """The binary of the `uv` package in uvmod's own environment (its `find_uv_bin` looks in
    this interpreter's scripts directory, the base prefix's and the user scheme's)."""
    try:
        from uv import find_uv_bin
    except ImportError:
        return None
    try:
        return find_uv_bin()
    except FileNotFoundError:
        return None


def is_wrapper(path: str) -> bool:
    """Whether `path` is a uv wrapper uvmod wrote (its marker near the top): with uv-hpc loaded
    while building, the `uv` on PATH is the wrapper, and a wrapper exec'ing itself never ends."""
    try:
        with open(path, "rb") as handle:
            return MARKER.encode() in handle.read(512)
    except OSError:
        return False


def _checked_path(value: str, what: str) -> str:
    if not value.startswith("/") or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ConfigError(f"{what}: {value!r} is not an absolute path")
    if is_wrapper(value):
        raise ConfigError(f"{what}: {value} is a uvmod wrapper, not the real uv")
    return value


def _on_path(path: str) -> str | None:
    """The first `uv` on `path` that is not a uvmod wrapper."""
    for directory in path.split(os.pathsep):
        if not directory:
            continue
        found = shutil.which("uv", path=directory)
        if found is not None and not is_wrapper(found):
            return str(Path(found).absolute())
    return None


def find_real_uv(
    configured: str | None,
    override: str | None,
    environ: Mapping[str, str] | None = None,
) -> RealUv:
    """The uv the wrapper will exec; ConfigError when there is none anywhere."""
    if override is not None:
        return RealUv(_checked_path(override, "--uv"), "--uv")
    if configured is not None:
        return RealUv(_checked_path(configured, "module.uv"), "module.uv")
    env = os.environ if environ is None else environ
    on_path = _on_path(env.get("PATH", os.defpath))
    if on_path is not None:
        return RealUv(on_path, "PATH")
    installed = _installed_with_uvmod()
    if installed is not None:
        return RealUv(str(Path(installed).absolute()), "installed with uvmod")
    raise ConfigError(
        "module.uv: not set in the site config, no `uv` on PATH, and no uv installed with "
        "uvmod (pip install uv); set module.uv or pass --uv /path/to/uv"
    )


def uv_version(uv: str, environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """(version, error): `uv --version` prints "uv 0.13.8 (...)"."""
    try:
        proc = subprocess.run(
            [uv, "--version"],
            env=None if environ is None else dict(environ),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, str(exc)
    words = proc.stdout.split()
    if proc.returncode == 0 and len(words) >= 2 and words[0] == "uv":
        return words[1], ""
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    if proc.returncode == 0:
        return None, "it printed no uv version"
    return None, lines[0] if lines else f"exit status {proc.returncode}"


def version_warning(uv: str, version: str | None, error: str) -> str | None:
    """A warning for a uv outside COVERED_UV (or whose version cannot be read), else None."""
    if version is None:
        return f"cannot tell which uv {uv} is (`--version`: {error})"
    try:
        covered = Version(version) in COVERED_UV
    except InvalidVersion:
        covered = False
    if covered:
        return None
    return (
        f"{uv} is uv {version}; uvmod's test suite covers uv {COVERED_UV} only, so the wrapper's "
        "handling of uv's options and the site policy are untested with it"
    )
