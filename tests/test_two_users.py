"""Two real users on one machine (tests/support/unixusers.py): what another user can plant in
shared scratch and group spaces is refused by the victim's uv wrapper, or the victim gets a
private environment instead (docs/reliability.md#the-wrappers-part).

Every attack is made as the attacker where the attacker can make it; where the fix now keeps
the attacker out (the depot is 0700), the attempt is checked to fail, and then the same files
are planted by root, as if written before, to show that the wrapper does not use them either.
Each test proves that nothing ran as the victim (the trojans write a canary file named after
the user running them), that no file of the victim's outside their depots changed, and every
step runs under a timeout (a FIFO must fail a test, not hang the suite)."""

from __future__ import annotations

import hashlib
import os
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.nodes import node
from tests.support.projects import PYPROJECT
from tests.support.unixusers import RunResult, TwoUsers, UnixUser
from uvmod import depot

KEY = "mpich/4.1.2"
STEP = 120  # seconds: the longest any one step may take


def test_the_users_are_real_and_load_the_module(two_users: TwoUsers) -> None:
    scratch = two_users.scratch_root("smoke")
    result = two_users.run_as(
        two_users.victim,
        "module load uv-hpc && id -un && command -v uv && uv --version && uvmod --help >/dev/null",
        scratch=scratch,
        check=True,
    )
    lines = result.stdout.splitlines()
    assert lines[0] == two_users.victim.name
    assert lines[1].startswith(str(two_users.prefix))


@dataclass
class Arena:
    """One test's shared scratch, the victim's projects and precious files, and the canary."""

    users: TwoUsers
    scratch: Path
    canary: Path  # 1777: a trojan that ran writes ran-as-<user> here
    work: Path  # the victim's projects

    @property
    def victim(self) -> UnixUser:
        return self.users.victim

    @property
    def attacker(self) -> UnixUser:
        return self.users.attacker

    def depot(self, user: UnixUser | None = None) -> Path:
        return self.scratch / (user or self.victim).name / "uv-venvs"

    def project(self, name: str, *deps: str, parent: Path | None = None, extra: str = "") -> Path:
        path = (parent or self.work) / name
        path.mkdir(parents=True, exist_ok=True)
        quoted = ", ".join(f'"{d}"' for d in deps)
        (path / "pyproject.toml").write_text(PYPROJECT.format(name=name, deps=quoted) + extra)
        for item in (path, path / "pyproject.toml"):
            os.chown(item, self.victim.uid, self.victim.gid)
        return path

    def env_of(self, project: Path, key: str = "", user: UnixUser | None = None) -> Path:
        return self.depot(user) / depot.env_name(os.path.realpath(project), key, node())

    def trojan(self, env: Path) -> None:
        """A venv whose python writes the canary, then runs the real one (so uv takes it)."""
        (env / "bin").mkdir(parents=True, exist_ok=True)
        (env / "pyvenv.cfg").write_text(
            f"home = {self.users.python.parent}\nversion_info = 3.11\n"
            "include-system-site-packages = false\n"
        )
        python = env / "bin" / "python"
        python.write_text(
            f'#!/bin/sh\necho "$0" > {self.canary}/ran-as-$(id -un)\n'
            f'exec {self.users.python} "$@"\n'
        )
        python.chmod(0o777)

    def as_user(
        self, user: UnixUser, script: str, *, modules: str = "uv-hpc", umask: str = "022"
    ) -> RunResult:
        return self.users.run_as(
            user,
            f"module load {modules} || exit 99\n{script}",
            timeout=STEP,
            scratch=self.scratch,
            umask=umask,
        )

    def uv(self, project: Path, *commands: str, modules: str = "uv-hpc", **kw: str) -> RunResult:
        lines = [f"cd {shlex.quote(str(project))}", *commands]
        return self.as_user(self.victim, "\n".join(lines), modules=modules, **kw)

    def ran_as_victim(self) -> list[str]:
        return sorted(p.name for p in self.canary.iterdir())


def _snapshot(home: Path) -> dict[str, tuple[int, str]]:
    """Every file of the victim's home outside their projects: mode and content hash."""
    found: dict[str, tuple[int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(home):
        dirnames[:] = [d for d in dirnames if d not in ("work", ".cache")]
        for name in filenames:
            path = Path(dirpath, name)
            info = path.lstat()
            digest = "" if path.is_symlink() else hashlib.sha256(path.read_bytes()).hexdigest()
            found[str(path)] = (info.st_mode, digest)
    return found


@pytest.fixture
def arena(two_users: TwoUsers, request: pytest.FixtureRequest) -> Iterator[Arena]:
    scratch = two_users.scratch_root(request.node.name[:20].replace("[", "-"))
    canary = scratch / "canary"
    canary.mkdir()
    canary.chmod(0o1777)
    work = two_users.victim.home / "work" / scratch.name
    work.mkdir(parents=True)
    for item in (work.parent, work):
        os.chown(item, two_users.victim.uid, two_users.victim.gid)
    precious = two_users.victim.home / "precious.txt"
    precious.write_text("the victim's own file\n")
    os.chown(precious, two_users.victim.uid, two_users.victim.gid)
    before = _snapshot(two_users.victim.home)
    result = Arena(two_users, scratch, canary, work)
    yield result
    assert result.ran_as_victim() == [], "a planted program ran"
    assert _snapshot(two_users.victim.home) == before, "a file of the victim's changed"


def _refused(result: RunResult, *words: str) -> None:
    assert result.returncode == 2, result.output
    line = [x for x in result.stderr.splitlines() if "refusing" in x]
    assert len(line) == 1, result.stderr
    for word in words:
        assert word in line[0], (word, line[0])


PRINT_PREFIX = "uv run python -c 'import sys; print(sys.prefix)'"


def test_a_pre_created_environment_with_a_trojan_python_is_refused(arena: Arena) -> None:
    proj = arena.project("demo", "tinyone")
    env = arena.env_of(proj)  # a name anyone can compute from the project's path
    attack = arena.as_user(
        arena.attacker,
        f"mkdir -m 777 {arena.scratch}/{arena.victim.name} && mkdir -p {env} && chmod -R 777 "
        f"{arena.depot()}",
    )
    assert attack.returncode == 0, attack.output
    arena.trojan(env)
    for path in (env, env / "bin", env / "pyvenv.cfg", env / "bin" / "python"):
        arena.users.chown(path, arena.attacker)
    result = arena.uv(proj, "uv sync")
    _refused(result, str(arena.depot()), "belongs to another user", "Fix:")
    # `uvmod venv path` asks the wrapper, which refuses the same way.
    answer = arena.uv(proj, "uvmod venv path")
    assert answer.returncode != 0 and "refusing to use the environment depot" in answer.stderr


def test_a_scratch_directory_pre_created_777_is_refused(arena: Arena) -> None:
    proj = arena.project("demo", "tinyone")
    mine = arena.scratch / arena.victim.name
    attack = arena.as_user(arena.attacker, f"mkdir -m 777 {mine}")
    assert attack.returncode == 0, attack.output
    result = arena.uv(proj, "uv sync")
    _refused(result, f"the directory {mine} above it belongs to another user")
    assert not (mine / "uv-venvs" / depot.CHECKED).exists()


def test_an_edited_per_key_uv_toml_in_a_shared_depot_is_refused(arena: Arena) -> None:
    shared = arena.scratch / "shared"
    env = {"SCRATCH": str(shared)}
    theirs = arena.scratch / "theirs"
    attacker_script = (
        f"mkdir -p {theirs} && cd {theirs} && printf '{PYPROJECT.format(name='t', deps='')}' "
        "> pyproject.toml && uv sync -q && chmod -R a+rwX $UVMOD_VENV_DEPOT && "
        f"find $UVMOD_VENV_DEPOT/{depot.CONFIG} -name uv.toml"
    )
    attack = arena.users.run_as(
        arena.attacker,
        f"module load mpich/4.1.2 uv-hpc || exit 99\n{attacker_script}",
        timeout=STEP,
        env=env,
    )
    assert attack.returncode == 0, attack.output
    uv_toml = Path(attack.stdout.split()[-1])
    uv_toml.write_text(uv_toml.read_text() + f'\nfind-links = ["{arena.scratch}/evil"]\n')
    proj = arena.project("demo", "tinyone")
    result = arena.users.run_as(
        arena.victim,
        f"module load mpich/4.1.2 uv-hpc\ncd {proj}\nuv sync",
        timeout=STEP,
        env=env,
    )
    _refused(result, f"{shared}/uv-venvs", "belongs to another user")


def _modes(top: Path) -> dict[str, int]:
    return {
        str(p.relative_to(top)): p.lstat().st_mode & 0o7777
        for p in [top, *top.rglob("*")]
        if not p.is_symlink()
    }


def test_a_umask_002_user_in_a_sticky_group_space_gets_private_files(arena: Arena) -> None:
    group = arena.scratch / "group"
    group.mkdir()
    os.chown(group, 0, _gid(arena.users.group))
    group.chmod(0o3770)  # setgid and sticky, as project spaces are made
    env = {"SCRATCH": str(group / arena.victim.name)}
    proj = arena.project("demo", "tinyone")
    result = arena.users.run_as(
        arena.victim,
        f"module load mpich/4.1.2 uv-hpc\ncd {proj}\nuv sync -q\n{PRINT_PREFIX} && {PRINT_PREFIX}",
        timeout=STEP,
        env=env,
        umask="002",
    )
    assert result.returncode == 0, result.output
    mine = group / arena.victim.name
    depot_path = mine / "uv-venvs"
    venv = depot_path / depot.env_name(os.path.realpath(proj), KEY, node())
    assert result.stdout.splitlines()[-1] == str(venv)
    # What uvmod made is private: the scratch directory it made, the depot, its own files.
    assert mine.stat().st_mode & 0o777 == 0o700
    assert depot_path.stat().st_mode & 0o777 == 0o700
    ours = {}
    for top in (depot.INDEX, depot.CONFIG, depot.SETUPTOOLS, depot.CHECKED):
        ours.update({f"{top}/{k}": v for k, v in _modes(depot_path / top).items()})
    for name in (depot.MARKER, depot.LAST_USED):
        ours[name] = (venv / name).stat().st_mode & 0o7777
    assert len(ours) > 10
    assert {k: v for k, v in ours.items() if v & 0o077} == {}
    # The attacker, a member of the group, can neither read nor plant anything there.
    uv_toml = next((depot_path / depot.CONFIG).rglob("uv.toml"))
    attack = arena.as_user(
        arena.attacker,
        f"ls {depot_path}; echo 'find-links = [\"/x\"]' >> {uv_toml}; "
        f"ln -s {arena.victim.home}/precious.txt {venv}/{depot.LAST_USED}.new; "
        f"mkdir {depot_path}/evil-0123456789abcdef; echo exit=$?",
    )
    assert attack.stdout.strip().endswith("exit=1"), attack.output
    assert attack.stderr.count("Permission denied") == 4, attack.stderr


def test_a_umask_002_user_in_a_group_space_without_sticky_bit_is_refused(arena: Arena) -> None:
    group = arena.scratch / "group"
    group.mkdir()
    os.chown(group, 0, _gid(arena.users.group))
    group.chmod(0o2770)  # any member could rename the victim's directory away
    env = {"SCRATCH": str(group / arena.victim.name)}
    proj = arena.project("demo", "tinyone")
    result = arena.users.run_as(
        arena.victim, f"module load uv-hpc\ncd {proj}\nuv sync", timeout=STEP, env=env, umask="002"
    )
    _refused(result, f"the directory {group} above it is writable by other users (mode 2770)")


def _gid(group: str) -> int:
    import grp

    return grp.getgrnam(group).gr_gid


def _working(arena: Arena, key: bool = False) -> tuple[Path, Path]:
    """A victim's project with a marked environment (two calls), and that environment."""
    proj = arena.project("demo", "tinyone")
    modules = "mpich/4.1.2 uv-hpc" if key else "uv-hpc"
    result = arena.uv(proj, "uv sync -q", PRINT_PREFIX, modules=modules)
    assert result.returncode == 0, result.output
    env = arena.env_of(proj, KEY if key else "")
    assert result.stdout.splitlines()[-1] == str(env)
    assert (env / depot.MARKER).is_file()
    return proj, env


def test_symlinks_planted_at_last_used_and_at_temporary_names_are_not_followed(
    arena: Arena,
) -> None:
    proj, env = _working(arena, key=True)
    precious = arena.victim.home / "precious.txt"
    # The attacker cannot reach the depot...
    attack = arena.as_user(arena.attacker, f"ln -s {precious} {env}/x")
    assert "Permission denied" in attack.stderr, attack.output
    # ...so root plants what an older depot open to them could hold: a link at the last-use
    # marker, and one at every name `<file>.$$` could take (pid_max is 32768 here).
    used = env / depot.LAST_USED
    used.unlink()
    used.symlink_to(precious)
    arena.users.chown(used, arena.attacker)
    uv_toml = next((arena.depot() / depot.CONFIG).rglob("uv.toml"))
    uv_toml.unlink()
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    for pid in range(1, min(pid_max, 32768) + 1):
        link = uv_toml.parent / f"uv.toml.{pid}"
        link.symlink_to(precious)
    result = arena.uv(proj, PRINT_PREFIX, modules="mpich/4.1.2 uv-hpc")
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines()[-1] == str(env)
    assert used.is_symlink()  # left alone, not written through
    assert not uv_toml.is_symlink() and "[extra-build-variables]" in uv_toml.read_text()
    assert uv_toml.stat().st_mode & 0o777 == 0o600
    assert precious.read_text() == "the victim's own file\n"


def test_a_foreign_name_in_the_index_entry_is_not_used(arena: Arena) -> None:
    proj, env = _working(arena)
    entry = depot.index_entry(arena.depot(), os.path.realpath(proj), "", node())
    attack = arena.as_user(arena.attacker, f"echo evil-0123456789abcdef > {entry}")
    assert "Permission denied" in attack.stderr, attack.output
    # Planted by root: the attacker's environment in the depot, their file as the entry.
    evil = arena.depot() / "evil-0123456789abcdef"
    arena.trojan(evil)
    for path in (evil, evil / "bin", evil / "bin" / "python", evil / "pyvenv.cfg"):
        arena.users.chown(path, arena.attacker)
    entry.write_text(evil.name + "\n")
    arena.users.chown(entry, arena.attacker)
    result = arena.uv(proj, PRINT_PREFIX, "uvmod venv path")
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines()[-2:] == [str(env), str(env)]
    # The entry is the victim's own again, naming their environment.
    assert entry.lstat().st_uid == arena.victim.uid and entry.read_text() == env.name + "\n"
    # Even an entry of the victim's naming it: that environment is not theirs, so refused.
    entry.write_text(evil.name + "\n")
    arena.users.chown(entry, arena.victim)
    _refused(arena.uv(proj, PRINT_PREFIX), f"refusing to use the environment {evil}")


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_fifo_or_dev_zero_as_the_index_entry_does_not_hang(arena: Arena, kind: str) -> None:
    proj, env = _working(arena)
    entry = depot.index_entry(arena.depot(), os.path.realpath(proj), "", node())
    entry.unlink()
    if kind == "fifo":
        os.mkfifo(entry)
    else:
        entry.symlink_to("/dev/zero")
    arena.users.chown(entry, arena.attacker)
    result = arena.uv(proj, PRINT_PREFIX, "uvmod venv path", "uvmod venv list --json >/dev/null")
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines()[-2:] == [str(env), str(env)]


def test_another_users_workspace_in_a_shared_parent_does_not_join_the_victims_projects(
    arena: Arena,
) -> None:
    shared = arena.scratch / "projects"
    shared.mkdir()
    shared.chmod(0o1777)
    attack = arena.as_user(
        arena.attacker,
        f'printf \'[project]\\nname = "ws"\\nversion = "0"\\n[tool.uv.workspace]\\n'
        f'members = ["*"]\\n\' > {shared}/pyproject.toml',
    )
    assert attack.returncode == 0, attack.output
    one = arena.project("one", "tinyone", parent=shared)
    two = arena.project("two", "tinytwo", parent=shared)
    foreign = f"{shared}/pyproject.toml belongs to another user"
    _refused(arena.uv(one, "uv sync"), foreign, "[tool.uv.workspace]")
    # The Python twin refuses the same way (no wrapper behind `venv path` without a module).
    twin = arena.users.run_as(
        arena.victim, f"cd {one} && {arena.users.uvmod} venv path", timeout=STEP
    )
    assert twin.returncode != 0 and foreign in twin.stderr, twin.output
    assert not (shared / "uv.lock").exists()
    # The fix the message gives: each project its own workspace; then two private environments.
    for proj in (one, two):
        text = (proj / "pyproject.toml").read_text()
        (proj / "pyproject.toml").write_text(text + "\n[tool.uv.workspace]\n")
    check = (
        "uv run python -c 'import sys, importlib.util as u;"
        ' print(sys.prefix, u.find_spec("tinyone") is not None)\''
    )
    first = arena.uv(one, "uv sync -q", check)
    second = arena.uv(two, "uv sync -q", check)
    again = arena.uv(one, check)
    for result in (first, second, again):
        assert result.returncode == 0, result.output
    assert first.stdout.split() == [str(arena.env_of(one)), "True"]
    assert second.stdout.split() == [str(arena.env_of(two)), "False"]
    assert again.stdout.split() == [str(arena.env_of(one)), "True"]
    assert not (shared / "uv.lock").exists()
