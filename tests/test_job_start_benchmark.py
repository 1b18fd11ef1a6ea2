"""benchmarks/job_start.py keeps working: one round of its three variants and two small
arrays through the session's real Slurm, with a one-wheel wheelhouse (its figures, with the
real packages, are in docs/performance.md and never asserted on)."""

from __future__ import annotations

from pathlib import Path

from benchmarks import job_start
from tests.support import tools
from tests.support.slurm import SlurmCluster
from tests.support.wheels import tiny_wheel


def test_one_round_prints_every_variant_with_its_ratio(slurm: SlurmCluster, tmp_path: Path) -> None:
    tools.lmod_init()
    wheels = tmp_path / "wheels"
    tiny_wheel(wheels, "tinyone", "1.0")
    bench = job_start.prepare(slurm, wheels, ["tinyone"], tmp_path / "work")
    table = job_start.measure(bench, runs=1, tasks=4)
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    for variant in job_start.VARIANTS:
        (row,) = [r for r in rows if r.startswith(f"| {variant} |")]
        assert row.endswith("x |")
    (baseline,) = [r for r in rows if r.startswith(f"| {job_start.BASELINE} |")]
    assert baseline.endswith("| 1.00x |")
    assert any(r.startswith("| cold (no cache, no environment) |") for r in rows)
    assert any(r.startswith("| warm |") for r in rows)
