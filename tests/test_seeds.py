"""A randomised test that fails names its seed, and that seed replays the same draws
(tests/support/seeds.py). Run in a separate pytest, on a test that fails on purpose."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

FAILING = """\
import random


def test_draws(rng: random.Random) -> None:
    print("draws", [rng.randrange(10**9) for _ in range(3)])
    assert False
"""


def _run(tmp_path: Path, seed: str | None) -> str:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ("tests.support.seeds",)\n')
    (tmp_path / "test_failing.py").write_text(FAILING)
    env = {k: v for k, v in os.environ.items() if k != "UVMOD_TEST_SEED"}
    env["PYTHONPATH"] = str(REPO)
    if seed is not None:
        env["UVMOD_TEST_SEED"] = seed
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    return proc.stdout


def test_a_failure_reports_its_seed_and_the_seed_replays_the_run(tmp_path: Path) -> None:
    first = _run(tmp_path, None)
    match = re.search(r"rerun with: UVMOD_TEST_SEED=(\d+) python -m pytest '(\S+)'", first)
    assert match, first
    assert match.group(2).endswith("test_failing.py::test_draws")
    draws = re.search(r"draws \[.*\]", first)
    assert draws, first
    replay = _run(tmp_path, match.group(1))
    assert draws.group(0) in replay
    assert f"seed {match.group(1)};" in replay
