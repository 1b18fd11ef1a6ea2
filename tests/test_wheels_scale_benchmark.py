"""benchmarks/wheels_scale.py keeps working (a small run; its figures are in docs/performance.md
and never asserted on), and the wheelhouse it generates looks like a real one."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from benchmarks import wheels_scale


def test_generated_wheelhouse_is_realistic(tmp_path: Path) -> None:
    counts = wheels_scale.generate(tmp_path, 3000)
    assert sum(counts.values()) == 3000
    assert set(counts) == {*wheels_scale.ARCH_DIRS, *wheels_scale.GENERIC_DIRS, "generic"}
    files = [p for p in tmp_path.rglob("*.whl")]
    assert len(files) == 3000 and all(p.stat().st_size == 0 for p in files)
    parsed = [parse_wheel_filename(p.name) for p in files]
    tags = Counter(next(iter(t)).abi for _, _, _, t in parsed)
    assert tags["none"] and tags["abi3"] and tags["cp311"]
    assert any(str(v).endswith("+computecanada") for _, v, _, _ in parsed)
    # The same file name in several directories, as an arch build and a generic one.
    assert max(Counter(p.name for p in files).values()) >= 2


def test_small_run_prints_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    assert wheels_scale.main(["--files", "400", "--runs", "1"]) == 0
    out = capsys.readouterr().out
    assert "# uvmod wheels on 400 wheel files (7 directories)" in out
    for label in (
        "start-up (imports only)",
        "uvmod wheels numpy",
        "uvmod wheels -r (20 requirements)",
        "uvmod wheels --all-archs",
        "uvmod wheels --all-archs --json",
    ):
        assert f"| `{label}` |" in out
