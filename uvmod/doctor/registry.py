"""Every doctor check, in the order doctor runs and shows them, and the loop that runs them.

A check is a function of the Context returning one Result under its id (`topic.what`), kept in
the module of its topic:

| module | checks |
| --- | --- |
| module.py | the module is loaded, its wrapper is the `uv` on PATH, the real uv runs |
| settings.py | which uv.toml files and UV_ variables decide where packages come from |
| wheelhouse.py | the wheelhouse directories of this node exist and hold wheels |
| nodes.py | this node's type and chain; environments and builds of another node type |
| filesystems.py | cache and environments share a filesystem, no .venv in the project, flock |
| locking.py | uv's file locks in the cache and depot hold across nodes (NFS, Lustre options) |
| jobs.py | inside a batch job: the job-local environment or the depot's |
| keys.py, linked.py | the MPI/CUDA key is current; what was built and what it links match it |
| env_damage.py | the project's and the activated environment are whole |
| orphans.py | environments of deleted projects |
| ownership.py | nobody else can write the depot, the cache or uv's configuration |
| purge.py, cache_damage.py | what the scratch purge will take, and what it took from the cache |
| manylinux.py | with `manylinux = false`: the environments in use refuse manylinux wheels |
| constraints.py | the project's uv.lock keeps to the site constraints |
| module_packages.py | the environment does not install a loaded module's packages again |

To add one: write it in its topic's module (a new module for a new topic), add it below, and
give every Problem it can report a heading in docs/troubleshooting.md (findings.py;
tests/doctor/test_docs.py fails otherwise). Checks only read (Context.memo shares a walk
between them) and raise nothing but OSError, which becomes a finding of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from uvmod.doctor import (
    cache_damage,
    constraints,
    env_damage,
    filesystems,
    findings,
    jobs,
    keys,
    linked,
    locking,
    manylinux,
    module,
    module_packages,
    nodes,
    orphans,
    ownership,
    purge,
    settings,
    wheelhouse,
)
from uvmod.doctor.context import Context
from uvmod.doctor.result import Result, Status, found


@dataclass(frozen=True)
class Check:
    """One check: its stable id (also in each result it returns) and the function."""

    id: str
    run: Callable[[Context], Result]


CHECKS: tuple[Check, ...] = (
    Check("module.loaded", module.check_module),
    Check("module.wrapper", module.check_wrapper),
    Check("module.real_uv", module.check_real_uv),
    Check("config.system", settings.check_system_config),
    Check("config.user", settings.check_user_config),
    Check("config.project", settings.check_project_config),
    Check("config.variables", settings.check_variables),
    Check("wheelhouse", wheelhouse.check_wheelhouse),
    Check("node.type", nodes.check_node),
    Check("node.environments", nodes.check_env_node),
    Check("node.builds", nodes.check_builds),
    Check("filesystems.same", filesystems.check_cache_and_envs),
    Check("filesystems.project", filesystems.check_project_venvs),
    Check("filesystems.flock", filesystems.check_locking),
    Check("filesystems.shared_locks", locking.check_shared_locks),
    Check("cache_key.current", keys.check_key),
    Check("cache_key.builds", keys.check_builds),
    Check("cache_key.linked", linked.check_linked),
    Check("cache_key.active_builds", keys.check_active_builds),
    Check("cache_key.active_linked", linked.check_active_linked),
    Check("jobs.environment", jobs.check_job_environment),
    Check("depot.project", env_damage.check_project_env),
    Check("venv.active", env_damage.check_active_env),
    Check("depot.orphans", orphans.check_orphans),
    Check("purge.environments", purge.check_purge_envs),
    Check("purge.cache", purge.check_purge_cache),
    Check("purge.cache_damage", cache_damage.check_cache_damage),
    Check("pipstack.manylinux", manylinux.check_manylinux),
    Check("constraints.locked", constraints.check_locked_constraints),
    Check("modules.packages", module_packages.check_module_packages),
    Check("ownership.modes", ownership.check_ownership),
)


def run_checks(ctx: Context, checks: Sequence[Check] = CHECKS) -> list[Result]:
    results = []
    for check in checks:
        try:
            results.append(check.run(ctx))
        except OSError as exc:
            # Doctor runs on broken set-ups: one unreadable path must not hide the other checks.
            results.append(
                found(
                    check.id,
                    Status.FAIL,
                    findings.CHECK_ERROR,
                    f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "),
                    "check the permissions and mounts of that path",
                )
            )
    return results
