"""A randomised test that fails names its seed, and that seed replays the same draws
(tests/support/seeds.py). Run in pytest's own pytester, on a test that fails on purpose."""

from __future__ import annotations

import re

import pytest

FAILING = """\
import random


def test_draws(rng: random.Random) -> None:
    print("draws", [rng.randrange(10**9) for _ in range(3)])
    assert False
"""


def _run(pytester: pytest.Pytester) -> str:
    result = pytester.runpytest_inprocess("-p", "tests.support.seeds", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    return result.stdout.str()


def test_a_failure_reports_its_seed_and_the_seed_replays_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_failing=FAILING)
    first = _run(pytester)
    match = re.search(r"rerun with: UVMOD_TEST_SEED=(\d+) python -m pytest '(\S+)'", first)
    assert match, first
    assert match.group(2) == "test_failing.py::test_draws"
    draws = re.search(r"draws \[.*\]", first)
    assert draws, first
    monkeypatch.setenv("UVMOD_TEST_SEED", match.group(1))
    replay = _run(pytester)
    assert draws.group(0) in replay
    assert f"seed {match.group(1)};" in replay
