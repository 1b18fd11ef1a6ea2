"""Ask the loaded module's uv wrapper what a uv call would use, rather than recomputing it.

With UVMOD_WRAPPER_DRY_RUN set, the wrapper (bin/uv) runs every phase of a call but writes
nothing and runs no uv: it prints what it decided as NAME=VALUE records, each ended by a NUL
byte (sh/uv-rare.sh, _uvmod_report). `uvmod venv path` and doctor take the project's
environment from there, so what they show is what the next uv call uses, by construction
(docs/design.md#the-wrapper). Without a loaded module, or with a tree built before the site
facts named the wrapper's build, uvmod/depot.py's Python twin answers instead.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from uvmod import depot, jobs
from uvmod.errors import UvmodError
from uvmod.moduledesc import DRY_RUN_VARIABLE
from uvmod.sitefacts import SiteFacts

# What a project command runs through; the wrapper decides the same for `uv run` and the rest.
PROJECT_COMMAND = ("sync",)


class WrapperRefused(UvmodError):
    """The wrapper refused the call (exit status 2): a key it will not use. Its message says why."""


@dataclass(frozen=True)
class WrapperAnswer:
    command: str  # the subcommand the wrapper found ("" for none)
    key: str  # the cache key this call uses
    stale: bool  # the exported key was stale, and this call uses the loaded modules' key
    config: Path | None  # the per-key configuration directory put first on XDG_CONFIG_DIRS
    project: Path | None  # the project root; None outside a project or when not looked for
    environment: Path | None  # the depot environment; None when the wrapper chose none
    # "absent", "unmarked", "marked" or "damaged" (the depot environment), "job-local" (an
    # environment on the job's node-local disk, uvmod/jobs.py); "" for none
    state: str
    variables: Mapping[str, str]  # what uv would get of the variables the wrapper sets
    node: depot.Node | None = None  # the node type of the environment; None when none is chosen


def ask_wrapper(
    wrapper: Path,
    cwd: Path,
    environ: Mapping[str, str],
    args: Sequence[str] = PROJECT_COMMAND,
) -> WrapperAnswer:
    """What `uv ARGS` run in `cwd` with `environ` would use. Raises WrapperRefused when the
    wrapper refuses the call, UvmodError when it gives no answer, OSError when it cannot run."""
    proc = subprocess.run(
        [str(wrapper), *args],
        cwd=cwd,
        env={**environ, DRY_RUN_VARIABLE: "1"},
        capture_output=True,
        timeout=60,
        check=False,
    )
    message = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode == 2:
        raise WrapperRefused(message)
    records = proc.stdout.split(b"\0")
    if proc.returncode != 0 or records[0] != b"dry-run=1":
        raise UvmodError(f"{wrapper} gave no dry-run answer (exit status {proc.returncode})")
    values: dict[str, str] = {}
    for record in records[1:-1]:
        name, _, value = record.partition(b"=")
        values[name.decode()] = os.fsdecode(value)

    def path(name: str) -> Path | None:
        return Path(values[name]) if values.get(name) else None

    reported = {
        *("command", "key", "stale", "config", "project", "environment", "state"),
        *("arch", "machine"),
    }
    machine = values.get("machine", "")
    return WrapperAnswer(
        command=values.get("command", ""),
        key=values.get("key", ""),
        stale=bool(values.get("stale")),
        config=path("config"),
        project=path("project"),
        environment=path("environment"),
        state=values.get("state", ""),
        variables={k: v for k, v in values.items() if k not in reported},
        node=depot.Node(values.get("arch", ""), machine) if machine else None,
    )


@dataclass(frozen=True)
class ProjectEnvironment:
    root: Path
    key: str
    path: Path
    answered_by: str  # "wrapper" or "uvmod" (the Python twin)
    node: depot.Node
    job_local: bool = False  # on the job's node-local disk rather than in the depot


def project_environment(
    directory: Path, environ: Mapping[str, str], facts: SiteFacts
) -> ProjectEnvironment | None:
    """The depot environment uv would use for the project containing `directory` (None
    outside a project, or when the user chose one with UV_PROJECT_ENVIRONMENT): the loaded
    wrapper's answer when it can give one, else the Python twin's. Raises UvmodError for a key
    or a depot the wrapper refuses (the twin refuses the same depots: depot.check_depot)."""
    install = facts.install
    if install is not None and facts.build_id is not None:
        try:
            answer = ask_wrapper(install.wrapper, directory, environ)
        except OSError:
            pass  # not runnable here: doctor reports why; the twin still names the environment
        else:
            if answer.project is None or answer.environment is None:
                return None
            node = answer.node or depot.current_node(environ)
            return ProjectEnvironment(
                answer.project,
                answer.key,
                answer.environment,
                "wrapper",
                node,
                job_local=answer.state == jobs.STATE,
            )
    root = depot.project_root(directory)
    if root is None or environ.get("UV_PROJECT_ENVIRONMENT"):
        return None
    key = depot.current_key(facts.config, environ)
    node = depot.current_node(environ)
    depot_path = depot.depot_dir(facts.config, environ)
    depot.check_depot(depot_path, module=facts.config.module.name)
    name = depot.env_name(root, key, node)
    local = jobs.job_local_dir(facts.config.jobs, environ)
    if local is not None:
        return ProjectEnvironment(root, key, local / name, "uvmod", node, job_local=True)
    return ProjectEnvironment(root, key, depot_path / name, "uvmod", node)
