"""uv's tools under the module: `[paths] tools` and `tool_bin` (UV_TOOL_DIR, UV_TOOL_BIN_DIR),
tool_bin on PATH while loaded, uvx through the site policy, and nothing written to $HOME
beyond what the site configuration names (docs/design.md#tools). Real uv, real Lmod and
Environment Modules, a wheelhouse-only site: nothing reaches the network.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support import tools
from tests.support.modules import ModuleTool, base_env, run_lmod
from tests.support.standin import make_standin, run_wrapper
from tests.support.wheels import write_wheel

WHEELHOUSE_ONLY = (
    'pypi = false\n[wheelhouse.arch]\navx512 = ["generic"]\navx2 = ["generic"]\n'
    'generic = ["generic"]\n[python]\ndownloads = "never"\n'
)


def _wheelhouse(root: Path) -> Path:
    """A tool with a console script, alone in the site wheelhouse."""
    write_wheel(
        root / "generic",
        "tinytool",
        "1.0",
        {
            "tinytool.py": "def main():\n    print('tinytool ran')\n",
            "tinytool-1.0.dist-info/entry_points.txt": "[console_scripts]\n"
            "tinytool = tinytool:main\n",
        },
    )
    return root


def _snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every path below root with its kind and content size (directories: 0)."""
    seen: dict[str, tuple[str, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            stat = os.lstat(full)
            kind = "dir" if os.path.isdir(full) and not os.path.islink(full) else "file"
            seen[os.path.relpath(full, root)] = (kind, 0 if kind == "dir" else stat.st_size)
    return seen


TOOL_LINES = [
    "module load uv-hpc",
    'echo "PATH=$PATH"',
    f"uv tool install --offline --python {sys.executable} tinytool 2> install.err",
    "command -v tinytool",
    "tinytool",
    f"uvx --offline --python {sys.executable} tinytool",
    "uv tool list",
    "module unload uv-hpc",
    'echo "PATH=$PATH"',
]


def test_tools_go_where_the_site_says_and_nothing_else_into_home(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    wheelhouse = _wheelhouse(tmp_path / "wheelhouse")
    prefix = build_prefix(
        "[paths]\n"
        'cache = "${SCRATCH}/uv"\nvenv_depot = "${SCRATCH}/uv-venvs"\n'
        'tools = "${WORK}/uv/tools"\ntool_bin = "${WORK}/bin"\n'
        f'[wheelhouse]\nroot = "{wheelhouse}"\n' + WHEELHOUSE_ONLY
    )
    work = tmp_path / "work"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = base_env(
        tmp_path, {"SCRATCH": str(tmp_path / "scratch"), "WORK": str(work), "RSNT_ARCH": "generic"}
    )
    home = Path(env["HOME"])
    before = _snapshot(home)
    result = module_tool.run(
        TOOL_LINES, env, modulepath=[prefix / "modulefiles"], cwd=cwd, timeout=300
    )
    lines = result.stdout.splitlines()

    path_loaded = lines[0].removeprefix("PATH=").split(":")
    bin_dir = f"{prefix}/uv-hpc/1.0/bin"
    assert path_loaded[:2] == [bin_dir, f"{work}/bin"]  # the wrapper first, then the tools
    assert lines[1] == f"{work}/bin/tinytool"
    assert lines[2:4] == ["tinytool ran", "tinytool ran"]  # installed, then through uvx
    assert lines[4].startswith("tinytool v1.0")
    assert lines[-1] == f"PATH={base_env(tmp_path)['PATH']}"  # unload restores PATH
    install_err = (cwd / "install.err").read_text()
    assert "not on your PATH" not in install_err
    assert "Installed 1 executable: tinytool" in install_err
    assert (work / "uv" / "tools" / "tinytool" / "pyvenv.cfg").is_file()
    assert _snapshot(home) == before  # not one file more in $HOME
    assert os.listdir(tmp_path / "scratch" / "uv")  # uvx's environment is in the site cache


@pytest.fixture
def other_filesystem() -> Iterator[Path]:
    """A directory on another filesystem than tmp_path (tmpfs /dev/shm), removed afterwards."""
    shm = Path("/dev/shm")
    tools.need(
        shm.is_dir() and os.stat(shm).st_dev != os.stat(tempfile.gettempdir()).st_dev,
        "/dev/shm is not a separate filesystem here",
    )
    path = Path(tempfile.mkdtemp(prefix="uvmod-test-", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_default_tools_are_uvs_own_and_copied_without_a_warning(
    tmp_path: Path, build_prefix: BuildPrefix, other_filesystem: Path
) -> None:
    """The embedded default: tools in uv's own places under $HOME, the cache on $SCRATCH
    (another filesystem): uv copies, and says nothing about it."""
    wheelhouse = _wheelhouse(tmp_path / "wheelhouse")
    prefix = build_prefix(f'[wheelhouse]\nroot = "{wheelhouse}"\n' + WHEELHOUSE_ONLY)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = base_env(tmp_path, {"SCRATCH": str(other_filesystem), "RSNT_ARCH": "generic"})
    home = Path(env["HOME"])
    before = _snapshot(home)
    result = run_lmod(TOOL_LINES, env, modulepath=[prefix / "modulefiles"], cwd=cwd, timeout=300)
    lines = result.stdout.splitlines()
    assert lines[0].removeprefix("PATH=").split(":")[:2] == [
        f"{prefix}/uv-hpc/1.0/bin",
        f"{home}/.local/bin",
    ]
    assert lines[1:4] == [f"{home}/.local/bin/tinytool", "tinytool ran", "tinytool ran"]
    install_err = (cwd / "install.err").read_text()
    assert "Failed to hardlink" not in install_err and "not on your PATH" not in install_err
    new = set(_snapshot(home)) - set(before)
    assert new and all(
        p.startswith((".local/share/uv/tools", ".local/bin"))
        or p in (".local", ".local/share", ".local/share/uv")
        for p in new
    ), sorted(new)
    module = home / ".local/share/uv/tools/tinytool/lib"
    (installed,) = module.glob("python*/site-packages/tinytool.py")
    assert installed.stat().st_nlink == 1  # a copy: the purge of the cache cannot touch it


def test_the_wrapper_copies_tools_only_across_filesystems(
    tmp_path: Path, build_prefix: BuildPrefix, other_filesystem: Path
) -> None:
    prefix = build_prefix(uv=str(make_standin(tmp_path / "fake")))
    wrapper = prefix / "uv-hpc" / "1.0" / "bin" / "uv"
    env = {
        "PATH": "/usr/bin:/bin",
        "UVMOD_VENV_DEPOT": str(tmp_path / "depot"),
        "UV_CACHE_DIR": str(tmp_path / "cache" / "uv"),  # neither exists yet
        "UV_TOOL_DIR": str(other_filesystem / "tools"),
    }
    same = {**env, "UV_TOOL_DIR": str(tmp_path / "tools")}

    def link_mode(argv: list[str], environ: dict[str, str]) -> str | None:
        seen = run_wrapper(wrapper, argv, cwd=tmp_path, env=environ)
        assert seen.returncode == 0 and seen.argv == argv, seen.stderr
        return seen.env.get("UV_LINK_MODE")

    assert link_mode(["tool", "install", "ruff"], env) == "copy"
    assert link_mode(["--offline", "tool", "--quiet", "upgrade", "--all"], env) == "copy"
    assert link_mode(["tool", "install", "ruff"], same) is None
    assert link_mode(["tool", "run", "ruff"], env) is None  # its environment is in the cache
    assert link_mode(["tool", "list"], env) is None
    assert link_mode(["tool", "install", "ruff"], {**env, "UV_LINK_MODE": "symlink"}) == "symlink"
