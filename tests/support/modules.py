"""Run real Lmod (and Environment Modules) commands in a bash and read back the environment."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support import tools

# Variables the module tools keep for themselves; "restored exactly" ignores them.
BOOKKEEPING_PREFIXES = ("_ModuleTable", "__LMOD_REF_COUNT_", "__MODULES_", "_LMFILES_")
BOOKKEEPING = {"LOADEDMODULES", "_LMFILES_", "LMOD_SHELL_PRGM", "MODULES_CMD", "_", "SHLVL"}


@dataclass
class ShellResult:
    returncode: int
    stdout: str
    stderr: str
    environ: dict[str, str]


def _read_env(path: Path) -> dict[str, str]:
    data = path.read_bytes()
    env: dict[str, str] = {}
    for entry in data.split(b"\0"):
        if b"=" in entry:
            key, _, value = entry.partition(b"=")
            env[key.decode()] = value.decode("utf-8", "surrogateescape")
    return env


def base_env(tmp_path: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A small, clean environment: no inherited module state, HOME inside tmp_path."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        "HOME": str(home),
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LMOD_IGNORE_CACHE": "1",
        "LMOD_REDIRECT": "no",
        "TERM": "dumb",
    }
    if extra:
        env.update(extra)
    return env


def run_lmod(
    script: Sequence[str] | str,
    env: Mapping[str, str],
    *,
    modulepath: Sequence[Path | str] = (),
    package_path: Path | str | None = None,
    cwd: Path | None = None,
    check: bool = True,
    timeout: float = 120,
) -> ShellResult:
    """Run `script` (bash lines) after sourcing Lmod's bash init; return the final environment."""
    init = tools.lmod_init()
    lines = [f"source {init}"]
    full_env = dict(env)
    if modulepath:
        full_env["MODULEPATH"] = ":".join(str(p) for p in modulepath)
    if package_path is not None:
        full_env["LMOD_PACKAGE_PATH"] = str(package_path)
    text = script if isinstance(script, str) else "\n".join(script)
    return _run_bash(lines, text, full_env, cwd, check, timeout)


def run_envmodules(
    script: Sequence[str] | str,
    env: Mapping[str, str],
    *,
    modulepath: Sequence[Path | str] = (),
    cwd: Path | None = None,
    check: bool = True,
    timeout: float = 120,
) -> ShellResult:
    """Run `script` with a `module` function backed by Environment Modules' modulecmd.tcl.

    The function is the one EM's own bash init defines, minus its extras: modulecmd prints shell
    code ending in `test 0;` or `test 0 = 1;`, so the eval's status is the command's. Run from a
    `dpkg -x` tree, modulecmd.tcl needs nothing else: libtclenvmodules.so is only looked up at
    its installed path (/usr/lib/x86_64-linux-gnu) and pure-Tcl fallbacks replace it, and
    /etc/environment-modules/{siteconfig.tcl,rc} are read only when present (they are not on a
    machine with the lmod package). `env` is the whole environment, so no MODULES_* setting of
    the caller leaks in; tests that want one (MODULES_AUTO_HANDLING=0) pass it.
    """
    modulecmd = tools.modulecmd_tcl()
    tclsh = tools.program("tclsh")
    lines = [
        f'module() {{ eval "$({tclsh} {modulecmd} bash "$@")"; }}',
    ]
    full_env = dict(env)
    if modulepath:
        full_env["MODULEPATH"] = ":".join(str(p) for p in modulepath)
    text = script if isinstance(script, str) else "\n".join(script)
    return _run_bash(lines, text, full_env, cwd, check, timeout)


def _run_bash(
    prelude: list[str],
    script: str,
    env: dict[str, str],
    cwd: Path | None,
    check: bool,
    timeout: float,
) -> ShellResult:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        env_file = Path(tmp) / "env"
        body = "\n".join(prelude) + "\n" + script + f"\n__rc=$?\nenv -0 > {env_file}\nexit $__rc\n"
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", body],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        environ = _read_env(env_file) if env_file.exists() else {}
    result = ShellResult(proc.returncode, proc.stdout, proc.stderr, environ)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"shell script failed ({proc.returncode}):\n{script}\n--- stdout\n{proc.stdout}"
            f"\n--- stderr\n{proc.stderr}"
        )
    return result


def user_visible(env: Mapping[str, str]) -> dict[str, str]:
    """The environment without the module tools' own bookkeeping."""
    return {
        k: v
        for k, v in env.items()
        if k not in BOOKKEEPING and not k.startswith(BOOKKEEPING_PREFIXES)
    }


def os_environ_copy() -> dict[str, str]:
    return dict(os.environ)
