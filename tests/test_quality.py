"""The repository's own checks: linters, type checker, shipped data files, static bodies."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import tools

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check"],
        ["ruff", "format", "--check"],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_linters_are_clean(command: list[str]) -> None:
    tool = Path(sys.executable).parent / command[0]
    tools.need(tool.is_file(), f"{command[0]} is not installed (pip install -e '.[test]')")
    result = subprocess.run(
        [str(tool), *command[1:]], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_static_lua_bodies_parse() -> None:
    luac = tools.program("luac")
    for path in sorted((REPO / "lua").glob("*.lua")):
        subprocess.run([luac, "-p", str(path)], check=True)


def test_static_sh_bodies_parse() -> None:
    for path in sorted((REPO / "sh").glob("*.sh")):
        subprocess.run(["sh", "-n", str(path)], check=True)


def test_wheel_ships_the_static_bodies(tmp_path: Path) -> None:
    import shutil

    # Build from a copy: an in-place build would leave build/ and *.egg-info in the checkout.
    source = tmp_path / "src"
    shutil.copytree(
        REPO,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", ".*cache"),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("uvmod-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    bodies = [*(REPO / "lua").glob("*.lua"), *(REPO / "sh").glob("*.sh")]
    for path in [*bodies, *(REPO / "tcl").glob("*.tcl")]:
        assert f"uvmod/{path.parent.name}/{path.name}" in names
    assert "uvmod/default_site.toml" in names
