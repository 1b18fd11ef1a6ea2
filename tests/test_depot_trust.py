"""One rule for trusting a depot, in the wrapper (sh/uv-rare.sh, _uvmod_check_depot) and in
Python (uvmod/depot.py, check_depot): one table of owners and modes, run through both as a
real second user, under dash and bash. Each case is a fresh directory tree made as root and
given to its owners; both sides must refuse the same cases with the same line."""

from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.unixusers import TwoUsers, UnixUser
from tests.test_wrapper_phases import phases
from uvmod import depot


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path, TwoUsers], Path]  # makes the tree under a case root; the depot path
    refused: bool


def _dir(path: Path, owner: UnixUser | None, mode: int) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    if owner is not None:
        os.chown(path, owner.uid, owner.gid)
    path.chmod(mode)
    return path


def _file(path: Path, owner: UnixUser, mode: int) -> Path:
    path.write_text("x\n")
    os.chown(path, owner.uid, owner.gid)
    path.chmod(mode)
    return path


def _plain(
    parent_owner: str | None, parent_mode: int, depot_owner: str, depot_mode: int
) -> Callable[[Path, TwoUsers], Path]:
    def build(root: Path, u: TwoUsers) -> Path:
        users = {"victim": u.victim, "attacker": u.attacker, "root": None}
        parent = _dir(root / "parent", users[parent_owner or "root"], parent_mode)
        return _dir(parent / "depot", users[depot_owner], depot_mode)

    return build


def _with(inner: Callable[[Path, TwoUsers], None]) -> Callable[[Path, TwoUsers], Path]:
    """A victim's 0700 depot in a victim's 0755 parent, then `inner` adds to it."""

    def build(root: Path, u: TwoUsers) -> Path:
        d = _plain("victim", 0o755, "victim", 0o700)(root, u)
        inner(d, u)
        return d

    return build


def _symlinked(target_owner: str) -> Callable[[Path, TwoUsers], Path]:
    def build(root: Path, u: TwoUsers) -> Path:
        owner = u.victim if target_owner == "victim" else u.attacker
        target = _dir(root / "real" / "depot", owner, 0o700)
        _dir(root / "real", None, 0o755)
        parent = _dir(root / "parent", u.victim, 0o755)
        (parent / "depot").symlink_to(target)
        os.chown(parent / "depot", u.victim.uid, u.victim.gid, follow_symlinks=False)
        return parent / "depot"

    return build


def _missing(root: Path, u: TwoUsers) -> Path:
    return _dir(root / "parent", u.victim, 0o700) / "not-yet"


ENV = "proj-0123456789abcdef"


def _foreign_environment(d: Path, u: TwoUsers) -> None:
    _dir(d / ENV, u.attacker, 0o755)


def _group_writable_environment(d: Path, u: TwoUsers) -> None:
    _dir(d / ENV, u.victim, 0o775)


def _group_writable_inside_an_environment(d: Path, u: TwoUsers) -> None:
    _dir(_dir(d / ENV, u.victim, 0o755) / "bin", u.victim, 0o775)


def _group_writable_index_entry(d: Path, u: TwoUsers) -> None:
    index = _dir(d / depot.INDEX, u.victim, 0o700)
    node = _dir(index / depot.node_dir(depot.NO_MODULE), u.victim, 0o700)
    key = _dir(node / "k-", u.victim, 0o700)
    _file(key / depot.INDEX_NAME, u.victim, 0o664)


def _foreign_uv_toml(d: Path, u: TwoUsers) -> None:
    config = _dir(d / depot.CONFIG / "b" / "generic" / "k-x" / "uv", u.victim, 0o700)
    _file(config / "uv.toml", u.attacker, 0o644)


def _link(link: Path, target: Path, owner: UnixUser) -> None:
    link.symlink_to(target)
    os.chown(link, owner.uid, owner.gid, follow_symlinks=False)


def _foreign_symlink_as_config(d: Path, u: TwoUsers) -> None:
    _link(d / depot.CONFIG, u.victim.home, u.attacker)


def _own_symlink_in_index(d: Path, u: TwoUsers) -> None:
    _link(_dir(d / depot.INDEX, u.victim, 0o700) / "link", Path("/nonexistent"), u.victim)


def _world_writable_trash_content(d: Path, u: TwoUsers) -> None:
    _dir(_dir(d / depot.TRASH, u.victim, 0o700) / ENV, u.victim, 0o777)


CASES = [
    Case("own-0700", _plain("victim", 0o755, "victim", 0o700), False),
    Case("own-0755", _plain("victim", 0o755, "victim", 0o755), False),
    Case("own-group-writable", _plain("victim", 0o755, "victim", 0o775), True),
    Case("own-world-writable", _plain("victim", 0o755, "victim", 0o757), True),
    Case("another-users", _plain("victim", 0o755, "attacker", 0o755), True),
    Case("under-attackers-777", _plain("attacker", 0o777, "victim", 0o700), True),
    Case("under-attackers-755", _plain("attacker", 0o755, "victim", 0o700), True),
    Case("under-root-sticky", _plain(None, 0o1777, "victim", 0o700), False),
    Case("under-root-777-not-sticky", _plain(None, 0o777, "victim", 0o700), True),
    Case("under-own-group-writable", _plain("victim", 0o775, "victim", 0o700), True),
    Case("under-own-sticky-1777", _plain("victim", 0o1777, "victim", 0o700), False),
    Case("symlink-to-own", _symlinked("victim"), False),
    Case("symlink-to-another-users", _symlinked("attacker"), True),
    Case("missing", _missing, False),
    Case("foreign-environment", _with(_foreign_environment), True),
    Case("group-writable-environment", _with(_group_writable_environment), True),
    # uv's files, behind the depot's 0700, are looked at only through their environment.
    Case(
        "group-writable-inside-an-environment", _with(_group_writable_inside_an_environment), False
    ),
    Case("group-writable-index-entry", _with(_group_writable_index_entry), True),
    Case("foreign-uv-toml", _with(_foreign_uv_toml), True),
    Case("foreign-symlink-as-config", _with(_foreign_symlink_as_config), True),
    # A symlink's mode means nothing; its owner does.
    Case("own-symlink-in-index", _with(_own_symlink_in_index), False),
    # The trash is looked at, not into.
    Case("world-writable-trash-content", _with(_world_writable_trash_content), False),
]


def _python_verdict(path: Path, user: UnixUser) -> str:
    try:
        depot.check_depot(path, uid=user.uid)
    except depot.UntrustedDepot as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize("shell", ["dash", "bash"])
def test_wrapper_and_python_trust_the_same_depots(two_users: TwoUsers, shell: str) -> None:
    base = Path(tempfile.mkdtemp(prefix="trust-", dir=two_users.base))
    base.chmod(0o755)
    paths = []
    for case in CASES:
        root = _dir(base / case.name, None, 0o755)
        paths.append(case.build(root, two_users))
    expected = [_python_verdict(p, two_users.victim) for p in paths]
    script = base / "check.sh"
    script.write_text(
        phases()
        + "_uvmod_dry=1 UVMOD_MODULE=uv-hpc\n"
        + 'for d do _uvmod_depot=$d; printf "%s\\036" "$(_uvmod_check_depot 2>&1)"; done\n'
    )
    script.chmod(0o644)
    args = " ".join(shlex.quote(str(p)) for p in paths)
    result = two_users.run_as(two_users.victim, f"{shell} {script} {args}", timeout=60)
    assert result.returncode == 0, result.output
    got = [line.removeprefix("uv-hpc: ") for line in result.stdout.split("\036")[:-1]]
    for case, want, have in zip(CASES, expected, got, strict=True):
        assert (want != "") == case.refused, (case.name, want)
        assert have == want, case.name
    # Nothing was made: both sides only looked (the wrapper's dry run, and Python always).
    assert not any((p / depot.CHECKED).exists() for p in paths)


def test_python_reads_only_regular_files_of_the_user_s(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.write_bytes(b"name\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opened for reading without a writer: would block without O_NONBLOCK
    zero = tmp_path / "zero"
    zero.symlink_to("/dev/zero")
    link = tmp_path / "link"
    link.symlink_to(own)
    foreign = tmp_path / "foreign"
    foreign.write_bytes(b"name\n")
    os.chown(foreign, 65534, 65534)
    assert depot.read_own_file(own) == b"name\n"
    for path in (fifo, zero, link, foreign, tmp_path / "missing", tmp_path):
        assert depot.read_own_file(path) is None, path


def test_python_marker_write_replaces_a_planted_link(tmp_path: Path) -> None:
    env = tmp_path / "env"
    env.mkdir()
    victim_file = tmp_path / "precious"
    victim_file.write_text("mine\n")
    (env / depot.MARKER).symlink_to(victim_file)
    for pid in range(os.getpid() - 5, os.getpid() + 5):  # the old predictable names
        (env / f"{depot.MARKER}.{pid}").symlink_to(victim_file)
    depot.write_marker(env, Path("/w/p"), "k")
    assert victim_file.read_text() == "mine\n"
    assert not (env / depot.MARKER).is_symlink()
    assert (env / depot.MARKER).stat().st_mode & 0o777 == 0o600
    assert depot.read_marker(env) == depot.Marker(Path("/w/p"), "k", depot.NO_MODULE)
