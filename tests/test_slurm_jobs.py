"""Real batch jobs: `sbatch` scripts that `module load uv-hpc` and run uv in a project, through
a real Slurm on localhost (tests/support/slurm.py), offline from a test wheelhouse.

- job arrays on one depot: 32 tasks on a cold depot and cache, then on a warm one; every task
  succeeds, one environment results, nothing unexpected on stderr;
- a job killed with scancel in the middle of `uv sync` leaves the depot usable for the next;
- job-local environments ($SLURM_TMPDIR), chosen by the user or the site: each job uses its
  own, the depot's is untouched, nothing is left when the job ends; the multi-node recipe
  (one `srun` step that syncs per node, then the job's step) as two steps on one node;
- `uvmod doctor` inside a job names the environment in use.
Every module tool of the matrix runs one small array; the big arrays run under Lmod 8.6.19.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import sys
import tarfile
import textwrap
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support.modules import LMOD_8_6, ModuleTool, base_env
from tests.support.nodes import node
from tests.support.projects import PYPROJECT
from tests.support.slurm import Job, SlurmCluster
from tests.support.wheels import tiny_wheel
from uvmod import depot, jobs

SITE_TOML = """\
[wheelhouse]
root = "{wheelhouse}"
pypi = false
[wheelhouse.arch]
avx512 = ["generic"]
avx2 = ["generic"]
generic = ["generic"]
[python]
downloads = "never"
{extra}
"""

# What uv itself says on stderr while it makes an environment and installs into it; any other
# line in a task's stderr (a warning, an error, a message of the wrapper) is stray.
UV_PROGRESS = re.compile(
    r"(Using CPython .*|Creating virtual environment at: .*|Resolved \d+ packages? in .*"
    r"|Prepared \d+ packages? in .*|Installed \d+ packages? in .*|Audited \d+ packages? in .*"
    r"|Uninstalled \d+ packages? in .*|Building .*|Built .*| [+-] [A-Za-z0-9_.-]+==.*)"
)

PRINT_PREFIX = "import sys, tinyone; print(sys.prefix)"

# An sdist whose build waits, so that a job can be killed in the middle of `uv sync`: its
# in-tree back-end answers metadata at once (uv locks without building) and, while
# $SLOW_BUILD_STARTED names a file, creates it and sleeps in build_wheel.
SLOW_BACKEND = """\
import os, time, zipfile

DIST_INFO = "slowpkg-1.0.dist-info"
METADATA = "Metadata-Version: 2.1\\nName: slowpkg\\nVersion: 1.0\\n"
WHEEL = "Wheel-Version: 1.0\\nGenerator: slow\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    os.makedirs(os.path.join(metadata_directory, DIST_INFO))
    for name, text in (("METADATA", METADATA), ("WHEEL", WHEEL)):
        with open(os.path.join(metadata_directory, DIST_INFO, name), "w") as handle:
            handle.write(text)
    return DIST_INFO


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    started = os.environ.get("SLOW_BUILD_STARTED")
    if started:
        open(started, "w").close()
        time.sleep(120)
    files = {"slowpkg.py": "VALUE = 'slow'\\n", DIST_INFO + "/METADATA": METADATA,
             DIST_INFO + "/WHEEL": WHEEL}
    files[DIST_INFO + "/RECORD"] = "".join(p + ",,\\n" for p in files) + DIST_INFO + "/RECORD,,\\n"
    name = "slowpkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return name
"""


def write_slow_sdist(dest: Path) -> Path:
    members = {
        "slowpkg-1.0/pyproject.toml": textwrap.dedent(
            """\
            [build-system]
            requires = []
            build-backend = "slowbackend"
            backend-path = ["_backend"]

            [project]
            name = "slowpkg"
            version = "1.0"
            """
        ),
        "slowpkg-1.0/PKG-INFO": "Metadata-Version: 2.1\nName: slowpkg\nVersion: 1.0\n",
        "slowpkg-1.0/_backend/slowbackend.py": SLOW_BACKEND,
    }
    path = dest / "slowpkg-1.0.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return path


@dataclass
class JobSite:
    """A uvmod site (module tree, wheelhouse, scratch) whose jobs run on the Slurm fixture."""

    slurm: SlurmCluster
    prefix: Path
    tmp: Path
    env: dict[str, str]
    tool: ModuleTool

    @property
    def depot(self) -> Path:
        return self.tmp / "scratch" / "uv-venvs"

    def project(self, name: str, *deps: str) -> Path:
        path = self.tmp / "WORK" / name
        path.mkdir(parents=True)
        quoted = ", ".join(f'"{d}"' for d in deps)
        (path / "pyproject.toml").write_text(PYPROJECT.format(name=name, deps=quoted))
        return path

    def expected_env(self, root: Path) -> Path:
        return self.depot / depot.env_name(os.path.realpath(root), "", node())

    def script(self, name: str, project: Path, lines: Sequence[str]) -> Path:
        """A batch script: `module` of this site's tool, `module load uv-hpc`, then `lines`
        in the project."""
        text = "\n".join(
            [
                "#!/bin/bash",
                "set -e",
                *self.tool.prelude(),
                "module load uv-hpc",
                f"cd {shlex.quote(str(project))}",
                *lines,
                "",
            ]
        )
        path = self.tmp / f"{name}.sh"
        path.write_text(text)
        return path

    def sbatch(self, script: Path, *options: str, wait: bool = True, **extra: str) -> Job:
        env = {**self.env, "MODULEPATH": str(self.prefix / "modulefiles"), **extra}
        return self.slurm.sbatch(script, env, *options, wait=wait)

    def array(
        self, name: str, project: Path, tasks: int, lines: Sequence[str], *options: str
    ) -> list[Task]:
        """Run `lines` as a job array of `tasks` tasks (sbatch `options` too); every task's
        output and error, once all succeeded."""
        out = self.tmp / f"{name}-out"
        out.mkdir()
        script = self.script(name, project, lines)
        job = self.sbatch(
            script, f"--array=1-{tasks}", f"--output={out}/o-%a", f"--error={out}/e-%a", *options
        )
        assert job.returncode == 0, (job.stderr, _task_errors(out, tasks))
        return [
            Task((out / f"o-{i}").read_text(), (out / f"e-{i}").read_text())
            for i in range(1, tasks + 1)
        ]


@dataclass
class Task:
    stdout: str
    stderr: str

    def stray(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if not UV_PROGRESS.fullmatch(line)]


def _task_errors(out: Path, tasks: int) -> str:
    errors = [(out / f"e-{i}") for i in range(1, tasks + 1)]
    return "\n".join(
        f"{e.name}: {e.read_text()}" for e in errors if e.is_file() and e.stat().st_size
    )


def depot_envs(site: JobSite) -> list[Path]:
    return sorted(p for p in site.depot.iterdir() if not p.name.startswith("."))


def snapshot(root: Path) -> dict[str, tuple[int, int, float]]:
    """Every entry under `root`: inode, size and mtime, to tell an untouched tree."""
    entries: dict[str, tuple[int, int, float]] = {}
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        entries[str(path.relative_to(root))] = (info.st_ino, info.st_size, info.st_mtime)
    return entries


def make_site(
    slurm: SlurmCluster,
    tmp_path: Path,
    build_prefix: BuildPrefix,
    tool: ModuleTool,
    extra: str = "",
) -> JobSite:
    wheelhouse = tmp_path / "wheelhouse"
    tiny_wheel(wheelhouse / "generic", "tinyone", "1.0")
    write_slow_sdist(wheelhouse / "generic")
    prefix = build_prefix(SITE_TOML.format(wheelhouse=wheelhouse, extra=extra))
    env = base_env(
        tmp_path,
        {
            "SCRATCH": str(tmp_path / "scratch"),
            "RSNT_ARCH": "generic",
            "UV_PYTHON": sys.executable,
            "UV_OFFLINE": "1",
        },
    )
    return JobSite(slurm, prefix, tmp_path, env, tool)


@pytest.fixture
def job_site(slurm: SlurmCluster, tmp_path: Path, build_prefix: BuildPrefix) -> JobSite:
    LMOD_8_6.require()
    return make_site(slurm, tmp_path, build_prefix, LMOD_8_6)


def test_a_job_array_loads_the_module_under_every_tool(
    slurm: SlurmCluster, tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    site = make_site(slurm, tmp_path, build_prefix, module_tool)
    proj = site.project("each", "tinyone")
    tasks = site.array("each", proj, 4, [f"uv run python -c {shlex.quote(PRINT_PREFIX)}"])
    venv = site.expected_env(proj)
    assert [t.stdout.strip() for t in tasks] == [str(venv)] * 4
    assert [t.stray() for t in tasks] == [[]] * 4
    assert depot_envs(site) == [venv]


def test_thirty_two_tasks_on_a_cold_then_a_warm_depot(job_site: JobSite) -> None:
    site = job_site
    proj = site.project("array", "tinyone")
    assert not (site.tmp / "scratch").exists()  # cold: no cache, no depot
    lines = [f"uv run python -c {shlex.quote(PRINT_PREFIX)}"]
    venv = site.expected_env(proj)
    for round_ in ("cold", "warm"):
        tasks = site.array(round_, proj, 32, lines)
        assert [t.stdout.strip() for t in tasks] == [str(venv)] * 32, round_
        assert [t.stray() for t in tasks] == [[]] * 32, round_
        assert depot_envs(site) == [venv], round_
        if round_ == "cold":
            made = snapshot(venv / "lib")
    # The warm array used the environment the cold one made, and changed nothing in it.
    assert snapshot(venv / "lib") == made
    assert not (site.depot / depot.TRASH).exists()


def test_scancel_in_the_middle_of_a_sync_leaves_the_depot_usable(job_site: JobSite) -> None:
    site = job_site
    proj = site.project("killed", "tinyone", "slowpkg")
    started = site.tmp / "build-started"
    out = site.tmp / "killed.out"
    script = site.script("killed", proj, ["uv sync"])
    job = site.sbatch(script, f"--output={out}", wait=False, SLOW_BUILD_STARTED=str(started))
    deadline = time.monotonic() + 120
    while not started.exists():
        assert time.monotonic() < deadline, out.read_text() if out.exists() else "no output"
        time.sleep(0.2)
    site.slurm.command(["scancel", job.job_id], site.env)
    site.slurm.wait_gone(job.job_id, site.env)
    venv = site.expected_env(proj)
    assert (venv / "pyvenv.cfg").is_file()  # the sync had made the environment
    assert not list(venv.glob("lib/python*/site-packages/slowpkg.py"))
    tasks = site.array(
        "rerun",
        proj,
        2,
        ["uv sync --locked", "uv run python -c 'import sys, slowpkg, tinyone; print(sys.prefix)'"],
    )
    assert [t.stdout.strip() for t in tasks] == [str(venv)] * 2
    assert depot_envs(site) == [venv]
    assert depot.read_marker(venv) == depot.Marker(proj, "", node())


def _job_dirs(site: JobSite) -> list[Path]:
    return sorted(site.slurm.tmp.iterdir())


def _local_env(job_dir: str, proj: Path) -> str:
    return f"{job_dir}/{jobs.JOB_ENVS}/{depot.env_name(os.path.realpath(proj), '', node())}"


SHOW = (
    "python3 -c 'import os; print(os.environ[\"SLURM_TMPDIR\"])'",
    f"uv run python -c {shlex.quote(PRINT_PREFIX)}",
)


def test_job_local_environments_chosen_by_the_user(job_site: JobSite) -> None:
    site = job_site
    proj = site.project("local", "tinyone")
    # Synced once on the login node: the depot environment every job would otherwise use.
    site.array("login", proj, 1, ["uv sync"])
    venv = site.expected_env(proj)
    before = snapshot(venv)
    out = site.tmp / "local-out"
    out.mkdir()
    script = site.script("local", proj, [f"export {jobs.JOB_LOCAL_VARIABLE}=1", *SHOW])
    job = site.sbatch(script, "--array=1-4", f"--output={out}/o-%a", f"--error={out}/e-%a")
    assert job.returncode == 0, _task_errors(out, 4)
    seen = set()
    for i in range(1, 5):
        job_dir, prefix = (out / f"o-{i}").read_text().split()
        assert prefix == _local_env(job_dir, proj)
        assert [t for t in Task("", (out / f"e-{i}").read_text()).stray()] == []
        seen.add(job_dir)
    assert len(seen) == 4  # every task is a job with its own directory
    assert snapshot(venv) == before
    assert depot_envs(site) == [venv]
    for job_dir in seen:
        site.slurm.wait_gone(Path(job_dir).name.removeprefix("job"), site.env)
    assert not set(map(str, _job_dirs(site))) & seen  # the epilog took them, envs included


def test_the_site_default_and_the_users_opt_out(
    slurm: SlurmCluster, tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    LMOD_8_6.require()
    site = make_site(slurm, tmp_path, build_prefix, LMOD_8_6, "[jobs]\nlocal_envs = true")
    proj = site.project("sitewide", "tinyone")
    (default,) = site.array("default", proj, 1, list(SHOW))
    job_dir, prefix = default.stdout.split()
    assert prefix == _local_env(job_dir, proj)
    assert not site.depot.exists() or depot_envs(site) == []
    opt_out = site.array("optout", proj, 1, [f"export {jobs.JOB_LOCAL_VARIABLE}=0", *SHOW])
    assert opt_out[0].stdout.split()[1] == str(site.expected_env(proj))


def test_two_job_steps_share_the_job_local_environment(job_site: JobSite) -> None:
    """The multi-node recipe on one node: a first step syncs once per node (`srun
    --ntasks=$SLURM_NNODES --ntasks-per-node=1`), then the job's step runs without syncing, in
    the same environment."""
    site = job_site
    proj = site.project("steps", "tinyone")
    site.array("lock", proj, 1, ["uv lock"])
    run_no_sync = f"uv run --no-sync python -c {shlex.quote(PRINT_PREFIX)}"
    (task,) = site.array(
        "steps",
        proj,
        1,
        [
            f"export {jobs.JOB_LOCAL_VARIABLE}=1",
            "srun --ntasks=$SLURM_NNODES --ntasks-per-node=1 uv sync --frozen",
            f"srun --ntasks=2 {run_no_sync}",
            'echo "$SLURM_TMPDIR"',
        ],
        "--ntasks=2",
    )
    *prefixes, job_dir = task.stdout.split()
    assert prefixes == [_local_env(job_dir, proj)] * 2
    assert task.stray() == []
    assert not site.depot.exists() or depot_envs(site) == []


def test_doctor_inside_a_job_names_the_environment_in_use(job_site: JobSite) -> None:
    site = job_site
    proj = site.project("doctor", "tinyone")
    doctor = "uvmod doctor --json > doctor-$SLURM_ARRAY_TASK_ID.json || true"
    site.array("doctor", proj, 1, [f"export {jobs.JOB_LOCAL_VARIABLE}=1", *SHOW, doctor])
    site.array("depot-doctor", proj, 1, [*SHOW, doctor.replace("doctor-", "depot-doctor-")])
    local = json.loads((proj / "doctor-1.json").read_text())
    in_depot = json.loads((proj / "depot-doctor-1.json").read_text())

    def finding(report: dict[str, list[dict[str, str]]]) -> str:
        (check,) = [c for c in report["checks"] if c["check"] == "jobs.environment"]
        assert check["status"] == "ok", check
        return check["finding"]

    assert "a job-local environment in $SLURM_TMPDIR (UVMOD_JOB_LOCAL=1)" in finding(local)
    assert f"/{jobs.JOB_ENVS}/" in finding(local)
    assert finding(in_depot).endswith(
        f"the depot environment (the site's default ([jobs] "
        f"local_envs = false)): {site.expected_env(proj)}"
    )
