"""The site configuration: pydantic models, loading, and located error messages.

Every value that ends up in Lua, Tcl, sh or TOML is validated here, so renderers can trust it:
names are restricted to what each module tool accepts, and no value may hold a control character
(a newline in an environment value breaks the shell `eval` of both Lmod and Environment Modules).
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticUndefined

from uvmod import pathexpr
from uvmod.errors import ConfigError

DEFAULT_CONFIG_NAME = "default_site.toml"

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MODULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
# uv-hpc's own name and version: no '+', which Environment Modules 5 reads as a variant marker
# (advanced_version_spec), so `module load uv+hpc` could never find the module there.
_OWN_MODULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
# A cpuinfo flag or feature, or an x86-64 micro-architecture level standing for its flag set
# (uvmod/archdetect.py, X86_64_LEVELS).
_FLAG = re.compile(r"[a-z0-9_.]+|x86-64-v[234]")
_MACHINE = re.compile(r"[a-z0-9_]+")
# A family NAME becomes part of a variable name, LMOD_FAMILY_<NAME> and MODULES_FAMILY_<NAME>,
# that the wrapper reads in sh: `mpi.x` made every uv call fail with "Bad substitution", and
# `gpu+cuda` read ${LMOD_FAMILY_GPU+CUDA}, i.e. LMOD_FAMILY_GPU. Environment Modules 5 refuses
# the same names ("Invalid family name", modulecmd.tcl's `family`).
_FAMILY = re.compile(r"[A-Za-z0-9_]+")
# Names that become one file or directory name of the tree or the depot (modulefiles/<name>/
# <version>.lua, etc/<arch>/, wheelhouse directories, keys): NAME_MAX is 255 bytes on Linux
# filesystems, and the longest suffix added is short, so 200 leaves room without a traceback.
NAME_MAX_CHARS = 200
# Variables the key variable must not be: the module's own and those sh or the module tools
# give a meaning of their own (the wrapper assigns the key variable on every uv call).
RESERVED_VARIABLES = frozenset(
    {
        "PATH", "HOME", "IFS", "PWD", "OLDPWD", "ENV", "CDPATH", "SHELL", "USER", "LOGNAME",
        "PS1", "PS2", "PS4", "OPTIND", "OPTARG", "LINENO", "PPID", "LANG", "TMPDIR", "TERM",
        "MODULEPATH", "LOADEDMODULES", "XDG_CONFIG_DIRS", "VIRTUAL_ENV", "LD_LIBRARY_PATH",
        "LD_PRELOAD",
    }
)  # fmt: skip
RESERVED_PREFIXES = ("UV_", "UVMOD_", "LMOD_", "MODULES_", "_ModuleTable", "__MODULES_", "LC_")
# PEP 508 names; uv normalises them, we keep them as written.
_PACKAGE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")


def _no_control(value: str) -> str:
    bad = _CONTROL.search(value)
    if bad:
        raise ValueError(
            f"contains the control character {bad.group()!r}, which cannot be carried safely "
            "into an environment variable"
        )
    return value


def _matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        _no_control(value)
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        _not_too_long(value)
        return value

    return AfterValidator(check)


def _not_too_long(value: str) -> str:
    if len(value) > NAME_MAX_CHARS:
        raise ValueError(
            f"{value[:20]!r}... is {len(value)} characters long; it names a file or directory "
            f"(at most 255 bytes), so at most {NAME_MAX_CHARS} are allowed"
        )
    return value


def _key_variable(value: str) -> str:
    """The cache-key variable: a variable name (EnvName) that nothing else owns."""
    if value in RESERVED_VARIABLES or (
        value.startswith(RESERVED_PREFIXES) and value != "UVMOD_CACHE_KEY"
    ):
        raise ValueError(
            f"{value!r} is a variable the shell, the module tools or uvmod set themselves; "
            "choose a name of your own such as UVMOD_CACHE_KEY"
        )
    return value


def _absolute_path(value: str) -> str:
    _no_control(value)
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not an absolute path")
    if "$" in value:
        raise ValueError(f"{value!r}: ${{VAR}} references are only expanded in [paths]")
    return value


def _wheelhouse_root(value: str) -> str:
    _absolute_path(value)
    # uv reads an index `url` or `find-links` entry as a URL even when it is a path: everything
    # from a '#' on is taken as a fragment and dropped (uv 0.13.8: "Failed to read `--find-links`
    # directory: /a" for "/a#b/generic").
    if "#" in value:
        raise ValueError(f"{value!r}: uv reads '#' in a wheelhouse path as a URL fragment")
    return value


def _constraint_path(value: str) -> str:
    _absolute_path(value)
    # UV_CONSTRAINT is space-separated (docs/design.md#constraints): uv would read two files.
    if any(c.isspace() for c in value):
        raise ValueError(f"{value!r}: UV_CONSTRAINT is space-separated, so no whitespace")
    return value


def _environment_marker(value: str) -> str:
    """A PEP 508 marker for a pyproject `environments` line, which the wrapper writes as a TOML
    string: packaging parses it, and `"`/`\\` are refused (a marker quotes with `'`)."""
    from packaging.markers import InvalidMarker, Marker

    _no_control(value)
    if '"' in value or "\\" in value:
        raise ValueError("quote the marker's strings with ' (\" and \\ are refused)")
    try:
        Marker(value)
    except InvalidMarker as exc:
        raise ValueError(f"not a PEP 508 marker ({exc})") from None
    return value


def _relative_dir(value: str) -> str:
    _no_control(value)
    parts = PurePosixPath(value).parts
    if (
        not value
        or value.startswith("/")
        or not parts
        or any(not _DIR_NAME.fullmatch(p) for p in parts)
    ):
        raise ValueError(
            f"{value!r} is not a directory name relative to wheelhouse.root "
            "(letters, digits, '._+-' and '/', no '..')"
        )
    for part in parts:
        _not_too_long(part)
    return value


def _path_template(value: str) -> str:
    _no_control(value)
    try:
        template = pathexpr.parse(value)
    except pathexpr.TemplateError as exc:
        raise ValueError(str(exc)) from None
    first = template[0] if template else None
    if not (
        (isinstance(first, pathexpr.Text) and first.text.startswith("/"))
        or isinstance(first, pathexpr.EnvRef)
    ):
        raise ValueError(f"{value!r} must be an absolute path or start with ${{VAR}}")
    return value


ModuleName = Annotated[str, _matching(_MODULE_NAME, "a module name (letters, digits, '._+-')")]
OwnModuleName = Annotated[
    str,
    _matching(
        _OWN_MODULE_NAME,
        "a module name both tools can load (letters, digits, '._-'; Environment Modules reads "
        "'+' as a variant)",
    ),
]
EnvName = Annotated[str, _matching(_ENV_NAME, "an environment variable name")]
KeyVariable = Annotated[EnvName, AfterValidator(_key_variable)]
FamilyName = Annotated[
    str,
    _matching(
        _FAMILY,
        "a family name sh and Lua can carry (letters, digits, '_': it becomes part of the "
        "variable LMOD_FAMILY_<NAME>)",
    ),
]
ArchName = Annotated[str, _matching(_DIR_NAME, "an architecture name (letters, digits, '._+-')")]
CpuFlag = Annotated[
    str,
    _matching(_FLAG, "a /proc/cpuinfo flag or feature (lower case), or x86-64-v2/v3/v4"),
]
MachineName = Annotated[
    str, _matching(_MACHINE, "a machine type as `uname -m` prints it (x86_64, aarch64, ...)")
]
PackageName = Annotated[str, _matching(_PACKAGE, "a Python package name")]
AbsolutePath = Annotated[str, AfterValidator(_absolute_path)]
WheelhouseRoot = Annotated[str, AfterValidator(_wheelhouse_root)]
ConstraintPath = Annotated[str, AfterValidator(_constraint_path)]
RelativeDir = Annotated[str, AfterValidator(_relative_dir)]
PathTemplate = Annotated[str, AfterValidator(_path_template)]
SafeText = Annotated[str, AfterValidator(_no_control)]
ProjectEnvironment = Annotated[str, AfterValidator(_environment_marker)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _key(
    default: Any = PydanticUndefined,
    *,
    kind: str,
    meaning: str,
    factory: Callable[[], Any] | None = None,
    shown_default: str | None = None,
) -> Any:
    """A documented key: `kind` and `meaning` are the type and meaning columns of
    docs/config-reference.md (generated by `python -m uvmod.reference`), `shown_default` replaces
    the default value there when the value alone would not say what happens."""
    extra: dict[str, JsonValue] = {"kind": kind}
    if shown_default is not None:
        extra["shown_default"] = shown_default
    if factory is not None:
        return Field(default_factory=factory, description=meaning, json_schema_extra=extra)
    return Field(default, description=meaning, json_schema_extra=extra)


class ModuleSection(_Section):
    """The module users load, and the programs it runs."""

    name: OwnModuleName = _key(
        "uv-hpc",
        kind="module name",
        meaning="`module load <name>`; letters, digits, `._-` (no `+`: Environment Modules reads "
        "it as a variant)",
    )
    version: OwnModuleName = _key("1.0", kind="module name", meaning="the modulefile's version")
    uv: AbsolutePath | None = _key(
        None,
        kind="absolute path",
        meaning="the real uv the wrapper runs. `--uv` overrides it. Without either: the first "
        "`uv` on `PATH` that is not a uvmod wrapper, else the uv installed with uvmod (a "
        "dependency of uvmod). Set it to pin the site's own uv, e.g. "
        "`/cvmfs/soft.example.org/uv/0.13.8/bin/uv`; the build warns when its version is "
        "not the one uvmod's test suite covers",
        shown_default="found at build time",
    )
    uvmod: AbsolutePath | None = _key(
        None,
        kind="absolute path",
        meaning="the `uvmod` program that the module's `bin/uvmod` runs for users (`uvmod "
        "doctor`, `uvmod venv`, `uvmod key`). `--uvmod` overrides it. Without either: the "
        "Python that ran `build-modulefiles`, with `-I -m uvmod`; set it when that Python is "
        "not on the compute nodes",
        shown_default="the uvmod that built the tree",
    )
    description: SafeText = _key(
        "uv, the Python package and project manager, set up for this cluster",
        kind="text",
        meaning="shown by `module whatis` and `module help`",
    )


class PathsSection(_Section):
    """Path templates, expanded when the module is loaded, so each user gets their own.
    `${VAR}` and `${VAR:-default}` are supported (shell semantics: an empty variable counts as
    unset; defaults may nest). A bare `$VAR` is rejected: write `${VAR}`. Inside a default, the
    first `}` closes it, as in sh. A `${VAR}` without default that is unset at load time makes
    `module load` fail with a message naming the variable; `module show`, `help`, `whatis`,
    `avail` and `spider` still work and show the template. Each template must start with `/`
    or `${`.

    Keep `cache` and `venv_depot` on the same filesystem: uv hardlinks or clones from the cache
    into environments, and falls back to copying (slower, twice the space) across
    filesystems."""

    cache: PathTemplate = _key(
        "${SCRATCH:-${HOME}/.cache}/uv", kind="path template", meaning="`UV_CACHE_DIR`"
    )
    venv_depot: PathTemplate = _key(
        "${SCRATCH:-${HOME}/.cache}/uv-venvs",
        kind="path template",
        meaning="where project environments live (`UVMOD_VENV_DEPOT`)",
    )
    tools: PathTemplate = _key(
        "${XDG_DATA_HOME:-${HOME}/.local/share}/uv/tools",
        kind="path template",
        meaning="`UV_TOOL_DIR`: where `uv tool install` puts each tool's environment. The "
        "default is uv's own, so tools installed with and without the module are the same. Not "
        "on scratch: the purge would break installed tools, which uv cannot rebuild "
        "(docs/design.md#tools). Sites with a per-user space that is neither purged nor the home "
        "quota set it there (`${WORK}/uv/tools`)",
    )
    tool_bin: PathTemplate = _key(
        "${XDG_BIN_HOME:-${HOME}/.local/bin}",
        kind="path template",
        meaning="`UV_TOOL_BIN_DIR`: where `uv tool install` links the tools' commands; on `PATH` "
        "while the module is loaded, after the module's own `bin/` (a `uv` there never hides "
        "the wrapper)",
    )
    purge_days: Annotated[int, Field(ge=1, le=36500)] | None = _key(
        None,
        kind="integer from 1 to 36500",
        meaning="optional, not a template: the age in days after which your site's scratch "
        "purge deletes files. `uvmod doctor` then lists depot environments and cache entries "
        "not used for that long. Nothing else reads it",
    )


class ArchSection(_Section):
    """How the module picks the node's CPU architecture when it is loaded. Architecture names
    are directory names (letters, digits, `._+-`)."""

    env: list[EnvName] = _key(
        kind="list of variable names",
        meaning="override variables, the first one set wins",
        factory=lambda: ["RSNT_ARCH"],
    )
    flags: dict[ArchName, list[CpuFlag]] = _key(
        kind="table: arch → list of cpuinfo flags",
        meaning="ordered, most capable first; all flags are required (the `flags` line on "
        "x86-64, `Features` on aarch64); `x86-64-v2`, `x86-64-v3`, `x86-64-v4` stand for the "
        "flag sets of those levels; the first arch whose flags (and machine) match wins; the "
        "last is the fallback",
        factory=lambda: {"avx512": ["avx512f"], "avx2": ["avx2"], "generic": []},
    )
    machine: dict[ArchName, MachineName] = _key(
        kind="table: arch → machine type",
        meaning="optional: the arch matches only on nodes of this machine type (`uname -m`, "
        "e.g. `aarch64`); an arch not listed matches any machine",
        factory=dict,
    )

    @field_validator("flags")
    @classmethod
    def _has_archs(cls, flags: dict[str, list[str]]) -> dict[str, list[str]]:
        if not flags:
            raise ValueError("at least one architecture is needed (the last is the fallback)")
        return flags


class WheelhouseSection(_Section):
    """The site's wheels, per architecture, and whether PyPI may be used too.

    With `pypi = false` every architecture needs at least one directory, and at least one of
    them must exist when building (else nothing could be installed on those nodes: the build
    stops with exit 2). Other directories missing at build time are left out of `uv.toml` with
    a warning, because uv refuses to run with a missing `find-links` directory."""

    root: WheelhouseRoot | None = _key(
        None,
        kind="absolute path, no `#`",
        meaning="the wheelhouse root; required when `[wheelhouse.arch]` is set (uv reads `#` in "
        "an index path as a URL fragment)",
    )
    pypi: bool = _key(
        True,
        kind="boolean",
        meaning="`true`: wheelhouse first, then the default index; `false`: wheelhouse only",
    )
    index_strategy: Literal["first-index", "unsafe-first-match", "unsafe-best-match"] = _key(
        "unsafe-first-match",
        kind='`"first-index"`, `"unsafe-first-match"`, `"unsafe-best-match"`',
        meaning="uv's `index-strategy` when `pypi = true`",
    )
    only_binary: list[PackageName] = _key(
        kind="list of package names",
        meaning="never built from source (`no-build-package`)",
        factory=list,
    )
    constraints: list[ConstraintPath] = _key(
        kind="list of absolute paths without whitespace",
        meaning="exported as `UV_CONSTRAINT` (uv pip only; space-separated, so a path with a "
        "space would be read as two)",
        factory=list,
    )
    arch: dict[ArchName, list[RelativeDir]] = _key(
        kind="table: arch → list of relative directories",
        meaning="per architecture, most specific first, relative to `root`; `..` is rejected",
        factory=dict,
    )
    # The pip stack's rules (docs/design.md#manylinux-switch, docs/design.md#offline-projects).
    manylinux: bool = _key(
        True,
        kind="boolean",
        meaning="`false`: every environment the wrapper manages (and a `uv venv` or activated "
        "environment it sees) gets `_manylinux.py` in its site-packages before uv first "
        "installs into it, so uv never installs a PyPI `manylinux` wheel there; the site's "
        "`linux_x86_64` builds (or an sdist) are used instead",
    )
    project_environments: list[ProjectEnvironment] = _key(
        kind="list of PEP 508 markers",
        meaning="with `pypi = false`: the `environments` line `uv init` writes into a new "
        "project's `[tool.uv]`, and that `uv add`/`uv lock` name when they fail without one, "
        "since uv locks for every platform and the wheelhouse serves Linux only; `[]` "
        "switches both off",
        factory=lambda: ["sys_platform == 'linux' and implementation_name == 'cpython'"],
    )


# The defaults name the MPI and CUDA stacks of common HPC sites, so a site.toml without
# [cache_key] keys builds on them (docs/admin-guide.md's example has none).
DEFAULT_KEY_MODULES = (
    "openmpi",
    "mpich",
    "intelmpi",
    "mvapich2",
    "cray-mpich",
    "cuda",
    "cudnn",
    "nccl",
)
DEFAULT_KEY_PACKAGES = ("mpi4py", "h5py", "petsc4py", "slepc4py", "mpi4jax", "cupy", "pycuda")


class CacheKeySection(_Section):
    """Which loaded modules make up the MPI/CUDA cache key, and which packages are built per
    key. The key is the full names (`name/version`) of the loaded modules named in `modules` or
    holding a family of `families`, sorted, joined with `,`. Set a list to `[]` to switch that
    part off; `packages = []` switches per-key builds off altogether."""

    variable: KeyVariable = _key(
        "UVMOD_CACHE_KEY",
        kind="variable name",
        meaning="the variable holding the key; not one the shell, the module tools or uvmod "
        "set (`PATH`, `IFS`, `UV_*`, `LMOD_*`, ...)",
    )
    modules: list[ModuleName] = _key(
        kind="list of module names",
        meaning="loaded modules with these names enter the key",
        factory=lambda: list(DEFAULT_KEY_MODULES),
    )
    families: list[FamilyName] = _key(
        kind="list of family names",
        meaning="loaded members of these families (Lmod `family()`, Environment Modules "
        "`family`) enter the key; letters, digits and `_`, as the family becomes part of the "
        "variable `LMOD_FAMILY_<NAME>`",
        factory=lambda: ["mpi"],
    )
    packages: list[PackageName] = _key(
        kind="list of package names",
        meaning="packages whose built wheels are cached per key, each key built in a setuptools "
        "build directory of its own (docs/design.md#per-key-builds)",
        factory=lambda: list(DEFAULT_KEY_PACKAGES),
    )


class PythonSection(_Section):
    """Which Python uv uses. Sites whose users load a `python` module typically choose
    `only-system` and `never`, so uv uses the module's interpreter and never tries to download
    one on an offline compute node."""

    preference: Literal["only-managed", "managed", "system", "only-system"] = _key(
        "system",
        kind="`only-managed`, `managed`, `system`, `only-system`",
        meaning="`UV_PYTHON_PREFERENCE`",
    )
    downloads: Literal["automatic", "manual", "never"] = _key(
        "manual", kind="`automatic`, `manual`, `never`", meaning="`UV_PYTHON_DOWNLOADS`"
    )


class JupyterSection(_Section):
    """Jupyter kernels made by `uvmod kernel install` (docs/user-guide.md#jupyter). Jupyter
    (and Open OnDemand's Jupyter app) starts a kernel without a login shell, so the kernel's
    launcher sources the module system's sh init script before loading the modules."""

    module_init: AbsolutePath | None = _key(
        None,
        kind="absolute path",
        meaning="the POSIX-sh script that defines `module` on the compute nodes, e.g. "
        "`/etc/profile.d/lmod.sh` when it also sets the default `MODULEPATH`. `uvmod kernel "
        "install --module-init` overrides it. Without either: `$LMOD_PKG/init/sh` (Lmod) or "
        "`$MODULESHOME/init/sh` (Environment Modules) of the shell running `uvmod kernel "
        "install`. It is recorded in each kernel",
        shown_default="found at `uvmod kernel install`",
    )


class JobsSection(_Section):
    """Batch jobs (docs/user-guide.md#batch-jobs). A job-local environment is the project's
    environment made on the node's own disk for one job, from the shared cache, instead of the
    depot's on the shared filesystem (docs/design.md#job-local-environments): imports then
    read no metadata from Lustre or NFS, and the depot environment is not touched. Users
    choose per job with `UVMOD_JOB_LOCAL=1` or `=0`; `local_envs` is what they get otherwise.
    The directory must be one the scheduler makes for each job and removes at its end (Slurm
    sites make `$SLURM_TMPDIR` in a prolog and remove it in the epilog)."""

    local_envs: bool = _key(
        False,
        kind="boolean",
        meaning="inside a job, `uv run`/`uv sync` use a job-local environment unless the user "
        "sets `UVMOD_JOB_LOCAL=0` (with `false`, only when they set `UVMOD_JOB_LOCAL=1`)",
    )
    local_dir_variable: EnvName = _key(
        "SLURM_TMPDIR",
        kind="variable name",
        meaning="the variable naming the job's node-local directory, read at every uv call; "
        "without it (or when it names no directory) the depot environment is used",
    )
    job_variable: EnvName = _key(
        "SLURM_JOB_ID",
        kind="variable name",
        meaning="a variable set only inside a job (a `uv` call without it is not in one)",
    )


class SiteConfig(_Section):
    """Unknown keys are errors (with a suggestion when a known key is close, such as uv's
    hyphenated spellings: `only-binary` is `only_binary` here); every value is type-checked (a
    string where a boolean is expected is an error, not a coercion), and the error quotes the
    value given. No value may contain a control character: a newline in an environment value
    breaks the shell `eval` that both Lmod and Environment Modules rely on."""

    module: ModuleSection = Field(default_factory=ModuleSection)
    paths: PathsSection = Field(default_factory=PathsSection)
    arch: ArchSection = Field(default_factory=ArchSection)
    wheelhouse: WheelhouseSection = Field(default_factory=WheelhouseSection)
    cache_key: CacheKeySection = Field(default_factory=CacheKeySection)
    python: PythonSection = Field(default_factory=PythonSection)
    jupyter: JupyterSection = Field(default_factory=JupyterSection)
    jobs: JobsSection = Field(default_factory=JobsSection)

    @model_validator(mode="after")
    def _cross_checks(self) -> SiteConfig:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        wheelhouse = self.wheelhouse
        for arch in self.arch.machine:
            if arch not in self.arch.flags:
                problems.append(
                    (("arch", "machine", arch), f"{arch!r} is not an architecture of [arch.flags]")
                )
        for arch in wheelhouse.arch:
            if arch not in self.arch.flags:
                problems.append(
                    (
                        ("wheelhouse", "arch", arch),
                        f"{arch!r} is not an architecture of [arch.flags]",
                    )
                )
        if wheelhouse.arch and wheelhouse.root is None:
            problems.append((("wheelhouse", "root"), "required when [wheelhouse.arch] is set"))
        if not wheelhouse.pypi:
            for arch in self.arch.flags:
                if not wheelhouse.arch.get(arch):
                    problems.append(
                        (
                            ("wheelhouse", "arch", arch),
                            "pypi = false needs wheelhouse directories for every architecture",
                        )
                    )
        if problems:
            raise _CrossError(problems)
        return self

    @property
    def archs(self) -> list[str]:
        """Architectures, most capable first; the last is the fallback."""
        return list(self.arch.flags)


class _CrossError(ValueError):
    """Problems located by their own key path (see format_errors)."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(msg for _, msg in problems))
        self.problems = problems


def format_location(loc: tuple[str | int, ...]) -> str:
    """('wheelhouse', 'arch', 'avx2', 1) -> 'wheelhouse.arch.avx2[1]'."""
    text = ""
    for item in loc:
        if isinstance(item, int):
            text += f"[{item}]"
        else:
            text += f".{item}" if text else str(item)
    return text or "(top level)"


def _known_keys(parent: tuple[str | int, ...]) -> list[str]:
    """The keys of the table at `parent` (a location in the config), [] when it has no fixed
    keys (a table of architectures, a list)."""
    model: type[BaseModel] = SiteConfig
    for item in parent:
        field = model.model_fields.get(str(item))
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _suggestion(key: str, known: list[str]) -> str:
    """', did you mean `only_binary`?' for `only-binary`; '' when nothing is close."""
    underscored = key.replace("-", "_").lower()
    if underscored in known:
        why = " (uv.toml spells keys with '-', site.toml with '_')" if "-" in key else ""
        return f"; did you mean `{underscored}`?{why}"
    close = difflib.get_close_matches(underscored, known, n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def _given(value: Any) -> str:
    """The value as the user wrote it (TOML spelling where it differs from Python's)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _messages(source: str, exc: ValidationError) -> list[str]:
    lines: list[str] = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, _CrossError):
            lines += [f"{source}: {format_location(p)}: {m}" for p, m in cause.problems]
            continue
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key" + _suggestion(str(loc[-1]), _known_keys(loc[:-1]))
        elif error["type"] == "model_type":  # pydantic names the class; users wrote TOML
            message = f"should be a table ([{format_location(loc)}])"
        if error["type"] not in ("value_error", "extra_forbidden") and "input" in error:
            # Our own validators name the value already; pydantic's type errors do not.
            message += f", got {_given(error['input'])}"
        lines.append(f"{source}: {format_location(loc)}: {message}")
    return lines


def parse_config(text: str, source: str) -> SiteConfig:
    """Parse TOML text; raise ConfigError with one located line per problem."""
    try:
        data: Mapping[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    try:
        return SiteConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(*_messages(source, exc)) from None


# What a module-tree prefix may not hold, and why: it reaches MODULEPATH, PATH and
# XDG_CONFIG_DIRS (entries separated by ':'), the Lua and Tcl modulefiles and the wrapper's sh.
# Lmod 8.6/8.7 load a tree under any other printable name; Environment Modules 5.2 and 5.5
# read these characters in a MODULEPATH entry as glob patterns or substitutions and then do not
# find the module ("Unable to locate a modulefile"; 5.5 also for '<'), tests/test_injection.py.
PREFIX_FORBIDDEN = {
    ":": "':' separates the entries of MODULEPATH, PATH and XDG_CONFIG_DIRS",
    **dict.fromkeys(
        "[]{}\\$<>",
        "Environment Modules reads '[]{}\\$<>' in a MODULEPATH entry as patterns or "
        "substitutions and cannot find the module there",
    ),
}
NAME_MAX_BYTES = 255


def check_prefix(value: str, option: str = "--prefix") -> str:
    """A tree prefix every module tool can load from, or a located ConfigError (exit 2)."""
    problem = ""
    bad = _CONTROL.search(value)
    if bad:
        problem = f"contains the control character {bad.group()!r}"
    elif not value.startswith("/"):
        problem = "is not an absolute path"
    else:
        forbidden = next((c for c in value if c in PREFIX_FORBIDDEN), None)
        long_part = next(
            (p for p in value.split("/") if len(p.encode("utf-8", "surrogateescape")) > 255),
            None,
        )
        if forbidden is not None:
            problem = f"holds {forbidden!r}: {PREFIX_FORBIDDEN[forbidden]}"
        elif long_part is not None:
            problem = f"has a component longer than {NAME_MAX_BYTES} bytes ({long_part[:20]!r}...)"
    if problem:
        shown = repr(value) if len(value) <= 80 else repr(value[:77]) + "..."
        raise ConfigError(f"{option}: {shown} {problem}")
    return value


def load_config(path: Path | None) -> SiteConfig:
    """Load the site config from `path`, or the embedded default when None."""
    if path is None:
        text = resources.files("uvmod").joinpath(DEFAULT_CONFIG_NAME).read_text("utf-8")
        return parse_config(text, f"<embedded {DEFAULT_CONFIG_NAME}>")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_config(text, str(path))
