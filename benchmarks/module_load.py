"""Row 4: the cost of `module load uv-hpc` against a module that sets one variable.

What is timed is Lmod's own command (`lmod bash load X`, whose output the `module` shell
function evals): bash start-up and sourcing Lmod's init are the same for both and would only
dilute the ratio. Arch detection reads a generated 128-core cpuinfo through UVMOD_CPUINFO.
"""

from __future__ import annotations

from benchmarks.measure import Trial, interleaved, median, timed
from benchmarks.results import Figure, Report, Row, ratio
from benchmarks.site import (
    MODULE_NAME,
    ONE_VARIABLE_MODULE,
    Site,
    base_env,
    lmod_command,
    lmod_env,
    write_cpuinfo,
)

CORES = 128


def _load_trial(env: dict[str, str], module: str) -> Trial:
    argv = [str(lmod_command()), "bash", "load", module]
    timed(argv, env=env)  # warm the page cache: the first run reads Lmod's Lua from disk
    return (lambda: None, lambda: timed(argv, env=env))


def _ms(samples: list[float], how: str) -> Figure:
    return Figure(median(samples) * 1000, "ms", how, tuple(samples))


def measure(site: Site, runs: int, report: Report) -> None:
    # Lmod start-up is ~25 ms and noisy next to a few ms of difference: take more samples.
    runs = max(runs * 6, 20) if runs > 1 else 1
    env = lmod_env(site, base_env(site))
    cpuinfo = write_cpuinfo(site.work / f"cpuinfo-{CORES}", CORES)
    env["UVMOD_CPUINFO"] = str(cpuinfo)
    # The same load with the arch named by the override variable: what detection itself costs.
    named = {**env, "RSNT_ARCH": "generic"}
    trials = {
        "one": _load_trial(env, ONE_VARIABLE_MODULE),
        "uv": _load_trial(env, MODULE_NAME),
        "named": _load_trial(named, MODULE_NAME),
    }
    times = interleaved(trials, runs)
    one = _ms(times["one"], "one setenv")
    detected = _ms(times["uv"], f"arch from {CORES}-core cpuinfo")
    hook = "set (hook active for all)" if "LMOD_PACKAGE_PATH" in env else "unset (no hook)"
    report.add(
        Row(
            "4",
            "`module load` cost (Lmod command, no shell start-up)",
            one,
            detected,
            ratio(detected.value, one.value, 2),
            "<= 1.2x",
            detected.value <= 1.2 * one.value,
            f"ratio = uv-hpc / one-variable module; LMOD_PACKAGE_PATH {hook}",
        )
    )
    report.add(
        Row(
            "4b",
            "`module load uv-hpc`: arch named by $RSNT_ARCH vs detected from cpuinfo",
            _ms(times["named"], "RSNT_ARCH=generic"),
            detected,
            ratio(detected.value, median(times["named"]) * 1000, 2),
            "-",
            None,
            "ratio = detected / named: the cost of reading the 128-core cpuinfo",
        )
    )
