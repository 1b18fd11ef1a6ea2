"""The MPI/CUDA cache key: current with the loaded modules, and matched by what was built.

uv keys a wheel built from an sdist on the sdist only, so the wrapper hands uv
`[extra-build-variables]` with the key for `[cache_key].packages` (docs/design.md#cache-key),
and uv records the variables of each build in the dist-info's `uv_build.json`, next to RECORD
(checked with uv 0.13.8: `{"extra_build_variables":{"UVMOD_CACHE_KEY":"mpich/4.1.2"}}`; `{}`
without variables; no file at all for an installed wheel). A package whose recorded key differs
from the loaded modules' was built against other MPI/CUDA libraries than the ones the job will
load.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from uvmod.cachekey import KeyStatus, key_status
from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.result import Result, Status, found, ok
from uvmod.doctor.which_env import active_env, project_env
from uvmod.envscan import Dist, installed, normalize

UV_BUILD_JSON = "uv_build.json"


def build_variables(dist: Dist) -> dict[str, str] | None:
    """The extra build variables uv built this distribution with; None when it was not built
    by uv (installed from a wheel, or by another installer)."""
    try:
        data = json.loads((dist.dist_info / UV_BUILD_JSON).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    variables = data.get("extra_build_variables") if isinstance(data, dict) else None
    if not isinstance(variables, dict):
        return {}
    return {str(k): str(v) for k, v in variables.items()}


def _status(ctx: Context) -> KeyStatus:
    return key_status(ctx.config.cache_key, ctx.module_name, ctx.environ)


def _shown(value: str | None) -> str:
    return "unset" if not value else repr(value)


def check_key(ctx: Context) -> Result:
    check = "cache_key.current"
    if not ctx.module_loaded:
        return ok(check, "no module loaded: builds are not keyed on MPI/CUDA modules")
    status = _status(ctx)
    fix = status.fix()
    if fix is not None:
        command, why = fix
        # Without the hook marker the wrapper sees the staleness itself and uses the loaded
        # modules' key for each call (sh/uv-phases.sh, "Stale key"): builds stay right, the
        # variable and the wrapper's warning on every call do not. With the marker it trusts
        # the variable, so builds would follow the wrong key.
        status_level = Status.FAIL if status.hook_active else Status.WARN
        consequence = (
            "uv builds follow the wrong key"
            if status.hook_active
            else "the wrapper uses the loaded modules' key for each uv call and warns every time"
        )
        return found(
            check,
            status_level,
            findings.KEY_STALE,
            f"{status.variable} is {_shown(status.actual)}, the loaded modules give "
            f"{_shown(status.expected)}; {consequence}: {why}",
            command,
        )
    source = {
        "hook": "kept current by the Lmod hook",
        "load": f"set when {ctx.module_name} was loaded (no Lmod hook: it will not follow a swap)",
    }.get(status.source or "", "source unknown")
    return ok(
        check,
        f"{status.variable}={status.expected or '(none)'} matches the loaded modules; {source}",
    )


@dataclass(frozen=True)
class WrongBuild:
    name: str
    version: str
    built: str  # the key it was built with, "" for none


def wrong_builds(ctx: Context, env: Path, expected: str) -> tuple[int, list[WrongBuild]]:
    """(packages built from source that are keyed, those built with another key than
    `expected`), in the environment `env`."""
    keyed = {normalize(p) for p in ctx.config.cache_key.packages}
    variable = ctx.config.cache_key.variable
    wrong: list[WrongBuild] = []
    checked = 0
    for dist in installed(env):
        if normalize(dist.name) not in keyed:
            continue
        variables = build_variables(dist)
        if variables is None:
            continue  # a wheel from the wheelhouse or an index: nothing was built here
        checked += 1
        built = variables.get(variable, "")
        if built != expected:
            wrong.append(WrongBuild(dist.name, dist.version, built))
    return checked, wrong


def _builds_result(
    ctx: Context, check: str, env: Path, fix: Callable[[list[WrongBuild]], str]
) -> Result:
    status = _status(ctx)
    checked, wrong = wrong_builds(ctx, env, status.expected)
    if not wrong:
        return ok(
            check, f"{checked} package(s) built from source in {env}, all with the current key"
        )
    described = "; ".join(
        f"{w.name} {w.version} was built with {status.variable}={_shown(w.built)}" for w in wrong
    )
    return found(
        check,
        Status.FAIL,
        findings.BUILT_WITH_OTHER_KEY,
        f"{described} in {env}; the loaded modules give {_shown(status.expected)}",
        fix(wrong),
    )


def check_builds(ctx: Context) -> Result:
    check = "cache_key.builds"
    if not ctx.module_loaded:
        return ok(check, "no module loaded: builds are not keyed on MPI/CUDA modules")
    env = project_env(ctx)
    if env is None or not env.path.is_dir():
        return ok(check, "no project environment to look at")
    # Rebuilt under the key the wrapper uses now, which is the loaded modules' key even when
    # the exported variable is stale; `uv sync` reinstalls on the build-info mismatch.
    return _builds_result(
        ctx,
        check,
        env.path,
        lambda wrong: "uv sync " + " ".join(f"--reinstall-package {w.name}" for w in wrong),
    )


def check_active_builds(ctx: Context) -> Result:
    """The same for the activated environment, which `uv pip` installs into: there a swap is
    never noticed by uv (`uv pip install` does not reinstall on a build-info mismatch), so
    doctor is the only one to tell."""
    check = "cache_key.active_builds"
    if not ctx.module_loaded:
        return ok(check, "no module loaded: builds are not keyed on MPI/CUDA modules")
    env = active_env(ctx)
    if env is None or not env.path.is_dir():
        return ok(check, "no other environment activated (VIRTUAL_ENV)")
    return _builds_result(
        ctx,
        check,
        env.path,
        lambda wrong: (
            "uv pip install "
            + " ".join(f"--reinstall-package {w.name}" for w in wrong)
            + " "
            + " ".join(shlex.quote(f"{w.name}=={w.version}") for w in wrong)
        ),
    )
