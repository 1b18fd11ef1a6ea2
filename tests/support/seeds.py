"""Random seeds that a failure reports, so that any randomised run can be replayed.

A test that needs randomness takes the `rng` fixture: a `random.Random` with a new seed on every
run (runs keep exploring), or with the seed in `UVMOD_TEST_SEED` when that is set. When the test
fails, its report gains a "random seed" section with the seed and the command that reruns the
test with it. Tests whose cases are fixed seeds (tests/test_purge.py) carry the seed in their
ids instead. Hypothesis tests print their falsifying example and, with the `uvmod` profile loaded
here, the `@reproduce_failure` line that replays it.
"""

from __future__ import annotations

import os
import random
from collections.abc import Generator

import pytest
from hypothesis import settings

SEED_VARIABLE = "UVMOD_TEST_SEED"
_REPLAY = pytest.StashKey[str]()
_SEED = pytest.StashKey[int]()

settings.register_profile("uvmod", print_blob=True)
settings.load_profile("uvmod")


def pytest_configure(config: pytest.Config) -> None:
    # Read once, at start-up: tests/conftest.py clears the UVMOD_ variables around every test.
    config.stash[_REPLAY] = os.environ.get(SEED_VARIABLE, "")


@pytest.fixture
def rng(request: pytest.FixtureRequest) -> random.Random:
    replay = request.config.stash.get(_REPLAY, "")
    seed = int(replay) if replay else random.randrange(2**32)
    request.node.stash[_SEED] = seed
    return random.Random(seed)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    seed = item.stash.get(_SEED, None)
    if seed is not None and report.failed:
        rerun = f"{SEED_VARIABLE}={seed} python -m pytest '{item.nodeid}'"
        report.sections.append(("random seed", f"seed {seed}; rerun with: {rerun}"))
    return report
