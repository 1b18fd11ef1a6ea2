"""`uvmod venv gc` and `venv list` against a second real user (tests/support/unixusers.py).

The attacker plants what the depot's modes let them plant; the victim then runs `uvmod venv
list` and `uvmod venv gc --yes` in a clean Lmod login with uv-hpc loaded. Nothing of the
victim's may change (their files outside the depot, their live environment), nothing of the
attacker's is removed, and every answer is a line, not a traceback. Each step is bounded by a
timeout."""

from __future__ import annotations

import shlex
from pathlib import Path

from tests.support.unixusers import TwoUsers, UnixUser
from uvmod import depot

ENV = "live-0123456789abcdef"


def _snapshot(top: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every entry below `top`: mode, owner and contents (a file's bytes, a link's target)."""
    found = {}
    for path in sorted([top, *top.rglob("*")]):
        info = path.lstat()
        if path.is_symlink():
            data = str(path.readlink()).encode()
        elif path.is_file():
            data = path.read_bytes()
        else:
            data = b""
        found[str(path.relative_to(top))] = (info.st_mode, info.st_uid, data)
    return found


def _victim_script(depot_dir: Path) -> str:
    return "\n".join(
        [
            "module load uv-hpc",
            f"export UVMOD_VENV_DEPOT={shlex.quote(str(depot_dir))}",
            "uvmod venv list; echo list-rc=$?",
            "uvmod venv gc --yes; echo gc-rc=$?",
        ]
    )


def _make_env(u: TwoUsers, user: UnixUser, env: Path, project: Path, scratch: Path) -> None:
    """An environment as the wrapper leaves it (pyvenv.cfg, bin/python, the back-pointer),
    made by `user`."""
    # The header, then the key, the arch and the machine (empty here), then the project.
    marker = f"{depot.MARKER_HEADER}\\n\\n\\n\\n{project}\\n"
    script = (
        f"mkdir -p {shlex.quote(str(env))}/bin && cd {shlex.quote(str(env))} && "
        f"echo 'home = /usr/bin' > pyvenv.cfg && ln -s {u.python} bin/python && "
        f"printf '{marker}' > {depot.MARKER} && touch {depot.LAST_USED}"
    )
    u.run_as(user, script, timeout=30, scratch=scratch, check=True)


def test_another_users_environment_in_a_shared_depot_is_reported(two_users: TwoUsers) -> None:
    u = two_users
    scratch = u.scratch_root("gc-shared")
    shared = scratch / "shared-depot"  # a depot both users were told to use, mode 1777
    shared.mkdir()
    shared.chmod(0o1777)
    theirs = shared / "theirs-0000000000000001"
    # The attacker's project is gone (its parent is there, holding another directory).
    u.run_as(u.attacker, "mkdir -p ~/work/other", timeout=30, check=True)
    _make_env(u, u.attacker, theirs, u.attacker.home / "work" / "gone", scratch)
    before = _snapshot(shared)

    result = u.run_as(u.victim, _victim_script(shared), timeout=60, scratch=scratch)
    assert "Traceback" not in result.output, result.output
    assert "list-rc=0" in result.stdout and "gc-rc=1" in result.stdout, result.output
    assert f"foreign (user {u.attacker.name})" in result.stdout, result.output
    # Listed, with a warning, and nothing remembered in a depot others can write.
    assert f"uvmod: warning: refusing to use the environment depot {shared}" in result.stderr
    assert not (shared / ".uvmod-scan").exists()
    assert f"refusing to use the environment depot {shared}" in result.stderr, result.output
    assert _snapshot(shared) == before


def test_links_and_a_rewritten_back_pointer_in_a_group_depot_remove_nothing(
    two_users: TwoUsers,
) -> None:
    """A group space with `umask 002`: the attacker, in the victim's group, replaces
    .uvmod-config by a link to the victim's thesis, .uvmod-trash by a link to the depot, and
    rewrites the back-pointer of the victim's live environment to name a deleted project."""
    u = two_users
    scratch = u.scratch_root("gc-group")
    depot_dir = scratch / u.victim.name / "uv-venvs"
    thesis = u.victim.home / "thesis"
    setup = "\n".join(
        [
            f"mkdir -p {thesis}/figures ~/work/live ~/work/other",
            f"echo 'years of work' > {thesis}/thesis.tex",
            "echo '[project]' > ~/work/live/pyproject.toml",
            f"mkdir -p {depot_dir} && chgrp {u.group} {depot_dir} && chmod 2775 {depot_dir}",
        ]
    )
    u.run_as(u.victim, setup, timeout=30, scratch=scratch, umask="002", check=True)
    _make_env(u, u.victim, depot_dir / ENV, u.victim.home / "work" / "live", scratch)
    u.run_as(u.victim, f"chmod -R g+w {depot_dir}", timeout=30, check=True)
    victims = {"thesis": _snapshot(thesis), "env": _snapshot(depot_dir / ENV)}

    marker = f"{depot.MARKER_HEADER}\\n\\n{u.victim.home}/work/gone\\n"
    plant = "\n".join(
        [
            f"cd {depot_dir}",
            f"ln -s {thesis} {depot.CONFIG}",
            f"ln -s . {depot.TRASH}",
            f"printf '{marker}' > {ENV}/{depot.MARKER}",
        ]
    )
    u.run_as(u.attacker, plant, timeout=30, check=True)
    victims["env"] = _snapshot(depot_dir / ENV)  # the rewritten marker is the attack itself

    result = u.run_as(u.victim, _victim_script(depot_dir), timeout=60, scratch=scratch)
    assert "Traceback" not in result.output, result.output
    assert "gc-rc=1" in result.stdout, result.output
    assert f"refusing to use the environment depot {depot_dir}" in result.stderr, result.output
    assert _snapshot(thesis) == victims["thesis"]
    assert _snapshot(depot_dir / ENV) == victims["env"]

    # The victim fixes the modes as told; the attacker's links are still there and theirs.
    fix = f"chmod go-w {depot_dir.parent} && chmod -R go-w {depot_dir}"
    u.run_as(u.victim, fix, timeout=30, check=True)
    result = u.run_as(u.victim, _victim_script(depot_dir), timeout=60, scratch=scratch)
    assert "Traceback" not in result.output and "gc-rc=1" in result.stdout, result.output
    assert "is another user's" in result.stderr, result.output
    assert _snapshot(thesis) == victims["thesis"]
    assert (depot_dir / ENV / "pyvenv.cfg").is_file()


def test_a_victims_own_depot_with_a_trash_link_keeps_every_live_environment(
    two_users: TwoUsers,
) -> None:
    """The victim's private depot, where a `.uvmod-trash` link to `.` is the victim's own (an
    earlier attack, or a mistake): gc, run as the victim, walks no link and removes no live
    environment, while it still removes what is really orphaned."""
    u = two_users
    scratch = u.scratch_root("gc-own")
    depot_dir = scratch / u.victim.name / "uv-venvs"
    setup = "\n".join(
        [
            f"mkdir -p {depot_dir} ~/work/live ~/work/other && chmod 700 {depot_dir}",
            "echo '[project]' > ~/work/live/pyproject.toml",
        ]
    )
    u.run_as(u.victim, setup, timeout=30, scratch=scratch, check=True)
    _make_env(u, u.victim, depot_dir / ENV, u.victim.home / "work" / "live", scratch)
    orphan = depot_dir / "gone-0000000000000002"
    _make_env(u, u.victim, orphan, u.victim.home / "work" / "gone", scratch)
    u.run_as(u.victim, f"ln -s . {depot_dir}/{depot.TRASH}", timeout=30, check=True)
    live = _snapshot(depot_dir / ENV)

    result = u.run_as(u.victim, _victim_script(depot_dir), timeout=60, scratch=scratch)
    assert "Traceback" not in result.output and "gc-rc=0" in result.stdout, result.output
    assert f"removed {orphan} (project {u.victim.home}/work/gone is gone)" in result.stdout
    assert _snapshot(depot_dir / ENV) == live
    assert not orphan.exists()
