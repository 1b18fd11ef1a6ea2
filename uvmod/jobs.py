"""Job-local environments: the names the wrapper and the Python side share, and the rule for
when a uv call uses one (docs/design.md#job-local-environments).

Inside a batch job, with job-local environments on (the user's JOB_LOCAL_VARIABLE, else the
site's `[jobs] local_envs`), the wrapper points uv at
`$<local_dir_variable>/<JOB_ENVS>/<depot name>` instead of the depot environment: keyed like it
(same name), built by uv from the shared cache, removed with the job's directory by the
scheduler. sh/uv-phases.sh (_uvmod_job_local) is the rule uv calls follow; `job_local_dir` is
its Python twin, for doctor when no wrapper answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from uvmod.config import JobsSection

# The user's switch: "1" on, "0" off, unset (or anything else) the site's default.
JOB_LOCAL_VARIABLE = "UVMOD_JOB_LOCAL"
# The directory inside the job's node-local directory that holds its environments.
JOB_ENVS = "uvmod-envs"
# The link mode uv gets in this job, found once per job (a stat of the cache and the job
# directory) and remembered here, inside the job's directory.
LINK_MODE_FILE = ".uvmod-link-mode"
# The wrapper's state for an environment it took from the job's directory (uvmod/dryrun.py).
STATE = "job-local"


def wanted(jobs: JobsSection, environ: Mapping[str, str]) -> bool:
    """Whether job-local environments are on for a call with `environ`, job or not."""
    choice = environ.get(JOB_LOCAL_VARIABLE)
    if choice == "1":
        return True
    if choice == "0":
        return False
    return jobs.local_envs


def job_local_dir(jobs: JobsSection, environ: Mapping[str, str]) -> Path | None:
    """Where this call's job-local environments go: None outside a job, when they are off, or
    when the job's directory variable names no absolute existing directory."""
    if not environ.get(jobs.job_variable) or not wanted(jobs, environ):
        return None
    value = environ.get(jobs.local_dir_variable, "")
    if not value.startswith("/") or not Path(value).is_dir():
        return None
    return Path(value) / JOB_ENVS
