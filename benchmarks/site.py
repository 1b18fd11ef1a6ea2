"""The benchmark's site: a module tree built by uvmod, loaded in real Lmod through bash.

Everything lives under one work directory: the wheelhouse (a symlink to the cached wheels, and
`local/` for row 5's mpi4py sdist and its build requirements), the module tree, a scratch
filesystem for the uv cache and the depot, a HOME, and the projects. One filesystem for all of
it, as cache and depot need (docs/design.md#cache-and-depot-on-one-filesystem).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.measure import CommandFailed, run

LMOD_INIT = Path("/usr/share/lmod/lmod/init/bash")
MODULE_NAME = "uv-hpc"
MODULE_VERSION = "1.0"
ONE_VARIABLE_MODULE = "onevar/1.0"
ARCHS = ("avx512", "avx2", "generic")


class LmodUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class Site:
    work: Path
    prefix: Path  # the uvmod module tree
    extra_modules: Path  # onevar, and the MPI modules of row 5 (cache_sharing.py)
    wheelhouse: Path  # root; "wheels" (cached real wheels) and "local" (row 5's mpi4py sdist)
    scratch: Path
    home: Path
    python: Path  # the interpreter a `module load python` would put on PATH
    uv: Path

    @property
    def wheel_dirs(self) -> list[Path]:
        return [self.wheelhouse / "wheels", self.wheelhouse / "local"]

    @property
    def cache(self) -> Path:
        return self.scratch / "uv-cache"

    @property
    def depot(self) -> Path:
        return self.scratch / "uv-venvs"

    @property
    def modulepath(self) -> str:
        return f"{self.prefix / 'modulefiles'}:{self.extra_modules}"

    @property
    def package_path(self) -> Path | None:
        """PREFIX/lmod when the build ships the cache-key hook (the lmodhook work)."""
        hook = self.prefix / "lmod" / "SitePackage.lua"
        return hook.parent if hook.is_file() else None


def base_python() -> Path:
    """The interpreter behind this one (outside any venv): what users' `python` would be."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidate = Path(sys.base_prefix) / "bin" / version
    return candidate if candidate.is_file() else Path(sys.executable)


def real_uv() -> Path:
    """The uv installed next to this Python (the pinned test extra), else the one on PATH."""
    beside = Path(sys.executable).parent / "uv"
    if beside.is_file():
        return beside
    found = shutil.which("uv")
    if found is None:
        raise CommandFailed("uv is not installed (pip install -e '.[test]')")
    return Path(found)


def base_env(site: Site) -> dict[str, str]:
    """A clean login environment: no inherited pip/uv/module settings, HOME inside the work dir.

    PIP_CONFIG_FILE=/dev/null: a site pip.conf (find-links, extra indexes) would change what
    the pip recipe does. The version check is off: it is a network call pip users can disable.
    """
    return {
        "HOME": str(site.home),
        "PATH": f"{site.python.parent}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_INPUT": "1",
        "LMOD_IGNORE_CACHE": "1",
        "LMOD_REDIRECT": "no",
        "MODULEPATH": site.modulepath,
    }


def lmod_env(site: Site, env: Mapping[str, str]) -> dict[str, str]:
    """`env` plus LMOD_PACKAGE_PATH when the tree has the hook, as the site would set it."""
    out = dict(env)
    if site.package_path is not None:
        out["LMOD_PACKAGE_PATH"] = str(site.package_path)
    return out


SITE_TOML = """\
[module]
name = "{name}"
version = "{version}"
uv = "{uv}"

[paths]
cache = "{cache}"
venv_depot = "{depot}"

[arch]
env = ["RSNT_ARCH"]
[arch.flags]
avx512 = ["avx512f"]
avx2 = ["avx2"]
generic = []

[wheelhouse]
root = "{wheelhouse}"
pypi = false
[wheelhouse.arch]
avx512 = ["wheels", "local"]
avx2 = ["wheels", "local"]
generic = ["wheels", "local"]

[cache_key]
variable = "UVMOD_CACHE_KEY"
modules = ["openmpi", "mpich", "cuda"]
families = ["mpi"]
packages = ["mpi4py", "h5py"]

[python]
preference = "only-system"
downloads = "never"
"""


def layout(work: Path, prefix: Path) -> Site:
    """The places of a site in `work`, the module tree at `prefix` (nothing made yet)."""
    return Site(
        work=work,
        prefix=prefix,
        extra_modules=work / "modules",
        wheelhouse=work / "wheelhouse",
        scratch=work / "scratch",
        home=work / "home",
        python=base_python(),
        uv=real_uv(),
    )


def make_site(wheels: Path, work: Path | None = None) -> Site:
    """Lay out the work directory and build the module tree with `uvmod build-modulefiles`."""
    work = work or Path(tempfile.mkdtemp(prefix="uvmod-bench-run-"))
    site = layout(work, work / "uvmod")
    for path in (site.wheelhouse / "local", site.scratch, site.home):
        path.mkdir(parents=True, exist_ok=True)
    (site.wheelhouse / "wheels").symlink_to(wheels)
    _write_extra_modules(site.extra_modules)
    config = work / "site.toml"
    config.write_text(
        SITE_TOML.format(
            name=MODULE_NAME,
            version=MODULE_VERSION,
            uv=site.uv,
            cache=site.cache,
            depot=site.depot,
            wheelhouse=site.wheelhouse,
        )
    )
    argv = [sys.executable, "-m", "uvmod", "build-modulefiles", "--config", str(config)]
    run([*argv, "--prefix", str(site.prefix)], os.environ)
    return site


def _write_extra_modules(root: Path) -> None:
    name, version = ONE_VARIABLE_MODULE.split("/")
    (root / name).mkdir(parents=True)
    (root / name / f"{version}.lua").write_text('setenv("UVMOD_BENCH_ONE", "1")\n')


def shell_env(site: Site, env: Mapping[str, str], commands: Sequence[str]) -> dict[str, str]:
    """The environment after running module `commands` in a real bash with Lmod: what the
    user's shell holds after `module load ...`, so later commands need no bash of their own."""
    if not LMOD_INIT.is_file():
        raise LmodUnavailable(f"Lmod is not installed ({LMOD_INIT}); apt-get install lmod")
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "env"
        script = "\n".join(["set -e", f"source {LMOD_INIT}", *commands, f"env -0 > {dump}"])
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", script],
            env=lmod_env(site, env),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not dump.is_file():
            raise CommandFailed(f"module commands {list(commands)} failed:\n{proc.stderr}")
        entries = dump.read_bytes().split(b"\0")
    out = {}
    for entry in entries:
        key, sep, value = entry.partition(b"=")
        if sep and not key.startswith(b"BASH_FUNC_"):
            out[key.decode()] = value.decode("utf-8", "surrogateescape")
    return out


def lmod_command() -> Path:
    """Lmod's own program: what the `module` shell function runs and evals."""
    found = LMOD_INIT.parent.parent / "libexec" / "lmod"
    if not found.is_file():
        raise LmodUnavailable(f"Lmod's libexec/lmod not found next to {LMOD_INIT}")
    return found


def write_cpuinfo(path: Path, cores: int, source: Path = Path("/proc/cpuinfo")) -> Path:
    """A cpuinfo of `cores` processors made from this machine's first one (a 128-core dump is
    what arch detection must stay cheap on: ~3,500 lines, ~200 KB)."""
    text = source.read_text() if source.is_file() else ""
    block = text.split("\n\n")[0].strip() or "processor\t: 0\nflags\t\t: fpu sse2 avx2"
    lines = [line for line in block.splitlines() if not line.startswith("processor")]
    blocks = ["\n".join([f"processor\t: {n}", *lines]) for n in range(cores)]
    path.write_text("\n\n".join(blocks) + "\n\n")
    return path
