"""Run real Lmod and Environment Modules commands in a bash and read back the environment.

The suite runs its module-system tests against each tool of MODULE_TOOLS (Lmod 8.6.19 and
Environment Modules 5.2.0 from Debian 12, Lmod 8.7.60 and Environment Modules 5.5.0 from
Debian 13): a test takes the `module_tool`, `lmod_tool` or `em_tool` fixture
(tests/support/matrix.py) and runs its script with `tool.run(...)`. `run_lmod` and
`run_envmodules` without `tool=` use Debian 12's versions; they are for tests whose subject is
not the module tool (the doctor's checks, the wrapper with the real uv), where the environment
a load leaves is the same under every tool (tests/test_modulefile_load.py checks that).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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


TESTS = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ModuleTool:
    """One module tool of the matrix, and how to run a bash with its `module` command."""

    kind: Literal["lmod", "envmodules"]
    version: str

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.version}"

    @property
    def is_lmod(self) -> bool:
        return self.kind == "lmod"

    @property
    def standins(self) -> Path:
        """The stand-in MPI/CUDA modules in this tool's language (same names, same families)."""
        return TESTS / "data" / ("modulefiles" if self.is_lmod else "tcl-modulefiles")

    @property
    def modulefile_suffix(self) -> str:
        """The suffix of the uv-hpc file this tool loads from a prefix: `.lua` or none."""
        return ".lua" if self.is_lmod else ""

    def require(self) -> None:
        """Skip (fail in CI) unless this tool is installed."""
        if self.is_lmod:
            tools.lmod_init(self.version)
        else:
            tools.modulecmd_tcl(self.version)

    def prelude(self) -> list[str]:
        """Bash lines that define `module` (and `ml`) for this tool."""
        if self.is_lmod:
            return [f"source {tools.lmod_init(self.version)}"]
        # The functions Environment Modules' own bash init defines (`modulecmd.tcl bash
        # autoinit`), minus its extras: modulecmd prints shell code ending in `test 0;` or
        # `test 0 = 1;`, so the eval's status is the command's. Run from a `dpkg -x` tree,
        # modulecmd.tcl needs nothing else: libtclenvmodules.so is only looked up at its
        # installed path (/usr/lib/x86_64-linux-gnu) and pure-Tcl fallbacks replace it, and
        # /etc/environment-modules/{siteconfig.tcl,rc} are read only when present (they are not
        # on a machine with the lmod package).
        modulecmd = tools.modulecmd_tcl(self.version)
        tclsh = tools.program("tclsh")
        return [
            f'module() {{ eval "$({tclsh} {modulecmd} bash "$@")"; }}',
            'ml() { module ml "$@"; }',
        ]

    def run(
        self,
        script: Sequence[str] | str,
        env: Mapping[str, str],
        *,
        modulepath: Sequence[Path | str] = (),
        package_path: Path | str | None = None,
        cwd: Path | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> ShellResult:
        """Run `script` (bash lines) with this tool's `module`; return the final environment.

        `env` is the whole environment, so no LMOD_* or MODULES_* setting of the caller leaks
        in; tests that want one (MODULES_AUTO_HANDLING=0) pass it. `package_path` is Lmod's
        LMOD_PACKAGE_PATH (where SitePackage.lua is), which Environment Modules has no use for.
        """
        full_env = dict(env)
        if modulepath:
            full_env["MODULEPATH"] = ":".join(str(p) for p in modulepath)
        if package_path is not None:
            if not self.is_lmod:
                raise ValueError(f"{self.id} has no SitePackage.lua (package_path={package_path})")
            full_env["LMOD_PACKAGE_PATH"] = str(package_path)
        text = script if isinstance(script, str) else "\n".join(script)
        return _run_bash(self.prelude(), text, full_env, cwd, check, timeout)


LMOD_8_6 = ModuleTool("lmod", "8.6.19")
LMOD_8_7 = ModuleTool("lmod", "8.7.60")
EM_5_2 = ModuleTool("envmodules", "5.2.0")
EM_5_5 = ModuleTool("envmodules", "5.5.0")
LMODS = (LMOD_8_6, LMOD_8_7)
ENVIRONMENT_MODULES = (EM_5_2, EM_5_5)
MODULE_TOOLS = (*LMODS, *ENVIRONMENT_MODULES)


def run_lmod(
    script: Sequence[str] | str,
    env: Mapping[str, str],
    *,
    modulepath: Sequence[Path | str] = (),
    package_path: Path | str | None = None,
    cwd: Path | None = None,
    check: bool = True,
    timeout: float = 120,
    tool: ModuleTool = LMOD_8_6,
) -> ShellResult:
    """Run `script` (bash lines) after sourcing Lmod's bash init; return the final environment."""
    assert tool.is_lmod, tool
    return tool.run(
        script,
        env,
        modulepath=modulepath,
        package_path=package_path,
        cwd=cwd,
        check=check,
        timeout=timeout,
    )


def run_envmodules(
    script: Sequence[str] | str,
    env: Mapping[str, str],
    *,
    modulepath: Sequence[Path | str] = (),
    cwd: Path | None = None,
    check: bool = True,
    timeout: float = 120,
    tool: ModuleTool = EM_5_2,
) -> ShellResult:
    """Run `script` with a `module` function backed by Environment Modules' modulecmd.tcl."""
    assert not tool.is_lmod, tool
    return tool.run(script, env, modulepath=modulepath, cwd=cwd, check=check, timeout=timeout)


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


def unwrapped(text: str) -> str:
    """`text` with every run of whitespace as one space: Lmod wraps its messages at the
    terminal width, so a message is compared on its words."""
    return " ".join(text.split())
