"""`uvmod venv path|list|gc` on hand-made depots (the real-uv runs are in test_wrapper_real_uv)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from uvmod import depot
from uvmod.cli import main


def make_env(depot_dir: Path, name: str, project: Path | None, key: str = "") -> Path:
    env = depot_dir / name
    (env / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    (env / "pyvenv.cfg").write_text("home = /usr/bin\n")
    if project is not None:
        depot.write_marker(env, project, key)
        (env / depot.LAST_USED).touch()
    return env


@pytest.fixture
def depot_dir(tmp_path: Path) -> Path:
    path = tmp_path / "depot"
    path.mkdir()
    os.environ["UVMOD_VENV_DEPOT"] = str(path)
    return path


def test_path_outside_a_project_fails_clearly(
    tmp_path: Path, depot_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["venv", "path", str(tmp_path)]) == 1
    assert "not inside a project" in capsys.readouterr().err


def test_path_inside_a_project_and_opt_out(
    tmp_path: Path, depot_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "proj"
    (root / "sub").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname='p'\nversion='0'\n")
    os.environ["UVMOD_CACHE_KEY"] = "mpich/4.1.2"
    assert main(["venv", "path", str(root / "sub")]) == 0
    expected = depot_dir / depot.env_name(str(root), "mpich/4.1.2")
    assert capsys.readouterr().out.strip() == str(expected)
    os.environ["UV_PROJECT_ENVIRONMENT"] = "envs/mine"
    assert main(["venv", "path", str(root)]) == 0
    assert capsys.readouterr().out.strip() == str(root / "envs" / "mine")


def test_path_marks_an_environment_uv_made_in_one_call(
    tmp_path: Path, depot_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("")
    env = make_env(depot_dir, depot.env_name(str(root)), None)
    assert main(["venv", "path", str(root)]) == 0
    assert depot.read_marker(env) == depot.Marker(root, "")


def test_gc_removes_only_marked_environments_of_gone_projects(
    tmp_path: Path, depot_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "work"
    alive = work / "alive"
    alive.mkdir(parents=True)
    (alive / "pyproject.toml").write_text("")
    kept = make_env(depot_dir, "alive-0000000000000001", alive)
    gone = make_env(depot_dir, "gone-0000000000000002", work / "gone")
    unmounted = make_env(depot_dir, "far-0000000000000003", Path("/no-such-fs-uvmod/x/p"))
    (tmp_path / "mountpoint").mkdir()  # what an unmounted $WORK looks like
    unmounted2 = make_env(depot_dir, "mnt-0000000000000006", tmp_path / "mountpoint" / "u" / "p")
    unmarked = make_env(depot_dir, "anon-0000000000000004", None)
    (unmarked / depot.LAST_USED).unlink(missing_ok=True)
    trash = make_env(depot_dir / depot.TRASH, "old-0000000000000005.123", work / "alive")
    (depot_dir / depot.INDEX / "k-").mkdir(parents=True)

    assert main(["venv", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    states = {
        Path(e["path"]).name: (e["state"], e["project_state"]) for e in listing["environments"]
    }
    assert states == {
        "alive-0000000000000001": ("ok", "present"),
        "gone-0000000000000002": ("ok", "gone"),
        "far-0000000000000003": ("ok", "unknown"),
        "anon-0000000000000004": ("unmarked", ""),
        "mnt-0000000000000006": ("ok", "unknown"),
        "old-0000000000000005.123": ("trash", "present"),
    }

    assert main(["venv", "gc"]) == 0  # a dry run by default
    dry = capsys.readouterr().out
    assert f"would remove {gone}" in dry and f"would remove {trash}" in dry
    assert gone.is_dir() and trash.is_dir()

    assert main(["venv", "gc", "--yes", "--dry-run"]) == 0  # --dry-run wins
    assert gone.is_dir()

    assert main(["venv", "gc", "--yes"]) == 0
    assert not gone.exists() and not trash.exists()
    assert kept.is_dir() and unmounted.is_dir() and unmounted2.is_dir() and unmarked.is_dir()
    assert not (depot_dir / depot.INDEX).exists()


def test_list_reports_missing_site_packages_files(
    tmp_path: Path, depot_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text("")
    env = make_env(depot_dir, "p-0000000000000001", project)
    site = env / "lib" / "python3.11" / "site-packages"
    (site / "m-1.dist-info").mkdir()
    (site / "m-1.dist-info" / "RECORD").write_text("m.py,,\nm/data.txt,,\nm-1.dist-info/RECORD,,\n")
    (site / "m.py").write_text("")
    assert main(["venv", "list", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["environments"]
    assert entry["state"] == "damaged" and entry["missing_files"] == 1
    assert entry["project"] == str(project) and entry["project_exists"] is True


def test_gc_drops_per_key_configs_of_other_builds_only(
    tmp_path: Path, depot_dir: Path, build_prefix: BuildPrefix, capsys: pytest.CaptureFixture[str]
) -> None:
    home = build_prefix() / "uv-hpc" / "1.0"
    os.environ["UVMOD_HOME"] = str(home)
    (current,) = [
        line.split("=", 1)[1].strip("'")
        for line in (home / "bin" / "uv").read_text().splitlines()
        if line.startswith("UVMOD_BUILD_ID=")
    ]
    configs = depot_dir / depot.CONFIG
    for build in (current, "0123456789abcdef"):
        (configs / build / "generic" / "k-mpich@4.1.2" / "uv").mkdir(parents=True)
    assert main(["venv", "gc", "--yes"]) == 0
    assert sorted(p.name for p in configs.iterdir()) == [current]
    assert "0123456789abcdef (cache" in capsys.readouterr().out


def test_reading_the_marker_keeps_its_access_time(tmp_path: Path) -> None:
    env = make_env(tmp_path, "p-0000000000000001", tmp_path / "p")
    marker = env / depot.MARKER
    os.utime(marker, (1_000_000, 1_000_000))  # an old file, as a purge would see it
    assert depot.read_marker(env) == depot.Marker(tmp_path / "p", "")
    assert marker.stat().st_atime == 1_000_000
