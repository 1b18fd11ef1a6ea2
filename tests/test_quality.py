"""The repository's own checks: linters, type checker, shipped data files, static bodies."""

from __future__ import annotations

import re
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


def test_static_sh_bodies_are_shellcheck_clean() -> None:
    """Every file of sh/ on its own, as POSIX sh; what one file reads of another is named by a
    directive where it is read (the generated scripts are checked whole in
    tests/test_wrapper_phases.py and tests/test_kernelspec.py)."""
    shellcheck = tools.program("shellcheck")
    paths = sorted((REPO / "sh").glob("*.sh"))
    assert len(paths) >= 7
    result = subprocess.run(
        [shellcheck, "-s", "sh", *map(str, paths)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout


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


def _code_lines(path: Path) -> list[str]:
    """The lines of a body that are code, with their comments cut off."""
    comment = "--" if path.suffix == ".lua" else "#"
    lines = []
    for line in path.read_text().splitlines():
        if line.lstrip().startswith(comment):
            continue
        lines.append(line.split(f" {comment} ")[0])
    return lines


def test_shared_names_are_not_retyped_in_the_bodies() -> None:
    """The names and limits the Python side shares with the sh, Lua and Tcl bodies reach them
    through the build (assignments, the data table): no body spells one in its code
    (docs/design.md#one-home-for-each-rule)."""
    from uvmod import cachekey, depot, moduledesc
    from uvmod.config import CacheKeySection

    shared = [
        *(depot.DEPOT_TAG, depot.MARKER, depot.LAST_USED, depot.TRASH, depot.CONFIG),
        *(depot.SETUPTOOLS, depot.INDEX, depot.INDEX_NAME, depot.MARKER_HEADER),
        *(depot.KEY_PUNCTUATION, "?" * depot.HASH_CHARS, depot.WORKSPACE_ERE),
        *(moduledesc.ARCH_VARIABLE, moduledesc.DEPOT_VARIABLE, moduledesc.HOME_VARIABLE),
        *(moduledesc.KEY_SOURCE_VARIABLE, moduledesc.DRY_RUN_VARIABLE),
        *(moduledesc.CPUINFO_VARIABLE, CacheKeySection().variable),
        *(cachekey.LMOD_FAMILY_PREFIX, cachekey.MODULES_FAMILY_PREFIX),
    ]
    bodies = [p for d in ("sh", "lua", "tcl") for p in sorted((REPO / d).iterdir())]
    assert len(bodies) >= 12
    # A whole word: UVMOD_ARCH_VARIABLE, the assignment naming UVMOD_ARCH, is no retyping.
    patterns = [re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w])") for name in shared]
    found = [
        (str(path.relative_to(REPO)), pattern.pattern)
        for path in bodies
        for line in _code_lines(path)
        for pattern in patterns
        if pattern.search(line)
    ]
    assert found == []
