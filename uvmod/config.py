"""The site configuration: pydantic models, loading, and located error messages.

Every value that ends up in Lua, Tcl, sh or TOML is validated here, so renderers can trust it:
names are restricted to what each module tool accepts, and no value may hold a control character
(a newline in an environment value breaks the shell `eval` of both Lmod and Environment Modules).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

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
_FLAG = re.compile(r"[a-z0-9_.]+")
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
        return value

    return AfterValidator(check)


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
    # UV_CONSTRAINT is space-separated (DESIGN.md): uv would read two files.
    if any(c.isspace() for c in value):
        raise ValueError(f"{value!r}: UV_CONSTRAINT is space-separated, so no whitespace")
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
ArchName = Annotated[str, _matching(_DIR_NAME, "an architecture name (letters, digits, '._+-')")]
CpuFlag = Annotated[str, _matching(_FLAG, "a /proc/cpuinfo flag (lower case)")]
PackageName = Annotated[str, _matching(_PACKAGE, "a Python package name")]
AbsolutePath = Annotated[str, AfterValidator(_absolute_path)]
WheelhouseRoot = Annotated[str, AfterValidator(_wheelhouse_root)]
ConstraintPath = Annotated[str, AfterValidator(_constraint_path)]
RelativeDir = Annotated[str, AfterValidator(_relative_dir)]
PathTemplate = Annotated[str, AfterValidator(_path_template)]
SafeText = Annotated[str, AfterValidator(_no_control)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ModuleSection(_Section):
    name: OwnModuleName = "uv-hpc"
    version: OwnModuleName = "1.0"
    uv: AbsolutePath | None = None
    description: SafeText = "uv, the Python package and project manager, set up for this cluster"


class PathsSection(_Section):
    cache: PathTemplate = "${SCRATCH:-${HOME}/.cache}/uv"
    venv_depot: PathTemplate = "${SCRATCH:-${HOME}/.cache}/uv-venvs"
    # Days after which the site's scratch purge deletes files nobody used; only `uvmod doctor`
    # reads it (to list environments and cache entries at risk). None: no purge to warn about.
    purge_days: Annotated[int, Field(ge=1, le=36500)] | None = None


class ArchSection(_Section):
    env: list[EnvName] = Field(default_factory=lambda: ["RSNT_ARCH"])
    flags: dict[ArchName, list[CpuFlag]] = Field(
        default_factory=lambda: {"avx512": ["avx512f"], "avx2": ["avx2"], "generic": []}
    )

    @field_validator("flags")
    @classmethod
    def _has_archs(cls, flags: dict[str, list[str]]) -> dict[str, list[str]]:
        if not flags:
            raise ValueError("at least one architecture is needed (the last is the fallback)")
        return flags


class WheelhouseSection(_Section):
    root: WheelhouseRoot | None = None
    pypi: bool = True
    index_strategy: Literal["first-index", "unsafe-first-match", "unsafe-best-match"] = (
        "unsafe-first-match"
    )
    only_binary: list[PackageName] = Field(default_factory=list)
    constraints: list[ConstraintPath] = Field(default_factory=list)
    arch: dict[ArchName, list[RelativeDir]] = Field(default_factory=dict)


class CacheKeySection(_Section):
    variable: EnvName = "UVMOD_CACHE_KEY"
    modules: list[ModuleName] = Field(default_factory=list)
    families: list[ModuleName] = Field(default_factory=list)
    packages: list[PackageName] = Field(default_factory=list)


class PythonSection(_Section):
    preference: Literal["only-managed", "managed", "system", "only-system"] = "system"
    downloads: Literal["automatic", "manual", "never"] = "manual"


class SiteConfig(_Section):
    module: ModuleSection = Field(default_factory=ModuleSection)
    paths: PathsSection = Field(default_factory=PathsSection)
    arch: ArchSection = Field(default_factory=ArchSection)
    wheelhouse: WheelhouseSection = Field(default_factory=WheelhouseSection)
    cache_key: CacheKeySection = Field(default_factory=CacheKeySection)
    python: PythonSection = Field(default_factory=PythonSection)

    @model_validator(mode="after")
    def _cross_checks(self) -> SiteConfig:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        wheelhouse = self.wheelhouse
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
            message = "unknown key"
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
