"""benchmarks/venv_list_scale.py and doctor_scale.py keep working (tiny runs; their figures are
in docs/performance.md and never asserted on), and the trees they generate look like uv's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks import doctor_scale, scale_trees, venv_list_scale
from tests.support import tools
from uvmod import envscan


def test_generated_cache_and_depot_are_complete_and_linked(tmp_path: Path) -> None:
    cache = scale_trees.make_cache(tmp_path / "uv", 3000, tool_envs=2)
    files, _ = scale_trees.count_files(tmp_path / "uv" / "archive-v0")
    assert 3000 <= files < 3200 and len(cache) >= 10  # a long tail: a few large ones
    for dist in cache:
        info = envscan.Dist(dist.name, dist.version, dist.entry / dist.dist_info)
        assert info.files() == list(dist.files) and info.missing_files() == []
    tools_envs = sorted((tmp_path / "uv" / "archive-v0").glob("tool-env-*"))
    assert len(tools_envs) == 2 and all(envscan.damage(e).lost == [] for e in tools_envs)

    depot = scale_trees.make_depot(tmp_path / "depot", tmp_path / "work", cache, 20)
    entries = envscan.scan_depot(depot.path)
    assert [e.state for e in entries] == ["ok"] * 20
    assert sum(e.project_state == "gone" for e in entries) == 2  # a tenth deleted
    assert sum(e.project_from == "marker" for e in entries) == 20
    # uv's link mode on one filesystem: the environments share the cache's inodes.
    env = entries[0].path
    site = env / scale_trees.SITE
    linked = [p for p in site.glob("pkg*/**/*.py") if "__pycache__" not in p.parts]
    assert linked and all(os.stat(p).st_nlink >= 2 for p in linked)
    # Seeded: the same arguments make the same tree.
    again = scale_trees.make_cache(tmp_path / "uv2", 3000, tool_envs=2)
    assert [d.name for d in again] == [d.name for d in cache]
    assert scale_trees.tree_digest(tmp_path / "uv") == scale_trees.tree_digest(tmp_path / "uv2")


def test_venv_list_benchmark_prints_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    assert venv_list_scale.main(["--envs", "5", "--runs", "1"]) == 0
    out = capsys.readouterr().out
    assert "# uvmod venv list on 5 environments (" in out
    for label in (
        "start-up (imports only)",
        "uvmod venv list",
        "uvmod venv list --json",
        "uvmod venv list, nothing remembered",
    ):
        assert f"| `{label}` |" in out


def test_doctor_benchmark_prints_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    tools.lmod_init()
    assert doctor_scale.main(["--files", "400", "--envs", "2", "--runs", "1"]) == 0
    out = capsys.readouterr().out
    assert "# uvmod doctor on a cache of " in out and "a depot of 2 environments" in out
    for label in ("start-up (imports only)", "uvmod doctor", "uvmod doctor --json"):
        assert f"| `{label}` |" in out
