"""A real Slurm cluster of one node on localhost, for the whole session: Debian's slurm-wlm
(22.05) and munge, run from a private directory so nothing of the machine's own set-up is read
or changed (docs/design.md#batch-jobs says what was checked by hand).

- slurm.conf: this machine as the one node with the CPUs `slurmd -C` reports, oversubscription
  allowed (32-task arrays run on 2 cores), no cgroup plugins (`proctrack/linuxproc`,
  `task/none`, `jobacct_gather/none`), ports of our own, and `AuthInfo=socket=` pointing at a
  munged of our own with its own key.
- A prolog makes one directory per job (every array task is a job), the TaskProlog exports it
  to every task as SLURM_TMPDIR (as sites do for node-local disk), the epilog removes it.
- munged, slurmctld and slurmd are started in the foreground as children of the test process,
  `sinfo` is polled until the node is idle, and all three are stopped by their PIDs at the end,
  also when a test or the start itself fails.

Tests take the `slurm` fixture (a SlurmCluster) and submit real `sbatch` scripts.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import tools

SBIN = Path("/usr/sbin")
START_TIMEOUT = 60.0
JOB_TIMEOUT = 600.0

PROLOG = """\
#!/bin/sh
# Runs as root on the node before the job's first step: the job's own node-local directory.
mkdir -p -m 0700 "{tmp}/job$SLURM_JOB_ID"
"""
TASK_PROLOG = """\
#!/bin/sh
# Its `export NAME=value` lines reach every task of the job (the batch script included).
echo "export SLURM_TMPDIR={tmp}/job$SLURM_JOB_ID"
"""
EPILOG = """\
#!/bin/sh
# After the job: nothing of it is left on the node.
rm -rf "{tmp}/job$SLURM_JOB_ID"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _node_cpus() -> int:
    """The CPUs slurmd itself counts on this machine: a node that claims more is drained."""
    out = subprocess.run(
        [str(SBIN / "slurmd"), "-C"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    match = re.search(r"\bCPUs=(\d+)", out)
    assert match, out
    return int(match.group(1))


def slurm_conf(root: Path, host: str, cpus: int, ctld_port: int, slurmd_port: int) -> str:
    # SlurmctldHost must be this host's short name (slurmctld refuses to start otherwise).
    return f"""\
ClusterName=uvmodtest
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/munge.socket
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool/%n
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MaxArraySize=1001
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=300
PrologFlags=Alloc
Prolog={root}/prolog.sh
Epilog={root}/epilog.sh
TaskProlog={root}/task-prolog.sh
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:64
"""


# The states of a job that has ended (`scontrol show job`); COMPLETING is not one: its epilog
# may still be running.
FINISHED = {
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
}


@dataclass
class Job:
    job_id: str
    returncode: int
    stdout: str
    stderr: str
    states: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class SlurmCluster:
    root: Path
    conf: Path
    tmp: Path  # where the prolog makes each job's SLURM_TMPDIR
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def env(self, base: Mapping[str, str]) -> dict[str, str]:
        """`base` plus what Slurm's commands need to find this cluster."""
        return {**base, "SLURM_CONF": str(self.conf)}

    def command(
        self,
        args: Sequence[str],
        env: Mapping[str, str],
        *,
        timeout: float = 60,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args),
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
        )

    def sbatch(
        self,
        script: Path,
        env: Mapping[str, str],
        *options: str,
        wait: bool = True,
        timeout: float = JOB_TIMEOUT,
    ) -> Job:
        """Submit `script` (`sbatch --parsable`); the job's id and, with `wait`, once every task
        ended, returncode 0 when all of them completed with exit code 0 (1 otherwise)."""
        args = ["sbatch", "--parsable", *options, str(script)]
        result = self.command(args, env, check=False)
        job_id = result.stdout.strip().split(";")[0] if result.returncode == 0 else ""
        if not job_id:
            raise AssertionError(f"sbatch failed ({result.returncode}): {result.stderr}")
        job = Job(job_id, 0, result.stdout, result.stderr)
        if wait:
            states = self.wait_done(job_id, env, timeout)
            job.returncode = 0 if all(s == ("COMPLETED", "0:0") for s in states) else 1
            job.states = states
        return job

    def job_states(self, job_id: str, env: Mapping[str, str]) -> list[tuple[str, str]]:
        """(JobState, ExitCode) of every task of the job, as slurmctld still knows them
        (MinJobAge); `sbatch --wait` polls every 10 s at most, this every 0.3 s."""
        shown = self.command(["scontrol", "-o", "show", "job", job_id], env, check=False)
        states = []
        for line in shown.stdout.splitlines():
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            states.append((fields.get("JobState", "?"), fields.get("ExitCode", "?")))
        return states

    def wait_done(
        self, job_id: str, env: Mapping[str, str], timeout: float = JOB_TIMEOUT
    ) -> list[tuple[str, str]]:
        """Until every task of the job has ended (and its epilog has run); their states."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.job_states(job_id, env)
            if states and all(state in FINISHED for state, _ in states):
                return states
            time.sleep(0.3)
        raise AssertionError(f"job {job_id} not done after {timeout}s: {self.log_tail()}")

    def wait_gone(self, job_id: str, env: Mapping[str, str], timeout: float = 120) -> None:
        """Until the job has ended (the epilog has run then)."""
        self.wait_done(job_id, env, timeout)

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for name in ("slurmctld.log", "slurmd.log"):
            path = self.root / "log" / name
            if path.is_file():
                parts.append(f"--- {name}\n" + "\n".join(path.read_text().splitlines()[-lines:]))
        return "\n".join(parts)

    def stop(self) -> None:
        """slurmd, slurmctld, munged, each by its PID: SIGTERM, then SIGKILL after 10 s."""
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.processes.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _write_executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def _start(cluster: SlurmCluster, name: str, args: Sequence[str]) -> None:
    log = (cluster.root / "log" / f"{name}.out").open("wb")
    cluster.processes[name] = subprocess.Popen(
        list(args),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SLURM_CONF": str(cluster.conf)},
    )
    log.close()


def _wait_idle(cluster: SlurmCluster, host: str) -> None:
    env = {"PATH": "/usr/bin:/bin"}
    deadline = time.monotonic() + START_TIMEOUT
    state = ""
    while time.monotonic() < deadline:
        for name, proc in cluster.processes.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}\n{cluster.log_tail()}")
        result = cluster.command(["sinfo", "-h", "-n", host, "-o", "%T"], env, check=False)
        state = result.stdout.strip()
        if state == "idle":
            return
        time.sleep(0.5)
    raise RuntimeError(
        f"the node is {state!r}, not idle, after {START_TIMEOUT}s\n{cluster.log_tail()}"
    )


def start_cluster(root: Path) -> SlurmCluster:
    """Everything of the cluster under `root`; the daemons running, the node idle."""
    for name in ("munge", "state", "spool", "log", "jobs"):
        (root / name).mkdir(mode=0o700)
    tmp = root / "jobs"
    host = socket.gethostname().split(".")[0]
    conf = root / "slurm.conf"
    conf.write_text(slurm_conf(root, host, _node_cpus(), _free_port(), _free_port()))
    _write_executable(root / "prolog.sh", PROLOG.format(tmp=tmp))
    _write_executable(root / "task-prolog.sh", TASK_PROLOG.format(tmp=tmp))
    _write_executable(root / "epilog.sh", EPILOG.format(tmp=tmp))
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    cluster = SlurmCluster(root=root, conf=conf, tmp=tmp)
    try:
        munge = root / "munge"
        _start(
            cluster,
            "munged",
            [
                str(SBIN / "munged"),
                "--foreground",
                "--force",
                f"--socket={munge}/munge.socket",
                f"--key-file={key}",
                f"--pid-file={munge}/munged.pid",
                f"--log-file={root}/log/munged.log",
                f"--seed-file={munge}/munged.seed",
            ],
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not (munge / "munge.socket").exists():
            if time.monotonic() > deadline or cluster.processes["munged"].poll() is not None:
                raise RuntimeError(f"munged did not start: {(root / 'log/munged.out').read_text()}")
            time.sleep(0.1)
        _start(cluster, "slurmctld", [str(SBIN / "slurmctld"), "-D", "-i", "-f", str(conf)])
        _start(cluster, "slurmd", [str(SBIN / "slurmd"), "-D", "-f", str(conf), "-N", host])
        _wait_idle(cluster, host)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def require_slurm() -> None:
    """Skip (fail in CI) unless slurm-wlm and munge are installed."""
    for program in ("slurmctld", "slurmd", "munged"):
        tools.need(
            (SBIN / program).is_file(),
            f"{program} is not installed: apt-get install slurm-wlm munge",
        )
    for program in ("sbatch", "sinfo", "squeue", "scancel", "srun"):
        tools.program(program)
    tools.need(os.geteuid() == 0, "the Slurm fixture runs slurmd as root")


@pytest.fixture(scope="session")
def slurm() -> Iterator[SlurmCluster]:
    require_slurm()
    # Not under pytest's tmp_path: slurmd's paths (spool, sockets) must stay short.
    root = Path(tempfile.mkdtemp(prefix="uvmod-slurm-"))
    cluster = start_cluster(root)
    try:
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
