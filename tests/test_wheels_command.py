"""`uvmod wheels` against a wheelhouse laid out like the Alliance one (empty files: listing never
opens a wheel). What each architecture and Python gets is written out in full below; the files
the real uv installs are checked in tests/test_wheels_uv_agreement.py.
"""

from __future__ import annotations

import io
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BuildPrefix
from tests.support.modules import base_env, run_lmod
from uvmod.cli import main
from uvmod.commands.wheels import Query, wheels

pytestmark = pytest.mark.skipif(
    platform.machine() != "x86_64" or not sys.platform.startswith("linux"),
    reason="the test wheelhouse uses x86_64 Linux tags",
)

CPUINFO = Path(__file__).parent / "data" / "cpuinfo"
CHAINS = {
    "avx512": ["gentoo2020/avx512", "gentoo2020/generic", "generic"],
    "avx2": ["gentoo2020/avx2", "gentoo2020/generic", "generic"],
    "generic": ["gentoo2020/generic", "generic"],
}
NUMPY_311 = "numpy-1.24.2+computecanada-cp311-cp311-linux_x86_64.whl"
NUMPY_310 = "numpy-1.24.2+computecanada-cp310-cp310-linux_x86_64.whl"
NUMPY_125 = "numpy-1.25.0+computecanada-cp311-cp311-linux_x86_64.whl"
MPI4PY = "mpi4py-3.1.4+computecanada-cp311-cp311-linux_x86_64.whl"
SIX = "six-1.16.0+computecanada-py2.py3-none-any.whl"
CRYPTO = "cryptography-41.0.3+computecanada-cp37-abi3-linux_x86_64.whl"
ORJSON_X86 = "orjson-3.9.5-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
ORJSON_ARM = "orjson-3.9.5-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
SCIPY_310 = "scipy-1.10.1+computecanada-cp310-cp310-linux_x86_64.whl"
SCIPY_311 = "scipy-1.11.1+computecanada-cp311-cp311-linux_x86_64.whl"
TOMLI = "tomli-2.0.1-py3-none-any.whl"
FILES = {
    "gentoo2020/avx512": [NUMPY_311, NUMPY_125],
    "gentoo2020/avx2": [NUMPY_311, NUMPY_310, MPI4PY],
    "gentoo2020/generic": [NUMPY_311],
    "generic": [SIX, CRYPTO, ORJSON_X86, ORJSON_ARM, SCIPY_310, SCIPY_311, TOMLI],
}


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wheelhouse")
    for directory, names in FILES.items():
        (root / directory).mkdir(parents=True)
        for name in names:
            (root / directory / name).touch()
    # Not wheels, or not valid ones: never listed as wheels.
    (root / "generic" / "README.txt").touch()
    (root / "generic" / ".partial-upload.whl").touch()
    (root / "generic" / "broken.whl").touch()
    return root


def site_toml(root: Path, extra: str = "pypi = false") -> str:
    chains = "\n".join(f"{arch} = {json.dumps(dirs)}" for arch, dirs in CHAINS.items())
    return f'[wheelhouse]\nroot = "{root}"\n{extra}\n[wheelhouse.arch]\n{chains}\n'


@pytest.fixture
def site(wheelhouse: Path, build_prefix: BuildPrefix, capsys: pytest.CaptureFixture[str]) -> Path:
    """A built tree for the wheelhouse, "loaded" on an avx2 node: the variables the module sets."""
    prefix = build_prefix(site_toml(wheelhouse))
    capsys.readouterr()
    os.environ.update(UVMOD_HOME=str(prefix / "uv-hpc" / "1.0"), UVMOD_ARCH="avx2")
    return wheelhouse


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = main(["wheels", "--json", *argv])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def row(
    root: Path,
    directory: str,
    filename: str,
    archs: list[str],
    fits: str | None = None,
    *,
    on_node: bool = True,
    picked: tuple[str, ...] = (),
    tied: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The JSON row of one file; `fits` is None or the tag part that rules it out."""
    name, version, *tags = filename.removesuffix(".whl").split("-")
    python, abi, plat = tags[-3:]
    return {
        "name": name,
        "version": version,
        "build": None,
        "filename": filename,
        "directory": directory,
        "path": f"{root}/{directory}/{filename}",
        "python_tags": python.split("."),
        "abi_tags": abi.split("."),
        "platform_tags": plat.split("."),
        "archs": archs,
        "compatible": fits is None,
        "incompatible_part": fits,
        "on_this_node": on_node,
        "installable": fits is None and on_node,
        "picked_for": list(picked),
        "tied_for": list(tied),
    }


def test_lists_exactly_what_the_avx2_chain_holds_for_python_311(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data, err = run(capsys, "--python", "3.11")
    assert code == 0
    a2, g20, g = "gentoo2020/avx2", "gentoo2020/generic", "generic"
    avx2 = ["avx2"]
    assert data["wheels"] == [
        row(site, g, CRYPTO, avx2, picked=("avx2",)),
        row(site, a2, MPI4PY, avx2, picked=("avx2",)),
        row(site, a2, NUMPY_310, avx2, "python"),
        # The same file in the arch directory and in gentoo2020/generic: the earlier wins.
        row(site, a2, NUMPY_311, avx2, picked=("avx2",)),
        row(site, g20, NUMPY_311, avx2),
        row(site, g, ORJSON_ARM, avx2, "platform"),
        row(site, g, ORJSON_X86, avx2, picked=("avx2",)),
        row(site, g, SCIPY_311, avx2, picked=("avx2",)),
        row(site, g, SCIPY_310, avx2, "python"),
        row(site, g, SIX, avx2, picked=("avx2",)),
        row(site, g, TOMLI, avx2, picked=("avx2",)),
    ]
    assert data["node_arch"] == "avx2" and data["archs"] == ["avx2"]
    assert data["python"] == {"version": "3.11", "abi": "cp311", "from": "--python"}
    assert data["rule"] == "wheelhouse-only"
    assert [d["directory"] for d in data["chains"]["avx2"]] == CHAINS["avx2"]
    assert data["invalid"] == [
        {"directory": "generic", "filename": "broken.whl", "error": data["invalid"][0]["error"]}
    ]
    assert "broken.whl" in err
    assert data["requirements"] == [] and data["unmet"] == 0


def test_lists_exactly_what_the_avx2_chain_holds_for_python_310(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data, _ = run(capsys, "--python", "3.10")
    assert code == 0
    a2, g20, g = "gentoo2020/avx2", "gentoo2020/generic", "generic"
    avx2 = ["avx2"]
    assert data["wheels"] == [
        row(site, g, CRYPTO, avx2, picked=("avx2",)),  # abi3 from cp37 on
        row(site, a2, MPI4PY, avx2, "python"),
        row(site, a2, NUMPY_310, avx2, picked=("avx2",)),
        row(site, a2, NUMPY_311, avx2, "python"),
        row(site, g20, NUMPY_311, avx2, "python"),
        row(site, g, ORJSON_ARM, avx2, "platform"),
        row(site, g, ORJSON_X86, avx2, "python"),
        row(site, g, SCIPY_311, avx2, "python"),
        row(site, g, SCIPY_310, avx2, picked=("avx2",)),
        row(site, g, SIX, avx2, picked=("avx2",)),
        row(site, g, TOMLI, avx2, picked=("avx2",)),
    ]
    assert data["python"]["abi"] == "cp310"


@pytest.mark.parametrize("arch", ["avx512", "generic"])
def test_lists_exactly_what_another_arch_chain_holds(
    arch: str, site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """From an avx2 node: the avx512 directory is listed but is not this node's."""
    code, data, _ = run(capsys, "--arch", arch, "--python", "3.11")
    assert code == 0
    a5, g20, g = "gentoo2020/avx512", "gentoo2020/generic", "generic"
    here = [arch]
    numpy = (
        [
            row(site, a5, NUMPY_125, here, on_node=False, picked=(arch,)),
            row(site, a5, NUMPY_311, here, on_node=False),
            row(site, g20, NUMPY_311, here),
        ]
        if arch == "avx512"
        else [row(site, g20, NUMPY_311, here, picked=(arch,))]
    )
    assert data["wheels"] == [
        row(site, g, CRYPTO, here, picked=(arch,)),
        *numpy,
        row(site, g, ORJSON_ARM, here, "platform"),
        row(site, g, ORJSON_X86, here, picked=(arch,)),
        row(site, g, SCIPY_311, here, picked=(arch,)),
        row(site, g, SCIPY_310, here, "python"),
        row(site, g, SIX, here, picked=(arch,)),
        row(site, g, TOMLI, here, picked=(arch,)),
    ]
    assert data["node_arch"] == "avx2" and data["archs"] == [arch]
    assert [d["directory"] for d in data["chains"][arch]] == CHAINS[arch]


def test_every_arch_chain_and_what_this_node_can_install(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data, _ = run(capsys, "--all-archs", "--python", "3.11", "numpy")
    assert code == 0
    a5, a2, g20 = "gentoo2020/avx512", "gentoo2020/avx2", "gentoo2020/generic"
    assert data["archs"] == ["avx512", "avx2", "generic"]
    assert data["wheels"] == [
        row(site, a5, NUMPY_125, ["avx512"], on_node=False, picked=("avx512",)),
        row(site, a5, NUMPY_311, ["avx512"], on_node=False),
        row(site, a2, NUMPY_310, ["avx2"], "python"),
        row(site, a2, NUMPY_311, ["avx2"], picked=("avx2",)),
        row(site, g20, NUMPY_311, ["avx512", "avx2", "generic"], picked=("generic",)),
    ]
    assert [(r["arch"], r["status"], r["picked"]["filename"]) for r in data["requirements"]] == [
        ("avx512", "met", NUMPY_125),
        ("avx2", "met", NUMPY_311),
        ("generic", "met", NUMPY_311),
    ]


def test_another_arch_is_listed_but_not_installable_here(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data, _ = run(capsys, "--arch", "avx512", "--python", "3.10", "numpy", "six")
    assert code == 1  # no numpy for 3.10 on avx512 nodes
    a5, g20, g = "gentoo2020/avx512", "gentoo2020/generic", "generic"
    avx512 = ["avx512"]
    assert data["wheels"] == [
        row(site, a5, NUMPY_125, avx512, "python", on_node=False),
        row(site, a5, NUMPY_311, avx512, "python", on_node=False),
        row(site, g20, NUMPY_311, avx512, "python"),
        row(site, g, SIX, avx512, picked=("avx512",)),
    ]
    numpy, six = data["requirements"]
    assert numpy["status"] == "unmet" and numpy["picked"] is None
    assert numpy["reason"] == (
        "no wheel fits this Python and platform (found cp311-cp311-linux_x86_64)"
    )
    assert six["status"] == "met" and six["picked"]["directory"] == "generic"
    assert data["unmet"] == 1


def test_pypi_true_sites_take_ties_in_chain_order(
    wheelhouse: Path,
    build_prefix: BuildPrefix,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prefix = build_prefix(site_toml(wheelhouse, "pypi = true"))
    capsys.readouterr()
    os.environ.update(UVMOD_HOME=str(prefix / "uv-hpc" / "1.0"), UVMOD_ARCH="avx2")
    code, data, _ = run(capsys, "--python", "3.11", "numpy")
    assert code == 0 and data["rule"] == "unsafe-first-match"
    picked = [(r["directory"], r["picked_for"], r["tied_for"]) for r in data["wheels"]]
    assert picked == [
        ("gentoo2020/avx2", [], []),
        ("gentoo2020/avx2", ["avx2"], []),
        ("gentoo2020/generic", [], []),
    ]


REQUIREMENTS = """\
# what a job needs
numpy>=1.24          # the site build
scipy>=1.11 \\
    --hash=sha256:0123456789abcdef
-r more.txt
pandas
tomli; python_version < "3.11"
mpi4py
orjson
six>=2
--index-url https://example.org/simple
-e ./localpkg
https://example.org/wheels/x-1.0-py3-none-any.whl
foo @ https://example.org/foo-1.0.tar.gz
"""


def _results(data: dict[str, Any]) -> list[tuple[str, str, str, str | None, str | None]]:
    return [
        (
            r["requirement"],
            r["from"].rsplit("/", 1)[-1],
            r["status"],
            r["reason"],
            r["picked"] and f"{r['picked']['directory']}/{r['picked']['filename']}",
        )
        for r in data["requirements"]
    ]


@pytest.fixture
def requirements_txt(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text(REQUIREMENTS)
    (tmp_path / "more.txt").write_text("cryptography>=41\n")
    return path


def test_requirements_file_flags_what_cannot_be_met(
    site: Path, requirements_txt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data, _ = run(capsys, "--python", "3.11", "-r", str(requirements_txt))
    assert code == 1
    assert _results(data) == [
        ("numpy>=1.24", "requirements.txt:2", "met", None, f"gentoo2020/avx2/{NUMPY_311}"),
        ("scipy>=1.11", "requirements.txt:3", "met", None, f"generic/{SCIPY_311}"),
        ("cryptography>=41", "more.txt:1", "met", None, f"generic/{CRYPTO}"),
        ("pandas", "requirements.txt:6", "unmet", "no wheel of that name", None),
        (
            'tomli; python_version < "3.11"',
            "requirements.txt:7",
            "skipped",
            "its marker is false here",
            None,
        ),
        ("mpi4py", "requirements.txt:8", "met", None, f"gentoo2020/avx2/{MPI4PY}"),
        ("orjson", "requirements.txt:9", "met", None, f"generic/{ORJSON_X86}"),
        (
            "six>=2",
            "requirements.txt:10",
            "unmet",
            "no version satisfies >=2 (has 1.16.0+computecanada)",
            None,
        ),
        (
            "-e ./localpkg",
            "requirements.txt:12",
            "not-checked",
            "editable install: built from its source",
            None,
        ),
        (
            "https://example.org/wheels/x-1.0-py3-none-any.whl",
            "requirements.txt:13",
            "not-checked",
            "a path or URL, not a name",
            None,
        ),
        (
            "foo @ https://example.org/foo-1.0.tar.gz",
            "requirements.txt:14",
            "not-checked",
            "a direct reference (https://example.org/foo-1.0.tar.gz)",
            None,
        ),
    ]
    assert data["unmet"] == 2
    # The rows are the wheels of the requirements' names, every version and directory.
    assert {r["name"] for r in data["wheels"]} == {
        "numpy",
        "scipy",
        "cryptography",
        "mpi4py",
        "orjson",
        "six",
        "tomli",
    }


def test_requirements_file_for_another_python_and_arch(
    site: Path, requirements_txt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data, _ = run(
        capsys, "--python", "3.10", "--arch", "generic", "-r", str(requirements_txt)
    )
    assert code == 1
    unmet = {r["requirement"]: r["reason"] for r in data["requirements"] if r["status"] == "unmet"}
    assert unmet == {
        "numpy>=1.24": "no wheel fits this Python and platform (found cp311-cp311-linux_x86_64)",
        "scipy>=1.11": "no version satisfies >=1.11 (has 1.10.1+computecanada)",
        "pandas": "no wheel of that name",
        "mpi4py": "no wheel of that name",  # only in the avx2 directory
        "orjson": "no wheel fits this Python and platform (found "
        "cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64, "
        "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64)",
        "six>=2": "no version satisfies >=2 (has 1.16.0+computecanada)",
    }
    tomli = [r for r in data["requirements"] if r["requirement"].startswith("tomli")]
    assert tomli[0]["status"] == "met"  # the marker holds for 3.10


def test_project_dependencies_and_build_requirements(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "analysis"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        """\
[build-system]
requires = ["setuptools>=61", "wheel"]
build-backend = "setuptools.build_meta"

[project]
name = "analysis"
version = "0.1"
dependencies = ["numpy>=1.24,<2", "scipy", "tomli>=2; python_version < '3.11'"]
"""
    )
    code, data, _ = run(capsys, "--python", "3.11", "--project", str(project / "src"))
    assert code == 1
    pyproject = project / "pyproject.toml"
    assert [(r["requirement"], r["from"], r["status"]) for r in data["requirements"]] == [
        ("numpy>=1.24,<2", f"{pyproject}: project.dependencies[0]", "met"),
        ("scipy", f"{pyproject}: project.dependencies[1]", "met"),
        ("tomli>=2; python_version < '3.11'", f"{pyproject}: project.dependencies[2]", "skipped"),
        ("setuptools>=61", f"{pyproject}: build-system.requires[0]", "unmet"),
        ("wheel", f"{pyproject}: build-system.requires[1]", "unmet"),
    ]
    assert data["unmet"] == 2


def test_project_that_the_wheelhouse_serves_exits_0(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1"\ndependencies = ["numpy", "six"]\n'
    )
    code, data, _ = run(capsys, "--python", "3.11", "--project", str(tmp_path))
    assert code == 0 and [r["status"] for r in data["requirements"]] == ["met", "met"]


def test_dynamic_dependencies_are_said_to_be_unread(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "app"\ndynamic = ["version", "dependencies"]\n'
        '[build-system]\nrequires = ["six"]\n'
    )
    code, data, err = run(capsys, "--python", "3.11", "--project", str(tmp_path))
    assert code == 0 and [r["requirement"] for r in data["requirements"]] == ["six"]
    assert "project.dependencies is dynamic" in err


def test_glob_names_and_a_pattern_that_matches_nothing(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, data, _ = run(capsys, "--python", "3.11", "*py", "ORJSON")
    assert code == 0
    assert sorted({r["name"] for r in data["wheels"]}) == ["mpi4py", "numpy", "orjson", "scipy"]
    code, data, _ = run(capsys, "--python", "3.11", "*cdf*")
    assert code == 1 and data["unmatched_patterns"] == ["*cdf*"] and data["wheels"] == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--arch", "sse3"],
            "--arch 'sse3': not an architecture of the site (avx512, avx2, generic)",
        ),
        (["--python", "3"], "--python '3': expected a CPython 3 version X.Y, such as 3.11"),
        (["--python", "2.7"], "--python '2.7': expected a CPython 3 version X.Y"),
        (["num py"], "'num py': not a package name or requirement"),
        (["-r", "/nonexistent/req.txt"], "/nonexistent/req.txt: cannot read: No such file"),
        (["--project", "/nonexistent"], "--project /nonexistent: not a directory"),
    ],
)
def test_bad_usage_is_one_located_line_and_exit_2(
    site: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["wheels", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith(f"uvmod: error: {message}")


def test_bad_requirement_lines_are_located(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "req.txt"
    bad.write_text("numpy\nnumpy>=>1\n")
    assert main(["wheels", "-r", str(bad)]) == 2
    assert f"uvmod: error: {bad}:2: not a requirement: 'numpy>=>1'" in capsys.readouterr().err
    loop = tmp_path / "loop.txt"
    loop.write_text("-r loop.txt\n")
    assert main(["wheels", "-r", str(loop)]) == 2
    assert "includes itself" in capsys.readouterr().err
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["ok", 3]\n')
    assert main(["wheels", "--project", str(tmp_path)]) == 2
    assert "project.dependencies[1]: not a string: 3" in capsys.readouterr().err


def test_requirements_and_project_exclude_each_other(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["wheels", "-r", "a.txt", "--project", "."]) == 2
    assert "not allowed with argument" in capsys.readouterr().err
    assert main(["wheels", "--arch", "avx2", "--all-archs"]) == 2


def test_an_unknown_node_arch_is_a_configuration_error(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.environ["UVMOD_ARCH"] = "zen4"
    assert main(["wheels", "--python", "3.11"]) == 2
    assert "$UVMOD_ARCH='zen4' is not an architecture of the loaded module" in (
        capsys.readouterr().err
    )


def test_without_the_module_there_is_no_wheelhouse(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wheels", "--python", "3.11"]) == 1
    assert "uv-hpc is not loaded" in capsys.readouterr().err


def test_a_missing_directory_is_a_warning(
    wheelhouse: Path,
    tmp_path: Path,
    build_prefix: BuildPrefix,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = tmp_path / "partial"
    shutil.copytree(wheelhouse, root)
    shutil.rmtree(root / "gentoo2020" / "avx2")
    prefix = build_prefix(site_toml(root))
    capsys.readouterr()
    os.environ.update(UVMOD_HOME=str(prefix / "uv-hpc" / "1.0"), UVMOD_ARCH="avx2")
    code, data, err = run(capsys, "--python", "3.11", "numpy")
    assert code == 0
    assert [(r["directory"], r["picked_for"]) for r in data["wheels"]] == [
        ("gentoo2020/generic", ["avx2"])
    ]
    assert data["chains"]["avx2"][0]["error"] == "does not exist"
    assert f"{root}/gentoo2020/avx2 (wheelhouse directory of avx2) does not exist" in err


def test_text_output_never_wraps_and_prints_names_as_written(
    tmp_path: Path, build_prefix: BuildPrefix, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "wh"
    for directory in ("gentoo2020/avx2", "gentoo2020/generic", "generic"):
        (root / directory).mkdir(parents=True)
    (root / "generic" / ORJSON_X86).touch()
    (root / "generic" / "evil-1.0-py3-none-[red]any.whl").touch()
    (root / "generic" / "bell-1.0-py3-none-an\x07y.whl").touch()
    prefix = build_prefix(site_toml(root))
    capsys.readouterr()
    environ = {
        **os.environ,
        "UVMOD_HOME": str(prefix / "uv-hpc" / "1.0"),
        "UVMOD_ARCH": "avx2",
    }
    out = io.StringIO()
    code = wheels(environ, Query(python="3.11"), as_json=False, out=out, err=io.StringIO())
    assert code == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == "Wheels for avx2 nodes (this node: avx2), CPython 3.11 (--python)"
    assert lines[1].split() == [
        "name",
        "version",
        "python",
        "abi",
        "platform",
        "directory",
        "here",
        "uv",
        "takes",
    ]
    by_name = {line.split()[0]: line for line in lines[2:5]}
    assert by_name["orjson"].split() == [
        "orjson",
        "3.9.5",
        "cp311",
        "cp311",
        "manylinux_2_17_x86_64.manylinux2014_x86_64",
        "generic",
        "yes",
        "avx2",
    ]
    assert len(by_name["orjson"]) > 80  # one line, not wrapped at the default 80 columns
    assert "[red]any" in by_name["evil"] and "no: platform" in by_name["evil"]
    assert "an\\x07y" in by_name["bell"] and "\x07" not in out.getvalue()
    assert lines[5].startswith("uv takes: the wheel `uv pip install NAME` installs offline")


def test_text_output_lists_unmet_requirements(
    site: Path, requirements_txt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["wheels", "--python", "3.11", "-r", str(requirements_txt)])
    out = capsys.readouterr().out
    assert code == 1
    lines = out.splitlines()
    pandas = next(line for line in lines if line.startswith("pandas "))
    assert pandas.split()[1:] == [
        f"{requirements_txt}:6",
        "UNMET:",
        "no",
        "wheel",
        "of",
        "that",
        "name",
    ]
    assert "2 cannot be met offline from the wheelhouse for CPython 3.11 on avx2 nodes." in lines


def test_module_load_then_uvmod_wheels_in_a_real_lmod_shell(
    wheelhouse: Path, build_prefix: BuildPrefix, tmp_path: Path
) -> None:
    """The researcher's view: nothing but `module load uv-hpc`; the arch comes from the
    module's detection and the Python from the python3 on PATH, not from uvmod's own."""
    prefix = build_prefix(site_toml(wheelhouse))
    env = base_env(tmp_path, {"UVMOD_CPUINFO": str(CPUINFO / "epyc-rome-avx2.txt")})
    out = tmp_path / "wheels.json"
    result = run_lmod(
        # `uvmod` is the module's own (bin/uvmod: the uvmod that built the tree).
        ["module load uv-hpc", f"uvmod wheels --json numpy > {out}; echo rc=$?"],
        env,
        modulepath=[prefix / "modulefiles"],
        cwd=tmp_path,
    )
    assert result.environ["UVMOD_ARCH"] == "avx2"
    assert "rc=0" in result.stdout
    data = json.loads(out.read_text())
    python3 = shutil.which("python3", path=env["PATH"])
    assert python3 is not None
    version = subprocess.run(
        [python3, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert data["python"]["from"] == python3 and data["python"]["version"] == version
    assert data["node_arch"] == "avx2"
    assert data["chains"]["avx2"][0]["path"] == f"{wheelhouse}/gentoo2020/avx2"
    tag = "cp" + version.replace(".", "")
    fitting = {(r["directory"], r["filename"]) for r in data["wheels"] if r["installable"]}
    assert fitting == {
        (directory, name)
        for directory in CHAINS["avx2"]
        for name in FILES[directory]
        if name.startswith("numpy-") and f"-{tag}-" in name
    }


def test_blocks_written_directly_are_what_rich_would_print() -> None:
    """Off a terminal the table bypasses rich's line splitting (uvmod/commands/wheels.py
    `_emit`); rich would have written the same characters."""
    from rich.console import Console

    from uvmod.commands.wheels import _Block, _emit

    block = _Block(("name", "platform", "note"))
    block.add("orjson", "manylinux_2_17_x86_64.manylinux2014_x86_64" * 3, ("yes", "green"))
    block.add("évité", "[bold]x[/bold]", ("", None))
    block.add("bell", "an\x07y", ("no", "dim"))
    for styled in (False, True):
        text = block.text(styled)
        via_rich, direct = io.StringIO(), io.StringIO()
        Console(file=via_rich, soft_wrap=True, highlight=False, markup=False).print(text)
        _emit(Console(file=direct, soft_wrap=True, highlight=False, markup=False), text)
        assert direct.getvalue() == via_rich.getvalue()
        assert "[bold]x[/bold]" in direct.getvalue() and "\\x07" in direct.getvalue()
        assert max(len(line) for line in direct.getvalue().splitlines()) > 120
