"""A site.toml written from the admin guide, which has no [cache_key]: the documented defaults
key builds on the loaded MPI, in each Lmod (with the hook) and Environment Modules of the matrix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support.modules import ModuleTool, base_env

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
RECORD = 'echo "key=${UVMOD_CACHE_KEY-(unset)}"'


def admin_guide_site(tmp_path: Path) -> str:
    """The guide's "typical Alliance-style site", with its paths moved to this machine."""
    guide = (REPO / "docs" / "admin-guide.md").read_text()
    # The first full site.toml of the guide (the heterogeneous-cluster example comes later).
    (example,) = [
        block
        for block in re.findall(r"```toml\n(.*?)```", guide, re.DOTALL)
        if "[wheelhouse.arch]" in block and "[module]" in block
    ]
    assert "[cache_key]" not in example
    wheelhouse = tmp_path / "wheelhouse"
    for relative in re.findall(r'"((?:gentoo2020|gentoo|generic)[^"]*)"', example):
        (wheelhouse / relative).mkdir(parents=True, exist_ok=True)
    example = re.sub(r'(?m)^uv = ".*"$', "", example)
    example = re.sub(r'(?m)^root = ".*"$', f'root = "{wheelhouse}"', example)
    return re.sub(r"(?m)^constraints = .*$", "", example)


@pytest.fixture
def prefix(tmp_path: Path, build_prefix: BuildPrefix) -> Path:
    return build_prefix(admin_guide_site(tmp_path))


def test_lmod_with_the_hook(tmp_path: Path, prefix: Path, lmod_tool: ModuleTool) -> None:
    result = lmod_tool.run(
        ["module load mpich/4.1.2 uv-hpc", RECORD, "module swap mpich openmpi", RECORD],
        base_env(tmp_path, {"RSNT_ARCH": "avx2"}),
        modulepath=[prefix / "modulefiles", DATA / "modulefiles"],
        package_path=prefix / "lmod",
    )
    assert result.stdout.splitlines() == ["key=mpich/4.1.2", "key=openmpi/4.1.5"]
    assert result.environ["UVMOD_KEY_SOURCE"] == "hook"


def test_environment_modules(tmp_path: Path, prefix: Path, em_tool: ModuleTool) -> None:
    result = em_tool.run(
        ["module load mpich/4.1.2 uv-hpc", RECORD, "module switch mpich openmpi", RECORD],
        base_env(tmp_path, {"RSNT_ARCH": "avx2"}),
        modulepath=[prefix / "modulefiles", DATA / "tcl-modulefiles"],
    )
    assert result.stdout.splitlines() == ["key=mpich/4.1.2", "key=openmpi/4.1.5"]
