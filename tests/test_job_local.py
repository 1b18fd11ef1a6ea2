"""The wrapper's job-local phase (sh/uv-phases.sh, _uvmod_job_local) against its Python twin
(uvmod/jobs.py), without a scheduler: who turns it on, where the environment goes, the link
mode across filesystems (a real tmpfs), and the message when the job has no directory.
tests/test_slurm_jobs.py runs the same through real Slurm jobs."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.support import tools
from tests.test_wrapper_phases import phases
from uvmod import jobs
from uvmod.config import JobsSection

NAME = "proj-0123456789abcdef"
REPORT = (
    "if _uvmod_job_local; then r=0; else r=1; fi\n"
    'printf \'%s\\0\' "$r" "$_uvmod_env" "$_uvmod_state" "${UV_LINK_MODE-unset}"\n'
)


def job_local(environ: Mapping[str, str], site_default: bool = False) -> tuple[list[str], str]:
    """The phase's answer (status, env, state, UV_LINK_MODE) and its stderr."""
    script = (
        phases()
        + f"UVMOD_JOB_LOCAL_DEFAULT={'1' if site_default else ''}\n"
        + f"_uvmod_name={NAME} _uvmod_env=depot _uvmod_state=''\n"
        + REPORT
    )
    proc = subprocess.run(
        [tools.program("sh"), "-c", script],
        capture_output=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C", **environ},
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split("\0")[:-1], proc.stderr


def twin(environ: Mapping[str, str], site_default: bool = False) -> str:
    local = jobs.job_local_dir(JobsSection(local_envs=site_default), environ)
    return "depot" if local is None else str(local / NAME)


@pytest.mark.parametrize("site_default", [False, True])
@pytest.mark.parametrize("choice", [None, "1", "0", "yes"])
@pytest.mark.parametrize("in_job", [False, True])
def test_who_turns_it_on_matches_the_python_twin(
    tmp_path: Path, site_default: bool, choice: str | None, in_job: bool
) -> None:
    environ = {"HOME": str(tmp_path), "SLURM_TMPDIR": str(tmp_path)}
    if in_job:
        environ["SLURM_JOB_ID"] = "42"
    if choice is not None:
        environ[jobs.JOB_LOCAL_VARIABLE] = choice
    (status, env, state, _), stderr = job_local(environ, site_default)
    on = in_job and (choice == "1" or (choice != "0" and site_default))
    assert (status, env, state) == (
        ("0", str(tmp_path / jobs.JOB_ENVS / NAME), jobs.STATE) if on else ("1", "depot", "")
    )
    assert env == twin(environ, site_default)
    assert stderr == ""


@pytest.mark.parametrize("value", ["", "relative/dir", "/nonexistent/dir"])
def test_a_job_without_its_directory_uses_the_depot_and_says_so(value: str) -> None:
    environ = {"SLURM_JOB_ID": "42", "SLURM_TMPDIR": value, jobs.JOB_LOCAL_VARIABLE: "1"}
    (status, env, _, _), stderr = job_local(environ)
    assert (status, env) == ("1", "depot") == ("1", twin(environ))
    assert f"$SLURM_TMPDIR='{value}' is not a directory in this job" in stderr


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A real tmpfs: another filesystem than tmp_path's, as node-local disk is the cache's."""
    point = tmp_path / "local"
    point.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(point)],
        capture_output=True,
        text=True,
        check=False,
    )
    tools.need(proc.returncode == 0, f"cannot mount a tmpfs here ({proc.stderr.strip()})")
    try:
        yield point
    finally:
        subprocess.run(["umount", str(point)], check=False)


def test_copy_across_filesystems_found_once_per_job(tmp_path: Path, tmpfs: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    environ = {
        "SLURM_JOB_ID": "42",
        "SLURM_TMPDIR": str(tmpfs),
        jobs.JOB_LOCAL_VARIABLE: "1",
        "UV_CACHE_DIR": str(cache),
    }
    (_, env, _, mode), _ = job_local(environ)
    assert (env, mode) == (str(tmpfs / jobs.JOB_ENVS / NAME), "copy")
    remembered = tmpfs / jobs.JOB_ENVS / jobs.LINK_MODE_FILE
    assert remembered.read_text() == "copy\n"
    # Later calls of the job read it; what is remembered is what they use.
    remembered.write_text("default\n")
    assert job_local(environ)[0][3] == "unset"
    # A mode the user set wins.
    assert job_local({**environ, "UV_LINK_MODE": "symlink"})[0][3] == "symlink"


def test_uvs_default_link_mode_on_the_caches_filesystem(tmp_path: Path) -> None:
    local = tmp_path / "job"
    local.mkdir()
    environ = {
        "SLURM_JOB_ID": "42",
        "SLURM_TMPDIR": str(local),
        jobs.JOB_LOCAL_VARIABLE: "1",
        "UV_CACHE_DIR": str(tmp_path / "cache"),
    }
    assert job_local(environ)[0][3] == "unset"
    assert (local / jobs.JOB_ENVS / jobs.LINK_MODE_FILE).read_text() == "default\n"
