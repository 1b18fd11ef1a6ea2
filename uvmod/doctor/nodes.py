"""The node type: which architecture and machine this node is, the wheelhouse chain in use,
and environments or builds made for another node type (docs/design.md#node-types).

The module detects the architecture once, at load; a shell (or a batch job that inherits its
environment) carried to another partition keeps the old answer, so doctor detects it again here
(uvmod/archdetect.py, the modulefiles' rules) and compares. Depot environments carry the node
type in their back-pointer; an environment the user made (VIRTUAL_ENV) has none, so its builds
are traced to the wheelhouse directory whose wheel holds the same files (RECORD hashes).
"""

from __future__ import annotations

import os
import shlex
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from uvmod import depot
from uvmod.archdetect import detect
from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.result import Result, Status, found, listing, ok
from uvmod.doctor.which_env import ProjectEnv, active_env, project_env
from uvmod.envscan import Dist, installed
from uvmod.moduledesc import MACHINE_VARIABLE, arch_detection
from uvmod.policy import wheelhouse_dirs


def _node_now(ctx: Context) -> depot.Node:
    return depot.Node(ctx.arch or "", ctx.environ.get(MACHINE_VARIABLE) or os.uname().machine)


def check_node(ctx: Context) -> Result:
    """This node's type as the module saw it at load, and as detected now."""
    check = "node.type"
    if not ctx.module_loaded or ctx.arch is None:
        return ok(check, f"no module loaded; machine {os.uname().machine}")
    now = detect(arch_detection(ctx.config), ctx.environ)
    loaded = _node_now(ctx)
    if (now.arch, now.machine) != (loaded.arch, loaded.machine):
        return found(
            check,
            Status.FAIL,
            findings.LOADED_ON_OTHER_NODE,
            f"this shell's module chose arch {loaded}, but this node is {now.arch} "
            f"({now.machine}): builds for the other node type may crash here (Illegal "
            "instruction) or run slowly",
            f"module unload {ctx.module_name} && module load {ctx.module_name}",
        )
    chain = [rel for rel, _ in wheelhouse_dirs(ctx.config, loaded.arch)]
    shown = ", ".join(chain) if chain else "no wheelhouse directories"
    return ok(check, f"arch {loaded.arch} ({now.how}), machine {loaded.machine}; chain: {shown}")


def _in_use(ctx: Context) -> Iterator[ProjectEnv]:
    for env in (project_env(ctx), active_env(ctx)):
        if env is not None and env.path.is_dir():
            yield env


def check_env_node(ctx: Context) -> Result:
    """The environments uv uses now were made for this node type (their back-pointer says)."""
    check = "node.environments"
    if not ctx.module_loaded or ctx.arch is None:
        return ok(check, "no module loaded")
    here = _node_now(ctx)
    others = []
    for env in _in_use(ctx):
        marker = depot.read_marker(env.path)
        if marker is not None and marker.node is not None and marker.node != here:
            others.append(f"{env.path} ({env.how}) was made for {marker.node}")
    if others:
        return found(
            check,
            Status.FAIL,
            findings.ENV_OF_OTHER_NODE,
            f"{listing(others)}; this node is {here}",
            "unset UV_PROJECT_ENVIRONMENT (or `deactivate`) and let the wrapper choose this "
            "node type's environment",
        )
    return ok(check, f"the environments in use were made for {here} or carry no node type")


def _record_hashes(lines: Iterator[str]) -> dict[str, str]:
    """path -> hash of the package's own files (not dist-info, not scripts, which installers
    rewrite)."""
    hashes = {}
    for line in lines:
        path, _, rest = line.partition(",")
        digest = rest.partition(",")[0]
        if digest and not path.startswith("../") and ".dist-info/" not in path:
            hashes[path] = digest
    return hashes


def _installed_hashes(dist: Dist) -> dict[str, str]:
    try:
        text = depot.read_without_atime(dist.dist_info / "RECORD").decode("utf-8", "replace")
    except OSError:
        return {}
    return _record_hashes(iter(text.splitlines()))


def _wheel_hashes(wheel: Path) -> dict[str, str]:
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = [n for n in archive.namelist() if n.endswith(".dist-info/RECORD")]
            if len(names) != 1:
                return {}
            text = archive.read(names[0]).decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile):
        return {}
    return _record_hashes(iter(text.splitlines()))


def _wheels_of(directories: Mapping[str, Path], dist: Dist) -> list[tuple[str, Path]]:
    """The wheels of this distribution and version in each directory, by file name."""
    prefix = f"{dist.name.replace('-', '_')}-{dist.version}-".lower()
    out = []
    for rel, directory in directories.items():
        try:
            with os.scandir(directory) as entries:
                out += [
                    (rel, Path(e.path))
                    for e in entries
                    if e.name.lower().startswith(prefix) and e.name.endswith(".whl")
                ]
        except OSError:
            continue
    return out


def foreign_builds(ctx: Context, env: Path, arch: str) -> list[str]:
    """Installed distributions of `env` whose files are those of a wheel in a wheelhouse
    directory of another architecture's chain only, not in `arch`'s."""
    config = ctx.config
    mine = {rel for rel, _ in wheelhouse_dirs(config, arch)}
    every = {rel: Path(path) for a in config.archs for rel, path in wheelhouse_dirs(config, a)}
    if not every.keys() - mine:
        return []
    seen = []
    for dist in installed(env):
        candidates = _wheels_of(every, dist)
        if not any(rel not in mine for rel, _ in candidates):
            continue
        have = _installed_hashes(dist)
        if not have:
            continue
        origins = {
            rel
            for rel, wheel in candidates
            if (theirs := _wheel_hashes(wheel)) and have.items() <= theirs.items()
        }
        if origins and not origins & mine:
            seen.append(f"{dist.name} {dist.version} from {', '.join(sorted(origins))}")
    return seen


def check_builds(ctx: Context) -> Result:
    check = "node.builds"
    if not ctx.module_loaded or ctx.arch is None:
        return ok(check, "no module loaded")
    arch = ctx.arch
    problems = []
    fix = ""
    for env in _in_use(ctx):
        builds = foreign_builds(ctx, env.path, arch)
        if builds:
            problems.append(f"{env.path}: {listing(builds)}")
            dists = [b.split()[:2] for b in builds]
            names = " ".join(f"--reinstall-package {name}" for name, _ in dists)
            pins = " ".join(shlex.quote(f"{name}=={version}") for name, version in dists)
            fix = f"uv sync {names}" if env.how == "depot" else f"uv pip install {names} {pins}"
    if problems:
        return found(
            check,
            Status.FAIL,
            findings.BUILD_OF_OTHER_NODE,
            f"{'; '.join(problems)}; not in this {arch} node's chain",
            fix,
        )
    return ok(check, f"installed builds come from this {arch} node's chain or elsewhere")
