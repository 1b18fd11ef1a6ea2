"""Whether uv's file locks in the cache and the depot hold between nodes
(docs/design.md#locking-on-parallel-filesystems).

uv serialises concurrent work on one environment, and on one cache entry, with flock(). That a
lock can be taken on this node (filesystems.flock) does not make it exclusive across nodes:
- NFS mounted with `local_lock=flock`, `local_lock=all` or `nolock`, and Lustre mounted with
  `localflock`: flock locks are kept by this node's kernel only, so a job on another node takes
  "the same" lock at the same time;
- NFS otherwise: the client turns flock into a POSIX lock of the whole file, which clients
  share, but which a flock taken on the NFS server itself does not conflict with
  (https://github.com/astral-sh/uv/issues/18073).
Both are read from the mount's options in /proc/self/mountinfo: no second node is needed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.mounts import MOUNTINFO, fs_info
from uvmod.doctor.result import Result, Status, found, ok

NFS_ISSUE = "https://github.com/astral-sh/uv/issues/18073"
NFS_TYPES = {"nfs", "nfs4"}
LUSTRE_TYPES = {"lustre"}
NODE_LOCAL_NFS = {"local_lock=flock", "local_lock=all", "nolock"}
NODE_LOCAL_LUSTRE = {"localflock"}


@dataclass(frozen=True)
class Mount:
    point: str
    fstype: str
    options: frozenset[str]  # per-mount and superblock options together


def mount_of(path: Path, mountinfo: Path = MOUNTINFO) -> Mount | None:
    """The mount `path` (or its nearest existing ancestor) is on, with its options; None when
    mountinfo has no line for it."""
    info = fs_info(path)
    dev = f"{os.major(info.device)}:{os.minor(info.device)}"
    try:
        lines = mountinfo.read_text("utf-8", "replace").splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if "-" not in fields:
            continue
        dash = fields.index("-")
        if dash < 6 or len(fields) < dash + 4 or fields[2] != dev:
            continue
        point = fields[4].replace("\\040", " ")
        if point != info.mount_point and info.mount_point != "?":
            continue
        options = fields[5].split(",") + fields[dash + 3].split(",")
        return Mount(point, fields[dash + 1], frozenset(options))
    return None


def _node_local(mount: Mount) -> str | None:
    """The option that keeps flock locks on this node, or None."""
    if mount.fstype in NFS_TYPES:
        chosen = sorted(mount.options & NODE_LOCAL_NFS)
    elif mount.fstype in LUSTRE_TYPES:
        chosen = sorted(mount.options & NODE_LOCAL_LUSTRE)
    else:
        return None
    return chosen[0] if chosen else None


def _fix() -> str:
    return (
        "build each job's environment on node-local disk: your administrator sets [jobs] "
        f"local_envs = true, or you export UVMOD_JOB_LOCAL=1 in the job script; or run "
        f"`uv sync` once before submitting a job array ({NFS_ISSUE})"
    )


def check_shared_locks(ctx: Context, mountinfo: Path = MOUNTINFO) -> Result:
    """`mountinfo` is /proc/self/mountinfo; tests pass captured lines for the test's paths."""
    check = "filesystems.shared_locks"
    places = ctx.uv_directories()
    for directory, what in places:
        mount = mount_of(directory, mountinfo)
        if mount is None:
            continue
        option = _node_local(mount)
        if option is not None:
            return found(
                check,
                Status.WARN,
                findings.FLOCK_NODE_LOCAL,
                f"the {what} {directory} is on {mount.point} ({mount.fstype}, {option}): uv's "
                "lock on an environment or a cache entry does not keep out a job on another "
                "node, so two jobs that create one environment at once can break it",
                _fix() + f"; or mount {mount.point} without {option}",
            )
        if mount.fstype in NFS_TYPES:
            return found(
                check,
                Status.WARN,
                findings.FLOCK_NFS,
                f"the {what} {directory} is on {mount.point} ({mount.fstype}): NFS turns uv's "
                "flock into a lock that other clients respect but a uv running on the NFS "
                "server itself does not",
                _fix(),
            )
    names = " and ".join(what for _, what in places)
    return ok(check, f"file locks in the {names} hold across nodes (no NFS, no node-local locks)")
