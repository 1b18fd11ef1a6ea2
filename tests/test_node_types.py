"""One project used on two node types of a heterogeneous cluster, with the real uv and both
module tools (docs/design.md#node-types, docs/design.md#one-lock-several-node-types).

The wheelhouse is laid out like the Alliance's: the same file name
`numpy-1.24.2+computecanada-<this Python>.whl` in gentoo2020/avx512, gentoo2020/avx2 and generic,
each build's module saying which directory it came from. Runs alternate avx512, avx2, avx512,
avx2 (RSNT_ARCH, as a job on that partition would detect): each must load its own build, in an
environment of its own, and going back rebuilds nothing; for `pypi = false` and for
`pypi = true` (PyPI a local stand-in offering a newer numpy, which must not win).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support.modules import ModuleTool, base_env
from tests.support.wheels import cpython_tag, tiny_wheel, write_wheel

DIRS = ("gentoo2020/avx512", "gentoo2020/avx2", "generic")
NUMPY = "1.24.2+computecanada"
SEQUENCE = ("avx512", "avx2", "avx512", "avx2")


def _wheelhouse(root: Path) -> Path:
    for directory in DIRS:
        files = {"numpy/__init__.py": f"ORIGIN = {directory!r}\n"}
        write_wheel(root / directory, "numpy", NUMPY, files, tag=cpython_tag())
    return root


def _pypi_stand_in(root: Path) -> str:
    """A PEP 503 index on disk with a newer numpy than the site's."""
    wheel = tiny_wheel(root / "files", "numpy", "1.26.4", compiled=True)
    page = root / "simple" / "numpy" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text(f'<html><body><a href="{wheel.as_uri()}">{wheel.name}</a></body></html>')
    return (root / "simple").as_uri()


def _site(wheelhouse: Path, pypi: bool) -> str:
    return f"""
[wheelhouse]
root = "{wheelhouse}"
pypi = {str(pypi).lower()}
[wheelhouse.arch]
avx512 = ["gentoo2020/avx512", "generic"]
avx2 = ["gentoo2020/avx2", "generic"]
generic = ["generic"]
[python]
downloads = "never"
"""


def _project(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "0"\nrequires-python = ">=3.10"\n'
        'dependencies = ["numpy"]\n'
    )
    return path


def _on(arch: str) -> list[str]:
    """The module as a job on a node of that type has it: detected there, not inherited."""
    return [
        "module unload uv-hpc 2>/dev/null || true",
        f"export RSNT_ARCH={arch}",
        "module load uv-hpc",
    ]


SHOW = "uv run python -c 'import numpy, sys; print(numpy.ORIGIN); print(sys.prefix)'"


@pytest.mark.parametrize("pypi", [False, True], ids=["pypi-false", "pypi-true"])
def test_each_node_type_loads_its_own_build_and_going_back_rebuilds_nothing(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool, pypi: bool
) -> None:
    prefix = build_prefix(_site(_wheelhouse(tmp_path / "wheelhouse"), pypi))
    proj = _project(tmp_path / "work" / "demo")
    out = tmp_path / "out"
    out.mkdir()
    extra = {"SCRATCH": str(tmp_path / "scratch"), "UV_PYTHON": sys.executable}
    if pypi:
        extra["UV_DEFAULT_INDEX"] = _pypi_stand_in(tmp_path / "pypi")
    lines = [f"cd {shlex.quote(str(proj))}"]
    for i, arch in enumerate(SEQUENCE):
        lines += _on(arch)
        lines += [f"{SHOW} >{out}/{i}.out 2>{out}/{i}.err", f"cp uv.lock {out}/{i}.lock"]
    # The lock is the last node type's (avx2) now: --locked holds there, not on avx512.
    lines += [f"uv sync --locked >{out}/same.out 2>&1; echo $? >{out}/same.rc"]
    lines += _on("avx512")
    lines += [f"uv sync --locked >{out}/other.out 2>&1; echo $? >{out}/other.rc"]
    module_tool.run(
        lines, base_env(tmp_path, extra), modulepath=[prefix / "modulefiles"], timeout=300
    )

    prefixes = []
    for i, arch in enumerate(SEQUENCE):
        err = (out / f"{i}.err").read_text()
        origin, env_prefix = (out / f"{i}.out").read_text().split()
        assert origin == f"gentoo2020/{arch}", (arch, err)
        prefixes.append(env_prefix)
        # uv.lock names this node type's directory: uv locked again for it.
        lock = (out / f"{i}.lock").read_text()
        assert f'registry = "{tmp_path}/wheelhouse/gentoo2020/{arch}"' in lock
        assert "1.26.4" not in lock
        if i < 2:
            assert "Installed 1 package" in err, err
        else:  # back on a node type: its environment is there and complete
            assert "Installed" not in err and "Uninstalled" not in err, err
        notice = "uv.lock was locked with the wheels of avx512 nodes; on this avx2 node"
        assert (notice in err) == (i == 1), err
    assert prefixes[0] == prefixes[2] and prefixes[1] == prefixes[3]
    assert prefixes[0] != prefixes[1]
    assert (out / "same.rc").read_text().strip() == "0", (out / "same.out").read_text()
    assert (out / "other.rc").read_text().strip() != "0"
    assert "needs to be updated, but `--locked` was provided" in (out / "other.out").read_text()


def test_two_node_types_at_once_never_fail_nor_touch_each_others_environment(
    tmp_path: Path, build_prefix: BuildPrefix, lmod_tool: ModuleTool
) -> None:
    """Two shells, an avx512 and an avx2 one, run `uv run` in a loop in one project at the same
    time (two jobs of one project on two partitions). Each re-locks uv.lock for its own node
    type (docs/design.md#one-lock-several-node-types) and uses its own environment."""
    prefix = build_prefix(_site(_wheelhouse(tmp_path / "wheelhouse"), False))
    proj = _project(tmp_path / "work" / "demo")
    out = tmp_path / "out"
    out.mkdir()
    rounds = 6
    loop = (
        f"for i in $(seq {rounds}); do {SHOW} >>{out}/$RSNT_ARCH.out 2>>{out}/$RSNT_ARCH.err"
        f" || echo failed >>{out}/$RSNT_ARCH.out; done"
    )
    lines = [f"cd {shlex.quote(str(proj))}"]
    for arch in ("avx512", "avx2"):
        lines += [f"( export RSNT_ARCH={arch}; module load uv-hpc; {loop} ) &"]
    lines += ["wait"]
    env = base_env(tmp_path, {"SCRATCH": str(tmp_path / "scratch"), "UV_PYTHON": sys.executable})
    lmod_tool.run(lines, env, modulepath=[prefix / "modulefiles"], timeout=300)
    prefixes = {}
    for arch in ("avx512", "avx2"):
        seen = (out / f"{arch}.out").read_text().split()
        err = (out / f"{arch}.err").read_text()
        assert "failed" not in seen, err
        assert seen[0::2] == [f"gentoo2020/{arch}"] * rounds, err
        assert len(set(seen[1::2])) == 1
        prefixes[arch] = seen[1]
        # Installed once, in its own environment: the other type's runs never changed it.
        assert err.count("Installed 1 package") == 1, err
    assert prefixes["avx512"] != prefixes["avx2"]
