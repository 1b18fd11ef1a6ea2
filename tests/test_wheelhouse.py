"""The scenario of https://github.com/astral-sh/uv/issues/16216, end to end: real Lmod, real uv,
a wheelhouse built here.

The wheelhouse is laid out like the Alliance one: the avx2 chain is
gentoo2020/avx2 → gentoo/avx2 (absent, as on some clusters) → gentoo2020/generic → gentoo/generic
→ generic. setuptools 50.3.2+computecanada sits in gentoo/generic, *before* the directory holding
75.1.0+computecanada, which is what defeated the researcher in that report.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support.modules import ModuleTool, ShellResult, base_env, run_lmod
from tests.support.wheels import reversioned_copy, tiny_wheel

ARCH_CHAINS = """
[wheelhouse.arch]
avx512 = ["gentoo2020/avx512", "gentoo2020/generic", "generic"]
avx2 = ["gentoo2020/avx2", "gentoo/avx2", "gentoo2020/generic", "gentoo/generic", "generic"]
generic = ["gentoo2020/generic", "gentoo/generic", "generic"]
"""


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wheelhouse")
    for rel in ("gentoo2020/avx2", "gentoo2020/avx512", "gentoo2020/generic"):
        (root / rel).mkdir(parents=True)
    generic = root / "generic"
    reversioned_copy("setuptools", "75.1.0+computecanada", generic)
    reversioned_copy("wheel", "0.48.0+computecanada", generic)
    reversioned_copy("packaging", "26.2+computecanada", generic)
    reversioned_copy("pip", "23.2.1+computecanada", generic)
    reversioned_copy("setuptools", "50.3.2+computecanada", root / "gentoo/generic")
    tiny_wheel(root / "gentoo2020/avx2", "numpy", "1.24.2+computecanada", compiled=True)
    return root


@pytest.fixture(scope="module")
def seed_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pyproject.toml of uv#16216: dynamic dependencies read from a requirements file
    and a build-system.requires that must come from the wheelhouse too."""
    project = tmp_path_factory.mktemp("sources") / "epiclass"
    (project / "requirements").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        """\
[build-system]
requires = ["setuptools>=75,<81", "pip>=23", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "EpiClass"
dynamic = ["version", "dependencies"]
requires-python = ">=3.8"

[tool.setuptools]
py-modules = ["epiclass"]

[tool.setuptools.dynamic]
version = { file = "VERSION" }
dependencies = { file = "requirements/req_core.in" }
"""
    )
    (project / "VERSION").write_text("0.1.0\n")
    (project / "requirements/req_core.in").write_text("numpy>=1.22,<2.0\n")
    (project / "epiclass.py").write_text("VALUE = 1\n")
    return project


def _run(
    tool: ModuleTool, script: list[str], env: dict[str, str], prefix: Path, cwd: Path
) -> ShellResult:
    """The seed scenario must pass unchanged under every module tool (only the tool differs, so
    a different outcome is a difference in the rendering)."""
    result = tool.run(script, env, modulepath=[prefix / "modulefiles"], cwd=cwd)
    # Each tool loaded its own file from the same prefix: Lmod the .lua, EM the Tcl file.
    suffix = tool.modulefile_suffix
    assert result.environ["_LMFILES_"] == f"{prefix}/modulefiles/uv-hpc/1.0{suffix}"
    return result


def _site(wheelhouse: Path, pypi: bool) -> str:
    return f'[wheelhouse]\nroot = "{wheelhouse}"\npypi = {str(pypi).lower()}\n' + ARCH_CHAINS


def test_seed_project_installs_offline_from_the_wheelhouse(
    tmp_path: Path,
    build_prefix: BuildPrefix,
    wheelhouse: Path,
    seed_project: Path,
    module_tool: ModuleTool,
) -> None:
    prefix = build_prefix(_site(wheelhouse, pypi=False))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = base_env(tmp_path, {"SCRATCH": str(tmp_path / "scratch"), "RSNT_ARCH": "avx2"})
    result = _run(
        module_tool,
        [
            "set -e",
            "module load uv-hpc",
            f"uv venv X --python {sys.executable}",
            f"VIRTUAL_ENV=X uv -v pip install --offline {seed_project} 2> install.log",
            "X/bin/python -c 'import numpy; print(\"numpy\", numpy.__version__)'",
        ],
        env,
        prefix,
        elsewhere,
    )
    assert "numpy 1.24.2+computecanada" in result.stdout
    log = (elsewhere / "install.log").read_text()
    # build-system.requires resolved from the wheelhouse: 75.1.0 in generic/, not 50.3.2.
    assert "Selecting: setuptools==75.1.0+computecanada" in log
    assert "files.pythonhosted.org" not in log and "pypi.org" not in log
    # The cache was empty and sits where the module put it.
    assert (tmp_path / "scratch" / "uv").is_dir()


def test_requirements_read_from_another_directory_pyproject(
    tmp_path: Path,
    build_prefix: BuildPrefix,
    wheelhouse: Path,
    seed_project: Path,
    module_tool: ModuleTool,
) -> None:
    """`uv pip install -r other/pyproject.toml` reads no [tool.uv] of that file (seed comment);
    the site policy applies anyway because it is the system uv.toml."""
    prefix = build_prefix(_site(wheelhouse, pypi=False))
    env = base_env(tmp_path, {"SCRATCH": str(tmp_path / "scratch"), "RSNT_ARCH": "avx2"})
    result = _run(
        module_tool,
        [
            "set -e",
            "module load uv-hpc",
            f"uv venv Y --python {sys.executable} -q",
            f"VIRTUAL_ENV=Y uv pip install --offline -r {seed_project}/pyproject.toml",
            "VIRTUAL_ENV=Y uv pip list --offline",
        ],
        env,
        prefix,
        tmp_path,
    )
    assert "1.24.2+computecanada" in result.stdout


def test_missing_wheelhouse_directory_is_left_out_with_a_warning(
    tmp_path: Path, wheelhouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from uvmod.cli import main

    config = tmp_path / "site.toml"
    config.write_text(_site(wheelhouse, pypi=False))
    prefix = tmp_path / "prefix"
    assert (
        main(
            [
                "build-modulefiles",
                "--config",
                str(config),
                "--prefix",
                str(prefix),
                "--uv",
                "/usr/bin/true",
            ]
        )
        == 0
    )
    assert f"{wheelhouse}/gentoo/avx2 does not exist" in capsys.readouterr().err
    policy = tomllib.loads((prefix / "uv-hpc/1.0/etc/avx2/uv/uv.toml").read_text())
    # Wheelhouse only: flat indexes in chain order, the last the default (PyPI never asked).
    assert policy["index-strategy"] == "unsafe-best-match"
    assert "no-index" not in policy and "find-links" not in policy
    assert [(i["url"], i["format"], i.get("default", False)) for i in policy["index"]] == [
        (f"{wheelhouse}/gentoo2020/avx2", "flat", False),
        (f"{wheelhouse}/gentoo2020/generic", "flat", False),
        (f"{wheelhouse}/gentoo/generic", "flat", False),
        (f"{wheelhouse}/generic", "flat", True),
    ]


@pytest.mark.parametrize("pypi", [False, True])
def test_an_architecture_with_no_existing_directory(
    tmp_path: Path, wheelhouse: Path, capsys: pytest.CaptureFixture[str], pypi: bool
) -> None:
    """Wheelhouse only, and none of an architecture's directories here: uv could install
    nothing on those nodes, so the build stops (exit 2, located, nothing written). With PyPI
    allowed the nodes still work: a warning per directory, as for any missing one."""
    from uvmod.cli import main

    config = tmp_path / "site.toml"
    config.write_text(
        f'[wheelhouse]\nroot = "{wheelhouse}"\npypi = {str(pypi).lower()}\n'
        '[wheelhouse.arch]\navx512 = ["gentoo2020/avx512"]\navx2 = ["gentoo2020/avx2"]\n'
        'generic = ["nope/generic", "gone/generic"]\n'
    )
    prefix = tmp_path / "prefix"
    argv = ["build-modulefiles", "--config", str(config), "--prefix", str(prefix)]
    code = main([*argv, "--uv", "/usr/bin/true"])
    err = capsys.readouterr().err
    if pypi:
        assert code == 0
        assert f"warning: wheelhouse directory {wheelhouse}/nope/generic does not exist" in err
        return
    assert code == 2
    assert (
        f"uvmod: error: {config}: wheelhouse.arch.generic: none of its directories exists on "
        f"this machine ({wheelhouse}/nope/generic, {wheelhouse}/gone/generic); with pypi = "
        "false uv could install nothing on generic nodes." in err
    )
    assert not prefix.exists()


def _simple_index(root: Path, wheels: list[Path]) -> str:
    """A PEP 503 'simple' index on disk: the PyPI stand-in (no network in tests)."""
    for wheel in wheels:
        project = wheel.name.split("-")[0].replace("_", "-").lower()
        page = root / project / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f'<html><body><a href="{wheel.as_uri()}">{wheel.name}</a></body></html>')
    return root.as_uri()


def test_pypi_true_prefers_the_wheelhouse_and_falls_through(
    tmp_path: Path, build_prefix: BuildPrefix, wheelhouse: Path
) -> None:
    prefix = build_prefix(_site(wheelhouse, pypi=True))
    policy = tomllib.loads((prefix / "uv-hpc/1.0/etc/avx2/uv/uv.toml").read_text())
    assert policy["index-strategy"] == "unsafe-first-match"
    assert [i["url"] for i in policy["index"]] == [
        f"{wheelhouse}/gentoo2020/avx2",
        f"{wheelhouse}/gentoo2020/generic",
        f"{wheelhouse}/gentoo/generic",
        f"{wheelhouse}/generic",
    ]
    assert all(i["format"] == "flat" for i in policy["index"])
    assert "no-index" not in policy and "find-links" not in policy

    files = tmp_path / "pypi-files"
    stand_in = _simple_index(
        tmp_path / "pypi",
        [
            tiny_wheel(files, "numpy", "1.26.4", compiled=True),  # newer than the site build
            tiny_wheel(files, "onlyonpypi", "2.0"),
        ],
    )
    env = base_env(
        tmp_path,
        {"SCRATCH": str(tmp_path / "scratch"), "RSNT_ARCH": "avx2", "UV_DEFAULT_INDEX": stand_in},
    )
    result = run_lmod(
        [
            "set -e",
            "module load uv-hpc",
            f"uv venv Z --python {sys.executable} -q",
            "VIRTUAL_ENV=Z uv pip install 'numpy>=1.22' onlyonpypi 'setuptools>=75'",
            "VIRTUAL_ENV=Z uv pip list",
        ],
        env,
        modulepath=[prefix / "modulefiles"],
        cwd=tmp_path,
    )
    installed = dict(line.split()[:2] for line in result.stdout.splitlines()[2:])
    assert installed["numpy"] == "1.24.2+computecanada"  # wheelhouse first, PyPI's 1.26.4 loses
    assert installed["onlyonpypi"] == "2.0"  # absent from the wheelhouse: from the default index
    assert installed["setuptools"] == "75.1.0+computecanada"  # 50.3.2 earlier does not hide it


def test_only_binary_becomes_no_build_package(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix('[wheelhouse]\nonly_binary = ["numpy", "mpi4py"]\n')
    for arch in ("avx512", "avx2", "generic"):
        policy = tomllib.loads((prefix / f"uv-hpc/1.0/etc/{arch}/uv/uv.toml").read_text())
        assert policy == {"no-build-package": ["numpy", "mpi4py"]}


def test_constraints_are_exported_for_uv_pip(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    prefix = build_prefix('[wheelhouse]\nconstraints = ["/site/constraints.txt", "/site/b.txt"]\n')
    env = base_env(tmp_path)
    out = module_tool.run(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"]).environ
    # Space-separated: a path with whitespace is rejected (tests/test_injection.py).
    assert out["UV_CONSTRAINT"] == "/site/constraints.txt /site/b.txt"
