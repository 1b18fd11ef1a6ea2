"""Ownership and modes: whether another user could write what uv reads or runs.

A depot, cache or uv.toml that another user can write lets them run code as this user: a
`bin/python` planted in an environment, a wheel with a `.pth` file put in the cache, a
find-links directory of theirs added to a uv.toml (docs/reliability.md#security-model). The
rule is ssh's StrictModes (uvmod/trust.py); for the depot it is the wrapper's own check
(uvmod/depot.py, check_depot), so doctor refuses exactly the depots the wrapper refuses.
"""

from __future__ import annotations

from pathlib import Path

from uvmod import depot, trust
from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.result import Result, Status, found, listing, ok
from uvmod.doctor.settings import system_config_file, user_config_file


def _places(ctx: Context) -> list[tuple[str, Path, bool]]:
    """(what, path, whether root may own it) for the cache and uv's configuration files."""
    cache, source = ctx.cache_dir()
    places = [(f"the cache ({source})", cache, False)]
    places.append(("your uv.toml", user_config_file(ctx.environ), False))
    system = system_config_file(ctx.environ)
    if system is not None:
        places.append(("the system uv.toml", system, True))
    return places


def check_ownership(ctx: Context) -> Result:
    check = "ownership.modes"
    problems: list[str] = []
    fixes: list[str] = []
    depot_path = ctx.depot_dir()
    if depot_path is not None:
        try:
            depot.check_depot(depot_path, module=ctx.facts.config.module.name)
        except depot.UntrustedDepot as exc:
            problems.append(f"the environment depot: {exc}")
    for what, path, root_may_own in _places(ctx):
        unsafe = trust.unsafe_path(path, root_may_own=root_may_own)
        if unsafe is not None:
            problems.append(f"{what} {path}: {unsafe.why}")
            fixes.append(unsafe.fix)
    looked = "the depot, " if depot_path is not None else ""
    if not problems:
        return ok(check, f"{looked}the cache and uv's configuration files are yours alone")
    return found(
        check,
        Status.FAIL,
        findings.OPEN_TO_OTHERS,
        listing(problems),
        "; ".join(dict.fromkeys(fixes)) or "see the depot's message above",
    )
