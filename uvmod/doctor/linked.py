"""What the keyed packages' extension modules link, against the MPI and CUDA loaded now.

`cache_key.builds` (keys.py) compares the key a package was *recorded* as built under; this
check reads what it *links*: the `DT_NEEDED` entries of every ELF file the distribution
installed (its RECORD). The two disagree when a build packed another key's objects (setuptools'
build directory left in uv's shared source tree: docs/design.md#per-key-builds), when a wheel
from a wheelhouse or another machine was built for another MPI, or when the environment was made
under other modules (`UV_PROJECT_ENVIRONMENT` set by hand, a `.venv`).

- MPI: the loaded MPI is what its compiler wrapper links. `$MPICC -show` (else `mpicc` from
  PATH; `--showme` for Open MPI builds that lack `-show`) prints the link line of MPICH, Open MPI,
  Intel MPI and MVAPICH2; its `-l` libraries, found in its `-L` directories and then the
  linker's default ones, give the MPI sonames a build would link now. An extension needing an
  MPI soname outside that set links another MPI.
- CUDA: the toolkit libraries (libcudart, libcublas, ...) must be found under the loaded CUDA:
  `$CUDA_HOME`, `$CUDA_PATH`, `$CUDA_ROOT` or the directory above `nvcc` (`lib64`, `lib`,
  `targets/*/lib`), or on `LD_LIBRARY_PATH`. NCCL and cuDNN come from modules of their own and
  are not compared.

Sonames the extension finds through its own RUNPATH (`$ORIGIN`: libraries shipped in the
wheel, or in other packages of the environment) are not the modules' business and are skipped.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sysconfig
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from uvmod.cachekey import KeyPart, family_members_from_env, is_module, key_status
from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.elf import expand_origin, read_dynamic
from uvmod.doctor.result import Result, Status, found, ok
from uvmod.doctor.which_env import active_env, project_env
from uvmod.envscan import Dist, installed, normalize

MPI_LIBRARY = re.compile(r"lib(?:mpi|mpich|mpi_cray|mpi_ibm)\.so(?:\.\d+)*")
CUDA_LIBRARY = re.compile(
    r"lib(?:cudart|cublas|cublasLt|cufft|curand|cusolver|cusparse|nvrtc|nvJitLink)\.so(?:\.\d+)*"
)
SHARED_OBJECT = re.compile(r".*\.so(?:\.\d+)*")
MPI_FAMILY = "mpi"
CUDA_MODULE = "cuda"
WRAPPER_TIMEOUT = 20  # seconds for `mpicc -show`: a wrapper on a hung filesystem must not hang us


def _default_library_dirs() -> list[Path]:
    """Where the linker looks after the -L directories (GNU ld's default search path)."""
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    dirs = ["/lib64", "/usr/lib64", "/lib", "/usr/lib"]
    if multiarch:
        dirs[2:2] = [f"/lib/{multiarch}", f"/usr/lib/{multiarch}"]
    return [Path(d) for d in dirs]


def _which(name: str, environ: Mapping[str, str]) -> Path | None:
    if "/" in name:
        return Path(name) if os.access(name, os.X_OK) else None
    found_at = shutil.which(name, path=environ.get("PATH", ""))
    return Path(found_at) if found_at else None


def _first(directories: Iterable[Path], name: str) -> Path | None:
    return next((d / name for d in directories if (d / name).exists()), None)


def link_line_sonames(tokens: Sequence[str], defaults: Sequence[Path]) -> set[str]:
    """The sonames of the libraries a compiler link line names (`-lNAME` looked up in the `-L`
    directories, then in `defaults`, as the linker does; and shared objects given by path)."""
    dirs: list[Path] = []
    names: list[str] = []
    paths: list[Path] = []
    for n, token in enumerate(tokens):
        if token == "-L" and n + 1 < len(tokens):
            dirs.append(Path(tokens[n + 1]))
        elif token.startswith("-L"):
            dirs.append(Path(token[2:]))
        elif token.startswith("-l") and len(token) > 2:
            names.append(token[2:])
        elif token.startswith("/") and SHARED_OBJECT.fullmatch(token):
            paths.append(Path(token))
    for name in names:
        library = _first([*dirs, *defaults], f"lib{name}.so")
        if library is not None:
            paths.append(library)
    sonames = set()
    for path in paths:
        try:
            dynamic = read_dynamic(path.resolve())
        except OSError:
            continue
        sonames.add(dynamic.soname if dynamic and dynamic.soname else path.name)
    return sonames


@dataclass(frozen=True)
class LoadedMpi:
    label: str  # "openmpi/4.1.4", or "the MPI of /usr/bin/mpicc" without an MPI module
    sonames: frozenset[str] | None  # None: the link line could not be read
    why_unread: str = ""


def loaded_mpi(environ: Mapping[str, str], module: str | None) -> LoadedMpi | None:
    """The MPI a build would compile against now; None when there is no MPI compiler wrapper.
    `module` is the loaded MPI module's full name, if any, for messages."""
    wrapper = _which(environ.get("MPICC") or "mpicc", environ)
    if wrapper is None:
        return None
    label = module or f"the MPI of {wrapper}"
    problems = []
    for flag in ("-show", "--showme"):
        try:
            proc = subprocess.run(
                [str(wrapper), flag],
                env=dict(environ),
                capture_output=True,
                text=True,
                timeout=WRAPPER_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            problems.append(f"`{wrapper} {flag}`: {exc}")
            continue
        if proc.returncode != 0 or not proc.stdout.strip():
            problems.append(f"`{wrapper} {flag}` exited {proc.returncode}")
            continue
        sonames = link_line_sonames(shlex.split(proc.stdout), _default_library_dirs())
        mpi = frozenset(s for s in sonames if MPI_LIBRARY.fullmatch(s))
        if mpi:
            return LoadedMpi(label, mpi)
        problems.append(f"`{wrapper} {flag}` names no MPI library: {proc.stdout.strip()}")
    return LoadedMpi(label, None, "; ".join(problems))


@dataclass(frozen=True)
class LoadedCuda:
    label: str  # "cuda/12.2", or "the CUDA at /usr/local/cuda" without a cuda module
    toolkit: tuple[Path, ...]  # the library directories of the located toolkits
    ld_path: tuple[Path, ...]

    def has(self, soname: str) -> bool:
        return _first([*self.toolkit, *self.ld_path], soname) is not None


def loaded_cuda(environ: Mapping[str, str], module: str | None) -> LoadedCuda:
    roots = [Path(environ[v]) for v in ("CUDA_HOME", "CUDA_PATH", "CUDA_ROOT") if environ.get(v)]
    nvcc = _which("nvcc", environ)
    if nvcc is not None:
        roots.append(nvcc.resolve().parent.parent)
    toolkit: list[Path] = []
    for root in roots:
        toolkit += [root / "lib64", root / "lib", *sorted(root.glob("targets/*/lib"))]
    ld_path = [Path(d) for d in environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    label = module or (f"the CUDA at {roots[0]}" if roots else "the CUDA on LD_LIBRARY_PATH")
    return LoadedCuda(label, tuple(toolkit), tuple(ld_path))


@dataclass(frozen=True)
class Linked:
    """The MPI and CUDA sonames one distribution's ELF files need from outside it."""

    dist: Dist
    mpi: frozenset[str]
    cuda: frozenset[str]

    @property
    def what(self) -> str:
        return f"{self.dist.name} {self.dist.version} in this environment"


def linked_libraries(dist: Dist) -> Linked:
    try:
        files = dist.files()
    except OSError:
        files = []  # RECORD purged: the depot check reports the damage
    shipped = {Path(f).name for f in files}
    mpi: set[str] = set()
    cuda: set[str] = set()
    for relative in files:
        if not SHARED_OBJECT.fullmatch(Path(relative).name):
            continue
        path = dist.site / relative
        try:
            dynamic = read_dynamic(path)
        except OSError:
            continue  # a file purged from the environment: the depot check reports those
        if dynamic is None:
            continue
        own = [expand_origin(d, path.parent) for d in dynamic.search]
        for lib in dynamic.needed:
            if lib in shipped or _first(own, lib) is not None:
                continue
            if MPI_LIBRARY.fullmatch(lib):
                mpi.add(lib)
            elif CUDA_LIBRARY.fullmatch(lib):
                cuda.add(lib)
    return Linked(dist, frozenset(mpi), frozenset(cuda))


def _names(libs: Iterable[str]) -> str:
    return ", ".join(sorted(libs))


@dataclass
class Verdicts:
    fails: list[str]
    warns: list[str]
    fine: list[str]


def _judge_mpi(link: Linked, mpi: LoadedMpi | None, out: Verdicts) -> None:
    libs = _names(link.mpi)
    if mpi is None:
        out.warns.append(f"{link.what} links {libs} but no MPI is loaded (no mpicc on PATH)")
    elif mpi.sonames is None:
        out.warns.append(
            f"{link.what} links {libs}; not compared with {mpi.label}: {mpi.why_unread}"
        )
    elif link.mpi - mpi.sonames:
        out.fails.append(
            f"{link.what} links {libs} but the loaded MPI is {mpi.label} "
            f"(its mpicc links {_names(mpi.sonames)})"
        )
    else:
        out.fine.append(f"{link.dist.name} links {libs} ({mpi.label})")


def _judge_cuda(link: Linked, cuda: LoadedCuda, out: Verdicts) -> None:
    missing = {lib for lib in link.cuda if not cuda.has(lib)}
    if not missing:
        out.fine.append(f"{link.dist.name} links {_names(link.cuda)} ({cuda.label})")
    elif not cuda.toolkit:
        out.warns.append(f"{link.what} links {_names(missing)} but no CUDA is loaded")
    else:
        where = ", ".join(str(d) for d in cuda.toolkit if d.is_dir()) or "its directories"
        out.fails.append(
            f"{link.what} links {_names(missing)} but the loaded CUDA is {cuda.label} "
            f"(not found in {where})"
        )


def _mpi_module(parts: Sequence[KeyPart], environ: Mapping[str, str]) -> str | None:
    """The full name of the loaded module holding the mpi family, if it is in the key."""
    member = family_members_from_env([MPI_FAMILY], environ).get(MPI_FAMILY)
    if member is None:
        return next((p.full_name for p in parts if p.reason == f"family {MPI_FAMILY}"), None)
    return next((p.full_name for p in parts if is_module(p.full_name, member)), None)


def _cuda_module(parts: Sequence[KeyPart]) -> str | None:
    return next((p.full_name for p in parts if is_module(p.full_name, CUDA_MODULE)), None)


def _linked_result(
    ctx: Context, check: str, env: Path, fix: Callable[[list[Linked]], str]
) -> Result:
    keyed = {normalize(p) for p in ctx.config.cache_key.packages}
    links = [linked_libraries(d) for d in installed(env) if normalize(d.name) in keyed]
    links = [link for link in links if link.mpi or link.cuda]
    if not links:
        return ok(check, f"no package of [cache_key].packages in {env} links MPI or CUDA")
    parts = key_status(ctx.config.cache_key, ctx.module_name, ctx.environ).parts
    mpi = (
        loaded_mpi(ctx.environ, _mpi_module(parts, ctx.environ))
        if any(x.mpi for x in links)
        else None
    )
    cuda = loaded_cuda(ctx.environ, _cuda_module(parts))
    verdicts = Verdicts([], [], [])
    for link in links:
        if link.mpi:
            _judge_mpi(link, mpi, verdicts)
        if link.cuda:
            _judge_cuda(link, cuda, verdicts)
    if verdicts.fails:
        detail = "; ".join(verdicts.fails + verdicts.warns)
        return found(check, Status.FAIL, findings.LINKS_OTHER_STACK, detail, fix(links))
    if verdicts.warns:
        return found(
            check,
            Status.WARN,
            findings.LINKS_OTHER_STACK,
            "; ".join(verdicts.warns),
            "load the MPI/CUDA modules the environment was built with",
        )
    return ok(check, f"in {env}: " + "; ".join(verdicts.fine))


def _names_of(links: list[Linked]) -> list[str]:
    return sorted({link.dist.name for link in links})


def check_linked(ctx: Context) -> Result:
    check = "cache_key.linked"
    if not ctx.module_loaded:
        return ok(check, "no module loaded: builds are not keyed on MPI/CUDA modules")
    env = project_env(ctx)
    if env is None or not env.path.is_dir():
        return ok(check, "no project environment to look at")

    # The wheel in the cache may be the wrong one too (built before the build directory moved
    # per key): drop the package's builds, so that each key rebuilds once, then reinstall.
    def fix(links: list[Linked]) -> str:
        names = _names_of(links)
        return f"uv cache clean {' '.join(names)} && uv sync " + " ".join(
            f"--reinstall-package {n}" for n in names
        )

    return _linked_result(ctx, check, env.path, fix)


def check_active_linked(ctx: Context) -> Result:
    """The same for the activated environment, which `uv pip` installs into and never
    rebuilds on its own after a swap."""
    check = "cache_key.active_linked"
    if not ctx.module_loaded:
        return ok(check, "no module loaded: builds are not keyed on MPI/CUDA modules")
    env = active_env(ctx)
    if env is None or not env.path.is_dir():
        return ok(check, "no other environment activated (VIRTUAL_ENV)")

    def fix(links: list[Linked]) -> str:
        names = _names_of(links)
        pins = " ".join(
            shlex.quote(f"{link.dist.name}=={link.dist.version}")
            for link in sorted(links, key=lambda x: x.dist.name)
        )
        return (
            f"uv cache clean {' '.join(names)} && uv pip install "
            + " ".join(f"--reinstall-package {n}" for n in names)
            + f" {pins}"
        )

    return _linked_result(ctx, check, env.path, fix)
