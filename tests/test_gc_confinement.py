"""`uvmod venv gc` removes only inside the depot, and only environments whose project is gone.

Each attack plants something in the depot (a symlink where uvmod's own directory was, a link
swapped in on the way to an entry, another user's environment) and checks that nothing outside
the depot and no live environment is removed, and that gc says what it left alone. The
unreachable-project cases use a real tmpfs, mounted and unmounted in the test.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_venv_commands import make_env
from uvmod import confined, depot, envscan
from uvmod.cli import main


@pytest.fixture
def depot_dir(tmp_path: Path) -> Path:
    path = tmp_path / "depot"
    path.mkdir()
    os.environ["UVMOD_VENV_DEPOT"] = str(path)
    return path


def _project(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "pyproject.toml").write_text("")
    return path


def _victim_files(tmp_path: Path) -> Path:
    """A directory of the victim's outside the depot, with a file and a subdirectory."""
    victim = tmp_path / "victim-data"
    (victim / "sub").mkdir(parents=True)
    (victim / "thesis.tex").write_text("years of work\n")
    (victim / "sub" / "data.h5").write_text("more\n")
    return victim


def _tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_a_trash_replaced_by_a_link_to_the_depot_removes_no_live_environment(
    tmp_path: Path, depot_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = make_env(depot_dir, "live-0000000000000001", _project(tmp_path / "work" / "live"))
    (depot_dir / depot.TRASH).symlink_to(".")
    assert main(["venv", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["environments"]
    assert [(Path(e["path"]).name, e["state"]) for e in listed] == [(live.name, "ok")]
    assert main(["venv", "gc", "--yes"]) == 0
    assert capsys.readouterr().out == f"nothing to remove in {depot_dir}\n"
    assert (live / "pyvenv.cfg").is_file()


def test_a_config_replaced_by_a_link_to_the_victims_directory_is_not_followed(
    tmp_path: Path, depot_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victim = _victim_files(tmp_path)
    before = _tree(victim)
    os.environ["UVMOD_HOME"] = str(tmp_path / "no-such-home")  # no loaded build: all old
    (depot_dir / depot.CONFIG).symlink_to(victim)
    main(["venv", "gc", "--yes"])
    assert _tree(victim) == before
    # One level down: an old build's directory replaced by a link.
    (depot_dir / depot.CONFIG).unlink()
    (depot_dir / depot.CONFIG).mkdir()
    (depot_dir / depot.CONFIG / "0123456789abcdef").symlink_to(victim)
    main(["venv", "gc", "--yes"])
    assert _tree(victim) == before
    capsys.readouterr()


def test_removal_refuses_a_link_swapped_in_on_the_way(tmp_path: Path) -> None:
    """What gc does between its scan and the removal: the scan saw real directories, then an
    entry on the way was replaced by a symlink to the victim's files."""
    top = tmp_path / "depot"
    (top / "env" / "lib").mkdir(parents=True)
    victim = _victim_files(tmp_path)
    before = _tree(victim)
    (top / depot.TRASH).symlink_to(top)  # a link to the depot itself: .uvmod-trash/env = env
    with pytest.raises(confined.Refused):
        confined.remove_tree(top, top / depot.TRASH / "env")
    assert (top / "env" / "lib").is_dir()
    (top / "planted").symlink_to(victim)
    for target in (top / "planted", top / "planted" / "sub"):
        with pytest.raises(confined.Refused):
            confined.remove_tree(top, target)
    with pytest.raises(confined.Refused):
        confined.remove_file(top, top / "planted" / "thesis.tex")
    for outside in (tmp_path / "victim-data", top / ".." / "victim-data" / "sub"):
        with pytest.raises(confined.Refused):
            confined.remove_tree(top, outside)
    assert _tree(victim) == before
    confined.remove_tree(top, top / "env")  # a real directory inside: removed
    assert not (top / "env").exists()


def test_an_index_entry_is_unlinked_itself_and_never_through_a_link(tmp_path: Path) -> None:
    top = tmp_path / "depot"
    victim = _victim_files(tmp_path)
    entry_dir = top / depot.INDEX / "k-" / "a" / "b"
    entry_dir.mkdir(parents=True)
    (entry_dir / depot.INDEX_NAME).symlink_to(victim / "thesis.tex")
    confined.remove_file(top, entry_dir / depot.INDEX_NAME, keep=top / depot.INDEX)
    assert (victim / "thesis.tex").read_text() == "years of work\n"
    assert not (top / depot.INDEX / "k-").exists()  # the emptied directories went too
    assert (top / depot.INDEX).is_dir()


def test_another_users_environment_is_listed_and_left_alone(
    tmp_path: Path, depot_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a directory to another user needs root (chown)")
    theirs = make_env(depot_dir, "theirs-0000000000000001", tmp_path / "gone" / "p")
    (tmp_path / "gone" / "other").mkdir(parents=True)  # their project would look gone
    for path in (theirs, *theirs.rglob("*")):
        os.lchown(path, 65534, 65534)
    assert main(["venv", "list", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["environments"]
    assert (entry["state"], entry["project"], entry["owner"]) == ("foreign", None, "nobody")
    assert main(["venv", "list"]) == 0
    assert "foreign (user nobody)" in capsys.readouterr().out
    # gc removes nothing in a depot holding another user's entry (uvmod/depot.py, check_depot).
    assert main(["venv", "gc", "--yes"]) == 1
    err = capsys.readouterr().err
    assert f"{depot_dir}/{theirs.name} is another user's" in err and "Traceback" not in err
    assert (theirs / "pyvenv.cfg").is_file()


# Reachability with a real filesystem mounted and unmounted ------------------------------------


def _mount(point: Path) -> None:
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "uvmod-test", str(point)],
        check=True,
        capture_output=True,
        timeout=30,
    )


def _umount(point: Path) -> None:
    subprocess.run(["umount", str(point)], check=True, capture_output=True, timeout=30)


@pytest.fixture
def mount_point(tmp_path: Path) -> Iterator[Path]:
    point = tmp_path / "mnt"
    point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    try:
        _mount(point)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"mount -t tmpfs is not permitted here: {exc}")
    try:
        yield point
    finally:
        while os.path.ismount(point):
            _umount(point)


def _states(capsys: pytest.CaptureFixture[str]) -> dict[str, tuple[str, str]]:
    assert main(["venv", "list", "--json"]) == 0
    return {
        Path(e["path"]).name: (e["project_state"], e["project_reason"])
        for e in json.loads(capsys.readouterr().out)["environments"]
    }


def test_gc_keeps_environments_of_projects_on_an_unmounted_filesystem(
    tmp_path: Path, depot_dir: Path, mount_point: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    top = make_env(depot_dir, "top-0000000000000001", _project(mount_point / "p"))
    deep = make_env(depot_dir, "deep-0000000000000002", _project(mount_point / "u" / "q"))
    assert {s for s, _ in _states(capsys).values()} == {"present"}

    _umount(mount_point)  # what a compute node without $WORK sees
    states = _states(capsys)
    assert states[top.name] == (
        "unreachable",
        f"{mount_point} holds no directory (a filesystem not mounted here?)",
    )
    assert states[deep.name][0] == "unreachable"
    assert main(["venv", "list"]) == 0
    listing = capsys.readouterr().out
    assert "Unreachable projects (kept by gc" in listing
    assert f"{top.name}: {mount_point} holds no directory" in listing
    assert main(["venv", "gc", "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"kept {top} (project {mount_point}/p is unreachable" in out
    assert top.is_dir() and deep.is_dir()

    (mount_point / "NOT-MOUNTED").write_text("ask your admin\n")  # a site's stub file
    assert {s for s, _ in _states(capsys).values()} == {"unreachable"}

    (mount_point / "NOT-MOUNTED").unlink()
    _mount(mount_point)  # mounted again, but empty: an automount that did not come up
    assert _states(capsys)[top.name] == (
        "unreachable",
        f"{mount_point} is a mount point with nothing below",
    )
    main(["venv", "gc", "--yes"])
    capsys.readouterr()
    assert top.is_dir() and deep.is_dir()

    (mount_point / "someone-else").mkdir()  # the filesystem is there; the projects are not
    states = _states(capsys)
    assert states[top.name] == ("gone", f"{mount_point} is here without it")
    assert states[deep.name] == ("gone", f"{mount_point} is here without it")
    assert main(["venv", "gc", "--yes"]) == 0
    capsys.readouterr()
    assert not top.exists() and not deep.exists()


def test_a_project_that_cannot_be_looked_at_is_unreachable(tmp_path: Path) -> None:
    assert envscan.reach(Path("/no-such-fs-uvmod/x/p")) == envscan.Reach(
        "unreachable", "no directory of /no-such-fs-uvmod/x/p exists below /"
    )
    stub = tmp_path / "stub"
    stub.write_text("")
    assert envscan.reach(stub / "p").state == "unreachable"
    (tmp_path / "work" / "other").mkdir(parents=True)
    assert envscan.reach(tmp_path / "work" / "p").state == "gone"
    assert envscan.reach(tmp_path / "work" / "a" / "b" / "p").state == "gone"
    _project(tmp_path / "work" / "here")
    assert envscan.reach(tmp_path / "work" / "here") == envscan.Reach("present")


def test_another_users_entry_in_the_trash_is_left_alone_with_one_line(
    tmp_path: Path, depot_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if os.geteuid() != 0:
        pytest.skip("giving a directory to another user needs root (chown)")
    theirs = make_env(depot_dir / depot.TRASH, "x-0000000000000001.77", None)
    for path in (theirs, *theirs.rglob("*")):
        os.lchown(path, 65534, 65534)
    assert main(["venv", "gc", "--yes"]) == 1
    out = capsys.readouterr().out
    assert f"left alone {theirs} (belongs to nobody" in out and "Traceback" not in out
    assert (theirs / "pyvenv.cfg").is_file()
