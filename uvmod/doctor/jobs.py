"""Inside a batch job: which environment uv uses, the job-local one or the depot's
(docs/user-guide.md#job-local-environments), and why.
"""

from __future__ import annotations

from uvmod import jobs
from uvmod.doctor import findings
from uvmod.doctor.context import Context
from uvmod.doctor.result import Result, Status, found, ok
from uvmod.doctor.which_env import project_env


def check_job_environment(ctx: Context) -> Result:
    check = "jobs.environment"
    settings = ctx.config.jobs
    job = ctx.environ.get(settings.job_variable)
    if not job:
        return ok(check, f"not in a batch job (${settings.job_variable} is unset)")
    on = jobs.wanted(settings, ctx.environ)
    choice = ctx.environ.get(jobs.JOB_LOCAL_VARIABLE)
    who = (
        f"{jobs.JOB_LOCAL_VARIABLE}={choice}"
        if choice in ("0", "1")
        else f"the site's default ([jobs] local_envs = {str(settings.local_envs).lower()})"
    )
    directory = ctx.environ.get(settings.local_dir_variable, "")
    if on and jobs.job_local_dir(settings, ctx.environ) is None:
        return found(
            check,
            Status.WARN,
            findings.JOB_DIR_MISSING,
            f"job {job}: job-local environments are on ({who}), but "
            f"${settings.local_dir_variable}={directory!r} is not a directory, so uv uses the "
            "depot environment",
            f"ask your administrator to create ${settings.local_dir_variable} for each job, or "
            f"export {jobs.JOB_LOCAL_VARIABLE}=0",
        )
    env = project_env(ctx) if ctx.project is not None else None
    if not on:
        where = f": {env.path}" if env is not None else ""
        return ok(check, f"job {job}: the depot environment ({who}){where}")
    where = f": {env.path}" if env is not None and env.how == "job-local" else ""
    return ok(
        check,
        f"job {job}: a job-local environment in ${settings.local_dir_variable} ({who}), "
        f"removed when the job ends{where}",
    )
