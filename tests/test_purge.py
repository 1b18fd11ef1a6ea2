"""A scratch purge deletes random files from a depot environment and the uv cache.

The next `uv run` through the module either works or fails with a message that names the fix, and
`uvmod doctor --json --project` reports the damage with its fix. Seeded and reproducible: a failing
seed is rerun with `-k 'seed-N'`. A handful of seeds by default, more under `-m slow`. Figures
in docs/reliability.md#scratch-purges.
"""

from __future__ import annotations

import json
import random
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_wrapper_real_uv import Site, site  # noqa: F401 (the fixture)

RUN = "uv run python -c 'import tinyone, tinytwo; print(tinyone.VALUE, tinytwo.VALUE)'"
FIXES = ("uv sync", "rm -rf", "uv cache clean", "uvmod")


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


def _purge(rng: random.Random, env: Path, cache: Path) -> tuple[str, list[Path]]:
    where = rng.choice(["env", "cache", "both"])
    roots = {"env": [env], "cache": [cache], "both": [env, cache]}[where]
    files = [f for root in roots for f in _files(root)]
    fraction = rng.choice([0.02, 0.2, 0.6, 1.0])
    chosen = rng.sample(files, max(1, int(len(files) * fraction)))
    for path in chosen:
        path.unlink()
    return where, chosen


def _doctor(site: Site, proj: Path) -> dict[str, Any]:  # noqa: F811
    argv = [sys.executable, "-m", "uvmod", "doctor", "--json", "--project", str(proj)]
    result = site.run(f"{shlex.join(argv)}", check=False)
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _purge_case(site: Site, seed: int) -> None:  # noqa: F811
    rng = random.Random(seed)
    proj = site.project(site.tmp / "WORK" / "p", "tinyone", "tinytwo")
    cd = f"cd {shlex.quote(str(proj))}"
    site.run(cd, "uv sync -q", RUN)
    env = site.expected_env(proj)
    cache = site.tmp / "scratch" / "uv"
    where, deleted = _purge(rng, env, cache)
    in_env = [p for p in deleted if env in p.parents]

    report = _doctor(site, proj)
    checks = {c["check"]: c for c in report["checks"]}
    # Damage the doctor must see: a file of an installed package (listed in its RECORD) or the
    # interpreter link; `_virtualenv.*`, activation scripts and uvmod's own files are not needed.
    needed = [
        p
        for p in in_env
        if ("site-packages" in p.parts and not p.name.startswith("_virtualenv"))
        or p == env / "bin" / "python"
    ]
    if needed:
        project = checks["depot.project"]
        assert project["status"] == "fail", (seed, where, needed, project)
        assert "uv sync" in project["fix"]
    in_cache = [p for p in deleted if cache / "archive-v0" in p.parents]
    if in_cache:
        damage = checks["purge.cache_damage"]
        assert damage["status"] == "fail", (seed, where, in_cache, damage)
        assert "uv cache clean" in damage["fix"]

    # The next run works, or its message names the fix, or (uv cannot know a file is missing
    # from an environment it did not just build) the doctor names it.
    marked = (env / ".uvmod-project").exists() or (env / ".uvmod-last-used").exists()
    result = site.run(cd, RUN, check=False)
    if env / "bin" / "python" in deleted and marked and not in_cache:
        # The wrapper moves a marked environment without its interpreter aside (uv would stop).
        assert result.returncode == 0, (seed, where, result.stderr)
        assert "partly deleted" in result.stderr
    outcome = "works" if result.returncode == 0 else "names fix"
    if result.returncode == 0:
        assert result.stdout.splitlines()[-1] == "tinyone 1.0 tinytwo 2.0"
    elif not any(fix in result.stderr for fix in FIXES):
        fixes = [c["fix"] for c in _doctor(site, proj)["checks"] if c["status"] == "fail"]
        assert fixes, (seed, where, result.stderr)
        outcome = "doctor names fix"
    print(f"purge seed {seed}: {where}, {len(deleted)} files, {outcome}")
    # Following the doctor's fixes brings the project back.
    site.run(cd, "uv cache clean -q", f"rm -rf {shlex.quote(str(env))}", "uv sync -q", RUN)


@pytest.mark.parametrize("seed", range(6), ids=lambda s: f"seed-{s}")
def test_random_purge(site: Site, seed: int) -> None:  # noqa: F811
    _purge_case(site, seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6, 60), ids=lambda s: f"seed-{s}")
def test_random_purge_more_seeds(site: Site, seed: int) -> None:  # noqa: F811
    _purge_case(site, seed)
