"""Doctor's `jobs.environment` without a scheduler: outside a job, and a job that chose
job-local environments but has no directory for them (tests/test_slurm_jobs.py runs doctor
inside real Slurm jobs)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import BuildPrefix
from tests.doctor.support import loaded_env, make_project, run_doctor


def test_outside_a_job(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    env = loaded_env(tmp_path, build_prefix())
    report = run_doctor(env, cwd=tmp_path)
    assert report.check("jobs.environment")["finding"] == (
        "not in a batch job ($SLURM_JOB_ID is unset)"
    )


def test_a_job_without_its_directory(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    project = make_project(tmp_path / "proj")
    prefix = build_prefix("[jobs]\nlocal_envs = true\n")
    env = loaded_env(tmp_path, prefix)
    job = {**env, "SLURM_JOB_ID": "17", "SLURM_TMPDIR": str(tmp_path / "gone")}
    report = run_doctor(job, cwd=project)
    assert report.code == 0  # uv still works, on the depot
    report.assert_found(
        "jobs.environment",
        "warn",
        "job-local environments are on but the job has no local directory: job 17: job-local "
        "environments are on (the site's default ([jobs] local_envs = true)), but "
        f"$SLURM_TMPDIR='{tmp_path}/gone' is not a directory",
        "export UVMOD_JOB_LOCAL=0",
    )
    # The user's opt-out: the depot, named.
    opted_out = run_doctor({**job, "UVMOD_JOB_LOCAL": "0"}, cwd=project)
    finding = opted_out.check("jobs.environment")["finding"]
    assert finding.startswith("job 17: the depot environment (UVMOD_JOB_LOCAL=0): ")
    assert f"{tmp_path}/scratch/uv-venvs/proj-" in finding
