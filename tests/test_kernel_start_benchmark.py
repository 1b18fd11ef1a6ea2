"""benchmarks/kernel_start.py keeps working (one run; its figures are in docs/performance.md and
never asserted on)."""

from __future__ import annotations

import pytest

from benchmarks import kernel_start
from tests.support import tools


def test_one_run_prints_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    tools.lmod_init()
    tools.jupyter_wheels()
    assert kernel_start.main(["--runs", "1", "--uv", tools.real_uv()]) == 0
    out = capsys.readouterr().out
    for label in (
        "| ipykernel from the environment (`ipykernel install`) |",
        "| uvmod kernel (Lmod, module load, uv run) |",
        "| uvmod kernel, environment deleted (",  # the package count follows ipykernel's
        "| `--link-mode hardlink` |",
        "| `--link-mode copy` |",
    ):
        assert label in out
