"""`uvmod venv path|list|gc` on hand-made depots (the real-uv runs are in test_wrapper_real_uv)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support.nodes import node
from tests.support.standin import make_standin, run_wrapper, wrapper_path
from uvmod import depot
from uvmod.cli import main


def make_env(depot_dir: Path, name: str, project: Path | None, key: str = "") -> Path:
    """An environment as uv makes it, reduced to what the depot scan looks at."""
    env = depot_dir / name
    (env / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    (env / "bin").mkdir()
    (env / "bin" / "python").symlink_to(sys.executable)
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
    assert depot.read_marker(env) == depot.Marker(root, "", depot.NO_MODULE)


def test_gc_removes_environments_of_gone_projects_only(
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
    (depot_dir / depot.INDEX / depot.node_dir(node()) / "k-").mkdir(parents=True)

    assert main(["venv", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    states = {
        Path(e["path"]).name: (e["state"], e["project_state"]) for e in listing["environments"]
    }
    assert states == {
        "alive-0000000000000001": ("ok", "present"),
        "gone-0000000000000002": ("ok", "gone"),
        "far-0000000000000003": ("ok", "unreachable"),
        "anon-0000000000000004": ("unmarked", ""),
        "mnt-0000000000000006": ("ok", "unreachable"),
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
    # The rule doctor applies (uvmod/envscan.py): a purged RECORD is a missing file, and an
    # environment without bin/python is damaged whatever its RECORDs say.
    (site / "m" / "data.txt").parent.mkdir()
    (site / "m" / "data.txt").write_text("")
    assert _listed(capsys) == ("ok", 0)
    (site / "m-1.dist-info" / "RECORD").unlink()
    assert _listed(capsys) == ("damaged", 1)
    (site / "m-1.dist-info" / "RECORD").write_text("m.py,,\n")
    (env / "bin" / "python").unlink()
    assert _listed(capsys) == ("damaged", 0)
    assert main(["venv", "list"]) == 0
    assert f"{env.name}  {project}  yes" in capsys.readouterr().out


def _listed(capsys: pytest.CaptureFixture[str]) -> tuple[str, int]:
    assert main(["venv", "list", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["environments"]
    return entry["state"], entry["missing_files"]


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
    out = capsys.readouterr().out
    assert "0123456789abcdef (per-key uv.toml files of another module build)" in out
    assert "0 environments (0 files), 0 index entries, 1 old configuration removed" in out


def test_reading_the_marker_keeps_its_access_time(tmp_path: Path) -> None:
    env = make_env(tmp_path, "p-0000000000000001", tmp_path / "p")
    marker = env / depot.MARKER
    os.utime(marker, (1_000_000, 1_000_000))  # an old file, as a purge would see it
    assert depot.read_marker(env) == depot.Marker(tmp_path / "p", "", depot.NO_MODULE)
    assert marker.stat().st_atime == 1_000_000


@pytest.fixture
def wrapper(tmp_path: Path, build_prefix: BuildPrefix) -> Path:
    return wrapper_path(build_prefix(uv=str(make_standin(tmp_path / "fake"))))


def first_call(wrapper: Path, project: Path, depot_dir: Path, key: str = "") -> Path:
    """One `uv sync` through the real wrapper (in front of a stand-in uv), then the environment
    uv would have made at the path the wrapper chose: no back-pointer yet."""
    env = {"PATH": "/usr/bin:/bin", "UVMOD_VENV_DEPOT": str(depot_dir), "UVMOD_ARCH": "generic"}
    if key:
        env |= {"UVMOD_CACHE_KEY": key, "UVMOD_KEY_SOURCE": "hook"}
    seen = run_wrapper(wrapper, ["sync"], cwd=project, env=env)
    made = Path(seen.env["UV_PROJECT_ENVIRONMENT"])
    return make_env(depot_dir, made.name, None)


def _project(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "pyproject.toml").write_text("")
    return path


def _states(capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[str, str | None, str | None]]:
    assert main(["venv", "list", "--json"]) == 0
    return {
        Path(e["path"]).name: (e["state"], e["project"], e["project_from"])
        for e in json.loads(capsys.readouterr().out)["environments"]
    }


def test_an_environment_knows_its_project_from_the_first_call(
    tmp_path: Path, depot_dir: Path, wrapper: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path / "work" / "thesis")
    keyed = _project(tmp_path / "work" / "mpi app")
    env = first_call(wrapper, project, depot_dir)
    keyed_env = first_call(wrapper, keyed, depot_dir, key="mpich/4.1.2")
    assert not (env / depot.MARKER).exists()
    assert _states(capsys) == {
        env.name: ("ok", str(project), "index"),
        keyed_env.name: ("ok", str(keyed), "index"),
    }
    assert depot.read_index(depot_dir)[0].key in ("", "mpich/4.1.2")
    # The back-pointer, once written (second call), is what counts; both say the same.
    depot.write_marker(env, project, "")
    assert _states(capsys)[env.name] == ("ok", str(project), "marker")


def test_an_index_entry_counts_only_for_the_name_it_was_computed_for(
    tmp_path: Path, depot_dir: Path, wrapper: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    present = _project(tmp_path / "work" / "present")
    env = first_call(wrapper, present, depot_dir)
    # Someone points the index of a deleted project at this environment: gc must not take it.
    forged = depot_dir / depot.INDEX / depot.node_dir(node()) / f"k-{tmp_path}/work/deleted"
    forged /= depot.INDEX_NAME
    forged.parent.mkdir(parents=True)
    forged.write_text(env.name + "\n")
    assert [i.project for i in depot.read_index(depot_dir)] == [present]
    assert main(["venv", "gc", "--yes"]) == 0
    assert env.is_dir()
    assert forged.is_file()  # not an entry of ours: left alone


def test_gc_collects_orphans_whatever_their_marking(
    tmp_path: Path, depot_dir: Path, wrapper: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = _project(tmp_path / "work" / "kept")
    new = _project(tmp_path / "work" / "new")  # one call: no back-pointer yet
    purged = _project(tmp_path / "work" / "purged")  # the back-pointer went to the purge
    marked = _project(tmp_path / "work" / "marked")
    envs = {p.name: first_call(wrapper, p, depot_dir) for p in (kept, new, purged, marked)}
    (envs["purged"] / depot.LAST_USED).touch()
    depot.write_marker(envs["marked"], marked, "")
    stranger = make_env(depot_dir, "made-by-hand-0000000000000001", None)  # nobody's
    for project in (new, purged, marked):
        (project / "pyproject.toml").unlink()
        project.rmdir()
    assert _states(capsys)[envs["purged"].name] == ("damaged", str(purged), "index")

    assert main(["venv", "gc"]) == 0
    dry = capsys.readouterr().out
    for name in ("new", "purged", "marked"):
        assert f"would remove {envs[name]} (project {tmp_path}/work/{name} is gone)" in dry
    assert f"would remove 3 index entries of deleted projects in {depot_dir}/.uvmod-index" in dry
    files = sum(1 for name in ("new", "purged", "marked") for p in envs[name].rglob("*"))
    files -= 3 * 4  # directories: bin, lib, lib/python3.11, site-packages
    assert dry.endswith(
        f"3 environments ({files} files), 3 index entries, 0 old configurations to remove; "
        "run `uvmod venv gc --yes` to remove them\n"
    )
    assert main(["venv", "gc", "--yes"]) == 0
    assert sorted(p.name for p in depot_dir.iterdir() if not p.name.startswith(".")) == sorted(
        [envs["kept"].name, stranger.name]
    )
    assert [i.project for i in depot.read_index(depot_dir)] == [kept]
    # The index of the deleted projects is gone down to the directories they left empty.
    assert not (
        depot_dir / depot.INDEX / depot.node_dir(node()) / f"k-{tmp_path}/work/new"
    ).exists()
    capsys.readouterr()
    assert main(["venv", "gc"]) == 0
    assert capsys.readouterr().out == f"nothing to remove in {depot_dir}\n"


def test_piped_list_is_never_wrapped_and_json_is_stable(
    tmp_path: Path, depot_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path / ("a-rather-long-directory-name-" * 4) / "project")
    env = make_env(depot_dir, "project-0123456789abcdef", project, key="cuda/12.2,mpich/4.1.2")
    os.environ["COLUMNS"] = "40"  # not a terminal: even a narrow $COLUMNS does not wrap it
    assert main(["venv", "list"]) == 0  # capsys: not a terminal
    rows = [line for line in capsys.readouterr().out.splitlines() if env.name in line]
    assert len(rows) == 1
    assert str(project) in rows[0] and "cuda/12.2,mpich/4.1.2" in rows[0]
    assert main(["venv", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["depot", "environments"]
    (entry,) = data["environments"]
    assert list(entry) == [
        "path",
        "project",
        "project_state",
        "key",
        "size",
        "files",
        "missing_files",
        "last_used",
        "state",
        "project_from",
        "project_reason",
        "owner",
        "arch",
        "machine",
        "project_exists",
    ]
