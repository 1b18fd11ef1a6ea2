"""Effective configuration: which uv.toml files and UV_ variables decide where packages come from.

uv's order (docs.astral.sh/uv/concepts/configuration-files): the first `uv/uv.toml` along
XDG_CONFIG_DIRS (default /etc/xdg), else /etc/uv/uv.toml, is the one system file; the user's
`$XDG_CONFIG_HOME/uv/uv.toml` (default ~/.config) takes precedence over it; the project's uv.toml
or `[tool.uv]` over both, and their arrays (indexes, find-links) come *first* in the merged list;
environment variables over all files. So anything that sets an index setting above the system
file changes the site's wheelhouse policy, which lives in that system file
(docs/design.md#site-policy).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.result import Result, Status, found, ok
from uvmod.policy import policy, wheelhouse_dirs

# Settings that decide which indexes and wheels uv uses (uv's settings reference). A `[pip]`
# table holds the same keys for `uv pip` and is checked too.
INDEX_SETTINGS = (
    "index",
    "index-url",
    "extra-index-url",
    "find-links",
    "no-index",
    "index-strategy",
    "no-binary",
    "no-binary-package",
)
# Their environment variables (uv's environment reference); `--index` and friends as well.
INDEX_VARIABLES = (
    "UV_INDEX",
    "UV_DEFAULT_INDEX",
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
    "UV_INDEX_STRATEGY",
    "UV_NO_BINARY",
    "UV_NO_BINARY_PACKAGE",
)
# Variables that make uv skip the system uv.toml altogether. UV_CONFIG_FILE replaces every
# discovered file with one; UV_NO_CONFIG disables discovery (docs/design.md#site-policy: why
# uvmod never uses them).
SWITCH_OFF_VARIABLES = ("UV_NO_CONFIG", "UV_CONFIG_FILE")
# uv reads these as booleans: "0", "false", "no", "off" mean not set.
BOOLEAN_VARIABLES = {"UV_NO_CONFIG", "UV_NO_INDEX"}
FALSE_WORDS = {"0", "false", "no", "off"}


def is_set(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name, "")
    if name in BOOLEAN_VARIABLES:
        return value.strip().lower() not in FALSE_WORDS | {""}
    return bool(value)


def system_config_file(environ: Mapping[str, str]) -> Path | None:
    """The system uv.toml uv reads: first `<dir>/uv/uv.toml` of XDG_CONFIG_DIRS (empty entries
    skipped; /etc/xdg when unset or empty), else /etc/uv/uv.toml (uv-dirs system_config_file)."""
    # Relative entries are ignored, as the XDG base directory spec asks.
    dirs = [d for d in environ.get("XDG_CONFIG_DIRS", "").split(":") if d.startswith("/")]
    dirs = dirs or ["/etc/xdg"]
    for directory in dirs:
        candidate = Path(directory) / "uv" / "uv.toml"
        if candidate.is_file():
            return candidate
    fallback = Path("/etc/uv/uv.toml")
    return fallback if fallback.is_file() else None


def user_config_file(environ: Mapping[str, str]) -> Path:
    xdg = environ.get("XDG_CONFIG_HOME", "")
    base = Path(xdg) if xdg.startswith("/") else Path(environ.get("HOME", "/")) / ".config"
    return base / "uv" / "uv.toml"


def expected_system_file(ctx: Context) -> Path | None:
    if ctx.facts.install is None or ctx.arch is None:
        return None
    return ctx.facts.install.uv_toml(ctx.arch)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def check_system_config(ctx: Context) -> Result:
    check = "config.system"
    switched = [v for v in SWITCH_OFF_VARIABLES if is_set(ctx.environ, v)]
    if switched:
        shown = ", ".join(f"{v}={ctx.environ[v]}" for v in switched)
        return found(
            check,
            Status.FAIL,
            findings.CONFIG_SWITCHED_OFF,
            f"{shown}: uv reads no system uv.toml (and no [tool.uv] of your project either)",
            "unset " + " ".join(switched),
        )
    actual = system_config_file(ctx.environ)
    expected = expected_system_file(ctx)
    if expected is None:
        return ok(check, f"no module loaded; uv reads the system file {actual or '(none)'}")
    if actual is None:
        return found(
            check,
            Status.FAIL,
            findings.NO_SYSTEM_CONFIG,
            f"no uv/uv.toml along XDG_CONFIG_DIRS={ctx.environ.get('XDG_CONFIG_DIRS', '')!r}; "
            f"the site policy {expected} is not used",
            f"module reload {ctx.module_name}",
        )
    if not _same(actual, expected):
        return found(
            check,
            Status.FAIL,
            findings.SYSTEM_CONFIG_SHADOWED,
            f"uv reads {actual}, not the site policy {expected} (uv reads only the first)",
            f"take {actual.parent.parent} out of XDG_CONFIG_DIRS, or `module reload "
            f"{ctx.module_name}` after loading the module that adds it",
        )
    try:
        drift = policy_drift(ctx, expected)
    except ValueError as exc:
        return _invalid(check, str(exc))
    if drift:
        return found(
            check,
            Status.WARN,
            findings.SITE_POLICY_DRIFT,
            f"{expected}: {', '.join(drift)} differ from what the site configuration gives "
            "for the wheelhouse directories present on this node",
            "ask your administrator to rerun `uvmod build-modulefiles` on a node that sees the "
            "whole wheelhouse",
        )
    return ok(check, f"uv reads the site policy {expected}")


# The settings uvmod/policy.py's policy() decides.
POLICY_SETTINGS = ("index", "find-links", "no-index", "index-strategy", "no-build-package")


def policy_drift(ctx: Context, path: Path) -> list[str]:
    """Policy settings whose value in the site uv.toml differs from policy() for the directories
    present here. Directories missing here are ignored on both sides (the wheelhouse check
    reports them), so what remains is a tree built where the wheelhouse looked different, or a
    hand-edited file."""
    arch = ctx.arch or ""
    missing = frozenset(d for _, d in wheelhouse_dirs(ctx.config, arch) if not Path(d).is_dir())
    want = policy(ctx.config, arch, missing)
    table = read_toml(path)
    have = {key: table[key] for key in POLICY_SETTINGS if key in table}
    if isinstance(have.get("index"), list):
        have["index"] = [
            i for i in have["index"] if not (isinstance(i, dict) and i.get("url") in missing)
        ]
        if not have["index"]:
            del have["index"]
    if isinstance(have.get("find-links"), list):
        have["find-links"] = [d for d in have["find-links"] if d not in missing]
    return sorted(key for key in POLICY_SETTINGS if want.get(key) != have.get(key))


def read_toml(path: Path) -> dict[str, Any]:
    """Raises ValueError with a readable reason."""
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def index_settings(table: Mapping[str, Any]) -> list[str]:
    """The index settings a uv.toml table sets, `pip.` prefixed for its [pip] table. Indexes
    marked `explicit = true` are only used for packages pinned to them, so they do not count."""
    keys = []
    for key in INDEX_SETTINGS:
        if key not in table:
            continue
        if key == "index" and isinstance(table[key], list):
            if all(isinstance(i, dict) and i.get("explicit") is True for i in table[key]):
                continue
        keys.append(key)
    pip = table.get("pip")
    if isinstance(pip, dict):
        keys += [f"pip.{key}" for key in index_settings(pip)]
    return keys


def _invalid(check: str, error: str) -> Result:
    return found(
        check,
        Status.FAIL,
        findings.CONFIG_INVALID,
        f"{error} (uv refuses to run with it)",
        "fix the syntax, or move the file away",
    )


def check_user_config(ctx: Context) -> Result:
    check = "config.user"
    path = user_config_file(ctx.environ)
    if not path.is_file():
        return ok(check, f"no user uv.toml ({path})")
    try:
        table = read_toml(path)
    except ValueError as exc:
        return _invalid(check, str(exc))
    keys = index_settings(table)
    if not keys:
        return ok(check, f"{path} leaves the index policy alone")
    return found(
        check,
        Status.WARN,
        findings.USER_CONFIG_OVERRIDE,
        f"{path} sets {', '.join(keys)}, which take precedence over the site's uv.toml",
        f"remove {', '.join(keys)} from {path}",
    )


def project_config_file(project: Path) -> tuple[Path, dict[str, Any]] | None:
    """The project's configuration: uv.toml wins over pyproject.toml's [tool.uv] in the same
    directory; a pyproject.toml without [tool.uv] is none."""
    uv_toml = project / "uv.toml"
    if uv_toml.is_file():
        return uv_toml, read_toml(uv_toml)
    pyproject = project / "pyproject.toml"
    if pyproject.is_file():
        tool = read_toml(pyproject).get("tool", {})
        uv = tool.get("uv") if isinstance(tool, dict) else None
        if isinstance(uv, dict):
            return pyproject, uv
    return None


def check_project_config(ctx: Context) -> Result:
    check = "config.project"
    if ctx.project is None:
        return ok(check, "not in a project")
    try:
        config = project_config_file(ctx.project)
    except ValueError as exc:
        return _invalid(check, str(exc))
    if config is None:
        return ok(check, f"{ctx.project} has no uv settings")
    path, table = config
    keys = index_settings(table)
    where = f"[tool.uv] of {path}" if path.name == "pyproject.toml" else str(path)
    if not keys:
        return ok(check, f"{where} leaves the index policy alone")
    return found(
        check,
        Status.WARN,
        findings.PROJECT_CONFIG_OVERRIDE,
        f"{where} sets {', '.join(keys)}; its indexes come before the site wheelhouse",
        f"remove {', '.join(keys)} from {where} unless the project needs them first",
    )


def check_variables(ctx: Context) -> Result:
    check = "config.variables"
    names = [v for v in INDEX_VARIABLES if is_set(ctx.environ, v)]
    if not names:
        return ok(check, "no UV_ variable changes the index policy")
    shown = ", ".join(f"{v}={ctx.environ[v]}" for v in names)
    return found(
        check,
        Status.WARN,
        findings.ENV_OVERRIDE,
        f"{shown} ({'takes' if len(names) == 1 else 'take'} precedence over every uv.toml)",
        "unset " + " ".join(names),
    )
