"""Locks that do not hold across nodes (uvmod/doctor/locking.py): the cache and depot on NFS or
Lustre, told from the mount's options. This machine has neither, so each test rewrites the
/proc/self/mountinfo line of the test's own filesystem as a cluster's would read (captured
option sets of NFS and Lustre clients) and hands that file to the check."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.doctor.support import loaded_env, run_doctor
from uvmod.doctor import locking
from uvmod.doctor.context import Context
from uvmod.doctor.mounts import MOUNTINFO, fs_info
from uvmod.doctor.registry import CHECKS, Check
from uvmod.doctor.result import Result


def mountinfo_as(tmp_path: Path, fstype: str, source: str, options: str) -> Path:
    """This process's mountinfo with the line of tmp_path's filesystem made `fstype`."""
    info = fs_info(tmp_path)
    dev = f"{os.major(info.device)}:{os.minor(info.device)}"
    lines = []
    for line in MOUNTINFO.read_text().splitlines():
        fields = line.split()
        if fields[2] == dev and fields[4] == info.mount_point:
            dash = fields.index("-")
            line = " ".join([*fields[:dash], "-", fstype, source, options])
        lines.append(line)
    path = tmp_path / "mountinfo"
    path.write_text("\n".join(lines) + "\n")
    return path


def checks_reading(mountinfo: Path) -> tuple[Check, ...]:
    def check_shared_locks(ctx: Context) -> Result:
        return locking.check_shared_locks(ctx, mountinfo)

    return tuple(
        Check(c.id, check_shared_locks) if c.run is locking.check_shared_locks else c
        for c in CHECKS
    )


NFS = "rw,vers=4.2,rsize=1048576,wsize=1048576,hard,proto=tcp,sec=sys,clientaddr=10.0.0.5"


@pytest.mark.parametrize(
    ("fstype", "source", "options", "option"),
    [
        ("nfs4", "nas:/scratch", NFS + ",local_lock=flock,addr=10.0.0.1", "local_lock=flock"),
        ("nfs4", "nas:/scratch", NFS + ",local_lock=all,addr=10.0.0.1", "local_lock=all"),
        ("nfs", "nas:/scratch", "rw,vers=3,nolock,proto=tcp,local_lock=none", "nolock"),
        ("lustre", "10.0.0.2@o2ib:/scratch", "rw,localflock,lazystatfs", "localflock"),
    ],
)
def test_node_local_locks(
    tmp_path: Path, build_prefix: BuildPrefix, fstype: str, source: str, options: str, option: str
) -> None:
    env = loaded_env(tmp_path, build_prefix())
    mountinfo = mountinfo_as(tmp_path, fstype, source, options)
    report = run_doctor(env, cwd=tmp_path, checks=checks_reading(mountinfo))
    result = report.assert_found(
        "filesystems.shared_locks",
        "warn",
        f"file locks in a uv directory hold on this node only: the cache {tmp_path}/scratch/uv "
        f"is on {fs_info(tmp_path).mount_point} ({fstype}, {option})",
        "[jobs] local_envs = true, or you export UVMOD_JOB_LOCAL=1",
    )
    assert locking.NFS_ISSUE in result["fix"] and f"without {option}" in result["fix"]


def test_nfs_with_shared_locks_still_warns_of_the_server(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    env = loaded_env(tmp_path, build_prefix())
    mountinfo = mountinfo_as(tmp_path, "nfs4", "nas:/scratch", NFS + ",local_lock=none")
    report = run_doctor(env, cwd=tmp_path, checks=checks_reading(mountinfo))
    result = report.assert_found(
        "filesystems.shared_locks",
        "warn",
        "file locks on NFS do not exclude the NFS server: the cache",
        locking.NFS_ISSUE,
    )
    assert report.code == 0 and "UVMOD_JOB_LOCAL=1" in result["fix"]


def test_lustre_with_flock_and_local_disks_are_ok(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    env = loaded_env(tmp_path, build_prefix())
    lustre = mountinfo_as(tmp_path, "lustre", "10.0.0.2@o2ib:/scratch", "rw,flock,lazystatfs")
    for checks in (checks_reading(lustre), CHECKS):
        report = run_doctor(env, cwd=tmp_path, checks=checks)
        assert report.check("filesystems.shared_locks") == {
            "check": "filesystems.shared_locks",
            "status": "ok",
            "finding": "file locks in the cache and depot hold across nodes (no NFS, no "
            "node-local locks)",
            "fix": None,
            "doc": None,
        }
