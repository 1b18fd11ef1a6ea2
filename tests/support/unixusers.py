"""Two real Unix users on one machine, for what another user on a shared filesystem can do.

`two_users` (a session fixture) creates, as root:
- two users, `victim` and `attacker` (useradd, with a home each), who share one extra group,
  the way members of one project share a group space;
- a world-readable install area (root-owned, 0755) holding everything the users run: a copy of
  the real uv, a wheelhouse, the stand-in MPI/CUDA modules, a `uvmod` runnable by anyone and the
  uv-hpc module tree built for them. pytest's own directories (/tmp/pytest-of-root/...) are 0700,
  so the users could not read anything the tests keep there; nor a checkout under a private
  $HOME, which is where CI clones;
- `scratch_root(tag)`: a fresh root-owned sticky 1777 directory per test, like /scratch, in which
  each user's `$SCRATCH` is `<root>/<user>` (the site puts its depot and cache there).

`run_as(user, script, timeout)` runs `script` in a clean login bash of that user: `runuser` with
`env -i`, so nothing of root's environment leaks in, and `bash -l`, which reads /etc/profile and
so defines Lmod's `module` the way a cluster login does. Every call is bounded by its timeout:
the whole process group is killed when it runs out (a FIFO that blocks a read must fail the test,
not hang the suite).

Without root the fixture skips with the reason; it is not a tool that CI may lack.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support import tools
from tests.support.fakesdist import mpi_site_toml, write_fake_sdist
from tests.support.wheels import tiny_wheel

TESTS = Path(__file__).resolve().parent.parent
# The packages `uvmod` imports at run time (pyproject.toml's dependencies and theirs), copied
# into the install area so that the users can run it with the system Python.
UVMOD_IMPORTS = (
    "uvmod",
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "typing_extensions",
    "typing_inspection",
    "rich",
    "pygments",
    "markdown_it",
    "mdurl",
    "tomli_w",
    "packaging",
    "elftools",
)
SITE_EXTRA = """
[python]
downloads = "never"
[paths]
venv_depot = "${SCRATCH}/uv-venvs"
cache = "${SCRATCH}/uv-cache"
"""


@dataclass(frozen=True)
class UnixUser:
    name: str
    uid: int
    gid: int
    home: Path

    def owns(self, path: Path) -> bool:
        return path.lstat().st_uid == self.uid


@dataclass(frozen=True)
class RunResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class StepTimedOut(AssertionError):
    """A step of a two-user test ran past its timeout (and was killed)."""


@dataclass
class TwoUsers:
    victim: UnixUser
    attacker: UnixUser
    group: str  # both users are members
    base: Path  # root-owned 0755: everything below is the session's
    install: Path  # world-readable: uv, wheelhouse, modules, uvmod
    prefix: Path  # the uv-hpc tree (`<prefix>/modulefiles` is on MODULEPATH)
    uv: Path  # the real uv, copied into the install area
    uvmod: Path  # `uvmod` for the users (the system Python and a copy of uvmod's packages)
    python: Path  # the Python the users' environments get (UV_PYTHON)
    modulepath: tuple[Path, ...]
    _roots: list[Path] = field(default_factory=list)

    def scratch_root(self, tag: str) -> Path:
        """A new root-owned sticky 1777 directory, the shared scratch of one test."""
        root = Path(tempfile.mkdtemp(prefix=f"scratch-{tag}-", dir=self.base))
        root.chmod(0o1777)
        self._roots.append(root)
        return root

    def environ(self, user: UnixUser, scratch: Path | None = None) -> dict[str, str]:
        """The variables of a clean login, plus what the site's users set (SCRATCH, the arch,
        offline uv with the system Python)."""
        env = {
            "HOME": str(user.home),
            "USER": user.name,
            "LOGNAME": user.name,
            "SHELL": "/bin/bash",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            "LMOD_REDIRECT": "no",
            "RSNT_ARCH": "generic",
            "UV_OFFLINE": "1",
            "UV_PYTHON": str(self.python),
        }
        if scratch is not None:
            env["SCRATCH"] = str(scratch / user.name)
        return env

    def run_as(
        self,
        user: UnixUser,
        script: str,
        timeout: float = 60,
        *,
        scratch: Path | None = None,
        env: Mapping[str, str] | None = None,
        umask: str = "022",
        check: bool = False,
    ) -> RunResult:
        """Run `script` (bash) as `user` in a clean Lmod login shell, MODULEPATH set to the
        session's tree; `scratch` (from scratch_root) sets $SCRATCH to `<scratch>/<user>`.
        Raises StepTimedOut when it runs past `timeout` seconds (everything it started is
        killed), AssertionError for a non-zero exit when `check`."""
        variables = {**self.environ(user, scratch), **(env or {})}
        modulepath = ":".join(str(p) for p in self.modulepath)
        body = f"umask {umask}\nexport MODULEPATH={shlex.quote(modulepath)}\n{script}\n"
        argv = [
            "runuser",
            "-u",
            user.name,
            "--",
            "env",
            "-i",
            *(f"{k}={v}" for k, v in variables.items()),
            "bash",
            "-l",
            "-c",
            body,
        ]
        proc = subprocess.Popen(
            argv,
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise StepTimedOut(
                f"as {user.name}, still running after {timeout}s (killed):\n{script}\n"
                f"--- stdout\n{out}\n--- stderr\n{err}"
            ) from None
        result = RunResult(proc.returncode, out, err)
        if check and result.returncode != 0:
            raise AssertionError(
                f"as {user.name}, exit status {result.returncode}:\n{script}\n"
                f"--- stdout\n{out}\n--- stderr\n{err}"
            )
        return result

    def chown(self, path: Path, user: UnixUser) -> None:
        """Give `path` (not following a symlink) to `user`, as if they had made it."""
        os.chown(path, user.uid, user.gid, follow_symlinks=False)


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


def _make_user(name: str, group: str, homes: Path) -> UnixUser:
    home = homes / name
    _run("useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash",
         "--groups", group, name)  # fmt: skip
    entry = subprocess.run(["id", "-u", name], capture_output=True, text=True, check=True)
    uid = int(entry.stdout)
    gid = int(subprocess.run(["id", "-g", name], capture_output=True, text=True).stdout)
    return UnixUser(name, uid, gid, home)


def _system_python() -> Path:
    """A Python every user can run, of this Python's version (uvmod's compiled dependencies are
    copied from this one): the system's, since this one may live under root's private $HOME."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (
        Path("/usr/bin") / version,
        Path(os.path.realpath(getattr(sys, "_base_executable", sys.executable))),
    ):
        if candidate.is_file() and all(
            os.stat(parent).st_mode & 0o005 == 0o005 for parent in candidate.parents
        ):
            return candidate
    pytest.skip(f"no {version} that other users can run (/usr/bin/{version})")


def _copy_uvmod(site: Path, bin_dir: Path, python: Path) -> Path:
    """`uvmod` for anyone: uvmod and the packages it imports, copied next to a launcher."""
    for name in UVMOD_IMPORTS:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, name
        origin = Path(spec.origin)
        if origin.name == "__init__.py":
            shutil.copytree(origin.parent, site / name, ignore=shutil.ignore_patterns("*.pyc"))
        else:
            shutil.copy2(origin, site / origin.name)
    launcher = bin_dir / "uvmod"
    launcher.write_text(
        f"#!{python} -I\nimport sys\nsys.path.insert(0, {str(site)!r})\n"
        "from uvmod.cli import main\nsys.exit(main())\n"
    )
    launcher.chmod(0o755)
    return launcher


def _readable_by_all(top: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(top):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod(mode | (0o555 if mode & 0o111 else 0o444))


def _build_tree(install: Path, uv: Path, uvmod: Path, python: Path) -> Path:
    wheelhouse = install / "wheelhouse"
    tiny_wheel(wheelhouse / "generic", "tinyone", "1.0")
    tiny_wheel(wheelhouse / "generic", "tinytwo", "2.0")
    write_fake_sdist(wheelhouse / "generic")
    config = install / "site.toml"
    config.write_text(mpi_site_toml(wheelhouse, SITE_EXTRA))
    prefix = install / "prefix"
    argv = [str(uvmod), "build-modulefiles", "--config", str(config), "--prefix", str(prefix)]
    proc = subprocess.run(
        [*argv, "--uv", str(uv), "--uvmod", str(uvmod)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(install)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return prefix


@pytest.fixture(scope="session")
def two_users() -> Iterator[TwoUsers]:
    if os.geteuid() != 0:
        pytest.skip(
            "two real users need root (useradd, runuser): run the suite as root, as CI does"
        )
    for program in ("useradd", "userdel", "groupadd", "groupdel", "runuser"):
        tools.need(shutil.which(program) is not None, f"{program} is not installed")
    tag = f"{os.getpid() % 100000}"
    group = f"uvmodg{tag}"
    base = Path(tempfile.mkdtemp(prefix="uvmod-two-users-", dir="/tmp"))
    base.chmod(0o755)
    users: list[UnixUser] = []
    _run("groupadd", group)
    try:
        homes = base / "home"
        homes.mkdir(mode=0o755)
        victim = _make_user(f"uvmodv{tag}", group, homes)
        users.append(victim)
        attacker = _make_user(f"uvmoda{tag}", group, homes)
        users.append(attacker)
        install = base / "install"
        for sub in ("bin", "site", "standins"):
            (install / sub).mkdir(parents=True)
        uv = install / "bin" / "uv"
        shutil.copy2(tools.real_uv(), uv)
        python = _system_python()
        uvmod = _copy_uvmod(install / "site", install / "bin", python)
        shutil.copytree(TESTS / "data" / "modulefiles", install / "standins", dirs_exist_ok=True)
        prefix = _build_tree(install, uv, uvmod, python)
        _readable_by_all(install)
        yield TwoUsers(
            victim=victim,
            attacker=attacker,
            group=group,
            base=base,
            install=install,
            prefix=prefix,
            uv=uv,
            uvmod=uvmod,
            python=python,
            modulepath=(prefix / "modulefiles", install / "standins"),
        )
    finally:
        for user in users:
            subprocess.run(["userdel", "--force", "--remove", user.name], capture_output=True)
        subprocess.run(["groupdel", group], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
