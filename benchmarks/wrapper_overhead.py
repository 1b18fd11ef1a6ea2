"""What the uv-hpc wrapper costs: the real uv vs the wrapper, side by side, in one run.

    python benchmarks/wrapper_overhead.py [--quick] [--uv /path/to/uv]

Builds a throw-away uv-hpc tree (the embedded default site config) in a temporary directory,
makes a dependency-free project, and times, alternating the two variants on every round:
  - `uv --version`            wrapper vs real uv                        target <= 1.15x
  - `uv run python -c pass`   wrapper vs real uv with UV_PROJECT_ENVIRONMENT set by hand to
                              the same depot environment                target <= 1.05x
  - the same with a cache key set (the wrapper also points XDG_CONFIG_DIRS at its per-key
    uv.toml; the baseline gets that directory by hand)                  target <= 1.05x
  - `uvx --version` with a key: the module's bin/uvx vs the real uvx (informative)
Environment variables are those `module load uv-hpc` would set; no Lmod, no network.
Only the standard library and rich (a uvmod dependency).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

PYPROJECT = """\
[project]
name = "bench"
version = "0.1"
requires-python = ">=3.8"
dependencies = []

[tool.uv]
package = false
"""


@dataclass
class Case:
    label: str
    target: float
    wrapper_argv: list[str]
    wrapper_env: dict[str, str]
    real_argv: list[str]
    real_env: dict[str, str]


def _once(argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        argv,
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    return time.perf_counter() - start


def measure(case: Case, rounds: int, cwd: Path) -> tuple[float, float]:
    """Medians (seconds) of the real uv and of the wrapper, alternating which goes first."""
    real: list[float] = []
    wrapped: list[float] = []
    for _ in range(3):  # warm the page cache and uv's own caches for both
        _once(case.real_argv, case.real_env, cwd)
        _once(case.wrapper_argv, case.wrapper_env, cwd)
    for i in range(rounds):
        if i % 2:
            wrapped.append(_once(case.wrapper_argv, case.wrapper_env, cwd))
            real.append(_once(case.real_argv, case.real_env, cwd))
        else:
            real.append(_once(case.real_argv, case.real_env, cwd))
            wrapped.append(_once(case.wrapper_argv, case.wrapper_env, cwd))
    return statistics.median(real), statistics.median(wrapped)


def find_real_uv(given: str | None) -> str:
    if given:
        return given
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.is_file() else shutil.which("uv")
    if found is None:
        sys.exit("no uv found: pass --uv /path/to/uv")
    return found


@dataclass(frozen=True)
class Result:
    case: Case
    rounds: int
    real_s: float  # median seconds
    wrapped_s: float

    @property
    def ratio(self) -> float:
        return self.wrapped_s / self.real_s

    @property
    def ok(self) -> bool | None:
        """None for the informative case that has no target."""
        return self.ratio <= self.case.target if self.case.target else None


def run_cases(real_uv: str, quick: bool, config: str | None = None) -> list[Result] | None:
    """Build the throw-away tree (from `config`, a site.toml, else the embedded default), time
    every case; None when the tree could not be built. benchmarks/run.py calls this too, so
    both scripts report the same figures."""
    from uvmod import depot
    from uvmod.cli import main as uvmod_main

    with tempfile.TemporaryDirectory(prefix="uvmod-bench-") as tmp_text:
        tmp = Path(tmp_text)
        prefix = tmp / "prefix"
        # The same wrapper in front of `true` too: its own cost in milliseconds, free of uv's.
        true_prefix = tmp / "prefix-true"
        true_bin = shutil.which("true") or "/bin/true"
        with open(os.devnull, "w") as quiet:
            saved, sys.stdout = sys.stdout, quiet
            try:
                site = ["--config", config] if config else []
                code = uvmod_main(
                    ["build-modulefiles", "--prefix", str(prefix), "--uv", real_uv, *site]
                )
                code = code or uvmod_main(
                    ["build-modulefiles", "--prefix", str(true_prefix), "--uv", true_bin, *site]
                )
            finally:
                sys.stdout = saved
        if code != 0:
            return None
        project = tmp / "work" / "bench"
        project.mkdir(parents=True)
        (project / "pyproject.toml").write_text(PYPROJECT)
        wrapper = str(prefix / "uv-hpc" / "1.0" / "bin" / "uv")
        module_env = {
            "PATH": f"{Path(wrapper).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(tmp / "home"),
            "UV_CACHE_DIR": str(tmp / "cache"),
            "UVMOD_VENV_DEPOT": str(tmp / "depot"),
            "UVMOD_ARCH": "generic",
            # The module exports the machine type at load: the wrapper forks no `uname -m`.
            "UVMOD_MACHINE": platform.machine(),
            "UVMOD_HOME": str(prefix / "uv-hpc" / "1.0"),
            "XDG_CONFIG_DIRS": str(prefix / "uv-hpc" / "1.0" / "etc" / "generic"),
            "UV_PYTHON": sys.executable,
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_OFFLINE": "1",
            # As after `module load uv-hpc` without the Lmod hook: the wrapper then runs its
            # stale-key check on every call (with the hook it skips it), the costlier case.
            "LOADEDMODULES": "uv-hpc/1.0",
            "UVMOD_KEY_SOURCE": "load",
        }
        key = "mpich/4.1.2"
        keyed_env = {
            **module_env,
            "UVMOD_CACHE_KEY": key,
            "LOADEDMODULES": "gcc/12.3:mpich/4.1.2:uv-hpc/1.0",
            "LMOD_FAMILY_MPI": "mpich",
        }
        root = os.path.realpath(project)
        # Create both environments (and the per-key uv.toml) through the wrapper first.
        for env in (module_env, keyed_env):
            for _ in range(2):  # the second call writes the back-pointer
                subprocess.run([wrapper, "sync", "-q"], env=env, cwd=project, check=True)
        node = depot.current_node(module_env)
        plain_venv = str(tmp / "depot" / depot.env_name(root, "", node))
        keyed_venv = str(tmp / "depot" / depot.env_name(root, key, node))
        (key_dir,) = (tmp / "depot" / depot.CONFIG).glob("*/generic/k-*")
        run = ["run", "python", "-c", "pass"]
        cases = [
            Case(
                "uv --version",
                1.15,
                [wrapper, "--version"],
                module_env,
                [real_uv, "--version"],
                module_env,
            ),
            Case(
                "uv run python -c pass",
                1.05,
                [wrapper, *run],
                module_env,
                [real_uv, *run],
                {**module_env, "UV_PROJECT_ENVIRONMENT": plain_venv},
            ),
            Case(
                f"uv run python -c pass (key {key})",
                1.05,
                [wrapper, *run],
                keyed_env,
                [real_uv, *run],
                {
                    **keyed_env,
                    "UV_PROJECT_ENVIRONMENT": keyed_venv,
                    "XDG_CONFIG_DIRS": f"{key_dir}:{keyed_env['XDG_CONFIG_DIRS']}",
                },
            ),
        ]
        true_wrapper = str(true_prefix / "uv-hpc" / "1.0" / "bin" / "uv")
        cases.append(
            Case(
                "wrapper alone: `uv run ...` in front of true",
                0.0,
                [true_wrapper, *run],
                module_env,
                [true_bin, *run],
                module_env,
            )
        )
        real_uvx = Path(real_uv).with_name("uvx")
        if real_uvx.is_file():
            # bin/uvx: one more sh exec, then the wrapper's key part (not its depot part) in
            # front of `uv tool uvx`, which is what the real uvx binary runs.
            cases.append(
                Case(
                    f"uvx --version (key {key})",
                    0.0,
                    [str(Path(wrapper).with_name("uvx")), "--version"],
                    keyed_env,
                    [str(real_uvx), "--version"],
                    keyed_env,
                )
            )
        fast = ("--version", "wrapper alone")
        rounds = {c.label: 40 if quick else 300 for c in cases if any(f in c.label for f in fast)}
        results = []
        for case in cases:
            n = rounds.get(case.label, 15 if quick else 101)
            real_s, wrapped_s = measure(case, n, project)
            results.append(Result(case, n, real_s, wrapped_s))
        return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a rough figure)")
    parser.add_argument("--uv", help="the real uv (default: next to this Python, else PATH)")
    parser.add_argument("--config", help="the site.toml to build (default: the embedded one)")
    args = parser.parse_args(argv)
    real_uv = find_real_uv(args.uv)
    console = Console()
    results = run_cases(real_uv, args.quick, args.config)
    if results is None:
        return 1
    table = Table(title="uv-hpc wrapper overhead (medians)")
    for column in ("command", "real uv", "wrapper", "ratio", "target"):
        table.add_column(column, justify="left" if column == "command" else "right")
    failed = False
    for result in results:
        if result.ok is not None:
            failed |= not result.ok
            verdict = f"[{'green' if result.ok else 'red'}]{result.ratio:.3f}x[/]"
            target = f"<= {result.case.target:.2f}x"
        else:  # informative: the absolute cost of the sh wrapper itself
            verdict = f"+{(result.wrapped_s - result.real_s) * 1000:.2f} ms"
            target = "-"
        table.add_row(
            f"{result.case.label}  [dim](n={result.rounds})[/dim]",
            f"{result.real_s * 1000:.2f} ms",
            f"{result.wrapped_s * 1000:.2f} ms",
            verdict,
            target,
        )
    console.print(table)
    version = subprocess.run([real_uv, "--version"], capture_output=True, text=True).stdout
    console.print(
        f"{version.strip()} · Python {platform.python_version()} · {platform.platform()} · "
        f"{os.cpu_count()} CPUs · sh = {os.path.realpath('/bin/sh')}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
