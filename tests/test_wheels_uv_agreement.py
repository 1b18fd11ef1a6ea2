"""`uvmod wheels` names the file the real uv installs, under every rule the site policy can set.

One wheelhouse of real tiny wheels whose module records the directory it came from; for each
rule (pypi = false, and pypi = true with each index-strategy) the module tree is built, `uvmod
wheels --json` says which file each requirement gets, and the real uv (offline, the built
uv.toml as its system configuration) installs each requirement alone. Both must agree, and agree
with the expected table below, which is docs/design.md#wheelhouse-priority in cases.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support import tools
from tests.support.wheels import cpython_tag, write_wheel
from uvmod.cli import main

CHAIN = ["gentoo2020/avx2", "gentoo2020/generic", "generic"]
RULES = {
    "wheelhouse-only": "pypi = false",
    "first-index": 'pypi = true\nindex_strategy = "first-index"',
    "unsafe-first-match": 'pypi = true\nindex_strategy = "unsafe-first-match"',
    "unsafe-best-match": 'pypi = true\nindex_strategy = "unsafe-best-match"',
}
FOREIGN = "cp27-cp27mu-linux_x86_64"  # fits no Python the tests run on
MANYLINUX = "manylinux_2_17_x86_64.manylinux2014_x86_64"

# requirement -> rule -> (directory, version) uv takes, or None: uv cannot install it offline.
A, G = "gentoo2020/avx2", "generic"
EXPECTED: dict[str, dict[str, tuple[str, str] | None]] = {
    # The same file name in the arch directory and in generic.
    "tiepkg": {
        "first-index": (A, "1.0"),
        "unsafe-first-match": (A, "1.0"),
        "unsafe-best-match": (A, "1.0"),
        "wheelhouse-only": (A, "1.0"),
    },
    "newerlater": {
        "first-index": (A, "1.0"),
        "unsafe-first-match": (A, "1.0"),
        "unsafe-best-match": (G, "2.0"),
        "wheelhouse-only": (G, "2.0"),
    },
    "newerlater>=2": {
        "first-index": None,  # the first directory holding it has no match: no fall-through
        "unsafe-first-match": (G, "2.0"),
        "unsafe-best-match": (G, "2.0"),
        "wheelhouse-only": (G, "2.0"),
    },
    # 2.0 in the arch directory fits no Python; 1.0 in generic is pure.
    "incompatfirst": {
        "first-index": None,
        "unsafe-first-match": (G, "1.0"),
        "unsafe-best-match": (G, "1.0"),
        "wheelhouse-only": (G, "1.0"),
    },
    # 1.0 pure in the arch directory, 1.0 built for this Python in generic.
    "bettertag": {
        "first-index": (A, "1.0"),
        "unsafe-first-match": (A, "1.0"),
        "unsafe-best-match": (A, "1.0"),
        "wheelhouse-only": (A, "1.0"),
    },
    # 2.0rc1 in the arch directory, 1.0 in generic.
    "prefirst": {
        "first-index": (A, "2.0rc1"),
        "unsafe-first-match": (A, "2.0rc1"),
        "unsafe-best-match": (G, "1.0"),
        "wheelhouse-only": (G, "1.0"),
    },
    # A specifier that names a pre-release allows them everywhere.
    "prefirst>=2.0rc1": {rule: (A, "2.0rc1") for rule in RULES},
    # No final release satisfies: then pre-releases count.
    "prefirst>=1.5": {rule: (A, "2.0rc1") for rule in RULES},
    # 1.0 fits no Python, 2.0rc1 is pure: in one directory.
    "finalforeign": {rule: (A, "2.0rc1") for rule in RULES},
    # 1.0 in the arch directory, 1.0+computecanada in generic.
    "locallabel": {
        "first-index": (A, "1.0"),
        "unsafe-first-match": (A, "1.0"),
        "unsafe-best-match": (G, "1.0+computecanada"),
        "wheelhouse-only": (G, "1.0+computecanada"),
    },
    # `==1.0` matches 1.0+computecanada too (PEP 440 local versions).
    "locallabel==1.0": {
        "first-index": (A, "1.0"),
        "unsafe-first-match": (A, "1.0"),
        "unsafe-best-match": (G, "1.0+computecanada"),
        "wheelhouse-only": (G, "1.0+computecanada"),
    },
}
# One directory, several files of one version: the same under every rule.
SAME_DIRECTORY = {
    "manyvslinux": (A, "1.0", f"manyvslinux-1.0-{{py}}-{{py}}-{MANYLINUX}.whl"),
    "buildtags": (A, "1.0", "buildtags-1.0-10-py3-none-any.whl"),
}


def _wheel(root: Path, directory: str, name: str, version: str, tag: str = "py3-none-any") -> Path:
    label = f"{directory} {tag}"
    files = {f"{name}/__init__.py": f"WHERE = {label!r}\nVERSION = {version!r}\n"}
    return write_wheel(root / directory, name, version, files, tag=tag)


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("agreement-wheelhouse")
    native = cpython_tag()
    py = native.split("-")[0]
    _wheel(root, A, "tiepkg", "1.0")
    _wheel(root, G, "tiepkg", "1.0")
    _wheel(root, A, "newerlater", "1.0")
    _wheel(root, G, "newerlater", "2.0")
    _wheel(root, A, "incompatfirst", "2.0", FOREIGN)
    _wheel(root, G, "incompatfirst", "1.0")
    _wheel(root, A, "bettertag", "1.0")
    _wheel(root, G, "bettertag", "1.0", native)
    _wheel(root, A, "prefirst", "2.0rc1")
    _wheel(root, G, "prefirst", "1.0")
    _wheel(root, A, "finalforeign", "1.0", FOREIGN)
    _wheel(root, A, "finalforeign", "2.0rc1")
    _wheel(root, A, "locallabel", "1.0")
    _wheel(root, G, "locallabel", "1.0+computecanada")
    _wheel(root, A, "manyvslinux", "1.0", native)
    _wheel(root, A, "manyvslinux", "1.0", f"{py}-{py}-{MANYLINUX}")
    for build in ("1", "2", "10"):
        wheel = _wheel(root, A, "buildtags", "1.0")
        wheel.rename(wheel.with_name(f"buildtags-1.0-{build}-py3-none-any.whl"))
    (root / "gentoo2020/generic").mkdir(parents=True)
    return root


def _site(root: Path, rule: str) -> str:
    chains = "\n".join(f"{arch} = {json.dumps(CHAIN)}" for arch in ("avx512", "avx2", "generic"))
    return f'[wheelhouse]\nroot = "{root}"\n{RULES[rule]}\n[wheelhouse.arch]\n{chains}\n'


def _uv_installs(
    requirement: str, env: dict[str, str], venv: Path, name: str
) -> tuple[str, str] | None:
    """(directory, version) of what the real uv installed, or None when it refused."""
    uv = tools.real_uv()
    proc = subprocess.run(
        [uv, "pip", "install", "--offline", "--reinstall", "--no-cache", requirement],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return None
    shown = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            f"import {name} as m; print(m.WHERE); print(m.VERSION)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    subprocess.run([uv, "pip", "uninstall", name], env=env, capture_output=True, check=True)
    return shown[0].split()[0], shown[1]


@pytest.mark.skipif(
    platform.machine() != "x86_64" or not sys.platform.startswith("linux"),
    reason="the wheelhouse uses x86_64 Linux tags",
)
@pytest.mark.parametrize("rule", list(RULES))
def test_uvmod_wheels_names_the_file_real_uv_installs(
    rule: str,
    wheelhouse: Path,
    build_prefix: BuildPrefix,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prefix = build_prefix(_site(wheelhouse, rule))
    capsys.readouterr()  # the build's own report
    home = prefix / "uv-hpc" / "1.0"
    os.environ.update(UVMOD_HOME=str(home), UVMOD_ARCH="avx2")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    requirements = [*EXPECTED, *SAME_DIRECTORY]
    code = main(["wheels", "--json", "--python", version, *requirements])
    report = json.loads(capsys.readouterr().out)
    assert report["rule"] == rule
    predicted = {
        r["requirement"]: None
        if r["picked"] is None
        else (r["picked"]["directory"], r["picked"]["version"], r["picked"]["filename"])
        for r in report["requirements"]
    }
    assert code == (1 if None in predicted.values() else 0)

    venv = tmp_path / "venv"
    uv = tools.real_uv()
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    empty_index = tmp_path / "no-pypi"
    empty_index.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ["HOME"],
        "XDG_CONFIG_DIRS": str(home / "etc" / "avx2"),
        "VIRTUAL_ENV": str(venv),
        "UV_CACHE_DIR": str(tmp_path / "cache"),
    }
    if rule != "wheelhouse-only":
        # pypi = true: the default index after the wheelhouse; offline and empty here. (With
        # pypi = false the last directory is the default index: the variable would replace it.)
        env["UV_DEFAULT_INDEX"] = empty_index.as_uri()
    native_py = cpython_tag().split("-")[0]
    for requirement in requirements:
        name = requirement.split(">")[0].split("=")[0]
        installed = _uv_installs(requirement, env, venv, name)
        said = predicted[requirement]
        assert (None if said is None else said[:2]) == installed, (rule, requirement, said)
        if requirement in EXPECTED:
            assert installed == EXPECTED[requirement][rule], (rule, requirement)
        else:
            directory, wanted_version, filename = SAME_DIRECTORY[requirement]
            assert said is not None and said[:2] == (directory, wanted_version)
            assert said[2] == filename.format(py=native_py), (rule, requirement)
    shutil.rmtree(venv)
