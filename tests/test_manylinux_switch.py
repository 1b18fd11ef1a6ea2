"""`[wheelhouse] manylinux = false` with the real uv in real Lmod, offline: a PyPI stand-in (a
file:// simple index) holds `tinyml-2.0-…-manylinux2014_<machine>`, the site wheelhouse
`tinyml-1.0+local-…-linux_<machine>`. With the switch no environment the wrapper manages or sees
(a project's, new, purged or recreated; a `uv venv` one; an activated one for `uv pip`) ever
gets the manylinux wheel; without it, uv's own choice holds (docs/design.md#manylinux-switch)."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support.modules import ShellResult, base_env, run_lmod
from tests.support.nodes import node
from tests.support.projects import PYPROJECT
from tests.support.wheels import cpython_tag, simple_index, write_wheel
from uvmod import depot, pipstack

SHOW = "uv run python -c 'import tinyml; print(tinyml.VALUE)'"
PIP_SHOW = "python -c 'import tinyml; print(tinyml.VALUE)'"
# UV_PYTHON (the tests' Python, for the projects) would make `uv pip` install into that Python.
PIP_INSTALL = "(unset UV_PYTHON; uv pip install tinyml)"


def _tinyml(dest: Path, version: str, tag: str) -> Path:
    files = {"tinyml.py": f"VALUE = {'tinyml ' + version!r}\n"}
    return write_wheel(dest, "tinyml", version, files, tag=tag)


@dataclass
class PipSite:
    tmp: Path
    prefix: Path
    env: dict[str, str]

    @property
    def depot(self) -> Path:
        return self.tmp / "scratch" / "uv-venvs"

    def project(self, name: str, *deps: str) -> Path:
        path = self.tmp / "WORK" / name
        path.mkdir(parents=True, exist_ok=True)
        quoted = ", ".join(f'"{d}"' for d in deps)
        (path / "pyproject.toml").write_text(PYPROJECT.format(name=name, deps=quoted))
        return path

    def env_of(self, project: Path) -> Path:
        return self.depot / depot.env_name(os.path.realpath(project), "", node())

    def run(self, *lines: str, check: bool = True) -> ShellResult:
        return run_lmod(
            ["module load uv-hpc", *lines],
            self.env,
            modulepath=[self.prefix / "modulefiles"],
            check=check,
            timeout=300,
        )

    def in_project(self, project: Path, *lines: str, check: bool = True) -> ShellResult:
        return self.run(f"cd {shlex.quote(str(project))}", *lines, check=check)


def make_site(tmp: Path, build: BuildPrefix, *, manylinux: bool, strategy: str) -> PipSite:
    linux = cpython_tag()
    _tinyml(tmp / "wheelhouse" / "generic", "1.0+local", linux)
    python, abi, platform = linux.split("-")
    wheel = _tinyml(
        tmp / "dist", "2.0", f"{python}-{abi}-{platform.replace('linux', 'manylinux2014')}"
    )
    index = simple_index(tmp / "pypi" / "simple", [wheel])
    toml = f"""
[wheelhouse]
root = "{tmp / "wheelhouse"}"
pypi = true
index_strategy = "{strategy}"
manylinux = {str(manylinux).lower()}
[wheelhouse.arch]
avx512 = ["generic"]
avx2 = ["generic"]
generic = ["generic"]
[python]
downloads = "never"
"""
    env = base_env(
        tmp,
        {
            "SCRATCH": str(tmp / "scratch"),
            "RSNT_ARCH": "generic",
            "UV_PYTHON": sys.executable,
            "UV_OFFLINE": "1",
            "UV_DEFAULT_INDEX": index,
        },
    )
    return PipSite(tmp, build(toml, prefix=tmp / "prefix"), env)


def refuses(env: Path) -> bool:
    return pipstack.refuses_manylinux(env) and (env / pipstack.MANYLINUX_FLAG).is_file()


@pytest.mark.parametrize("manylinux", [False, True], ids=["switch-on", "switch-off"])
def test_uv_pip_install_in_uv_venv_and_project_environments(
    tmp_path: Path, build_prefix: BuildPrefix, manylinux: bool
) -> None:
    """Where both wheels compete (unsafe-best-match), `uv pip install tinyml` takes the wheelhouse
    build with the switch and PyPI's newer manylinux wheel without it: in a `uv venv`
    environment (activated), in a project's depot environment, and in that environment again
    after `rm -rf` (the purge) and `uv sync` made it anew."""
    site = make_site(tmp_path, build_prefix, manylinux=manylinux, strategy="unsafe-best-match")
    expected = "tinyml 2.0" if manylinux else "tinyml 1.0+local"
    mine = tmp_path / "scratch" / "mine"
    result = site.run(
        f"uv venv {shlex.quote(str(mine))}",
        f". {shlex.quote(str(mine / 'bin' / 'activate'))}",
        PIP_INSTALL,
        PIP_SHOW,
    )
    assert result.stdout.splitlines()[-1] == expected
    assert refuses(mine) is not manylinux

    proj = site.project("plain")
    env = site.env_of(proj)
    # `uv venv` at the project's root makes the depot environment; in a subdirectory, ./.venv.
    sub = proj / "sub"
    sub.mkdir()
    site.in_project(proj, "uv venv", "cd sub", "uv venv")
    assert refuses(env) is not manylinux and refuses(sub / ".venv") is not manylinux
    for _ in ("new", "purged"):
        shutil.rmtree(env, ignore_errors=True)
        result = site.in_project(
            proj,
            "uv sync",
            PIP_INSTALL,
            f"{shlex.quote(str(env / 'bin' / 'python'))} -c 'import tinyml; print(tinyml.VALUE)'",
        )
        assert result.stdout.splitlines()[-1] == expected
        assert refuses(env) is not manylinux


def test_project_environments_new_purged_and_recreated_never_get_manylinux(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    """The site default (unsafe-first-match) locks the wheelhouse build; the wrapper makes each
    project environment itself, with `_manylinux.py`, before uv first resolves into it: new,
    partly purged (moved aside), deleted. A project that needs a version only PyPI's manylinux
    wheel has cannot install it: uv stops instead."""
    site = make_site(tmp_path, build_prefix, manylinux=False, strategy="unsafe-first-match")
    proj = site.project("demo", "tinyml")
    env = site.env_of(proj)
    first = site.in_project(proj, "uv sync", SHOW)
    assert first.stdout.splitlines()[-1] == "tinyml 1.0+local"
    assert refuses(env)
    # The wrapper made the environment: uv found it ready and did not make another.
    assert "Creating virtual environment" not in first.stderr
    assert depot.read_marker(env) == depot.Marker(proj, "", node())

    # A partial purge: the marker and the module go; the wrapper moves the rest aside.
    (env / depot.MARKER).unlink()
    for path in pipstack.site_packages(env):
        (path / pipstack.MANYLINUX_FILE).unlink()
    damaged = site.in_project(proj, SHOW)
    assert "partly deleted" in damaged.stderr
    assert damaged.stdout.splitlines()[-1] == "tinyml 1.0+local"
    assert refuses(env)

    shutil.rmtree(env)
    assert site.in_project(proj, "uv run python -c pass", SHOW).stdout.splitlines()[-1] == (
        "tinyml 1.0+local"
    )
    assert refuses(env)

    needs_two = site.project("needs-two", "tinyml>=2")
    failed = site.in_project(needs_two, "uv sync", check=False)
    assert failed.returncode != 0
    assert "doesn't have a source distribution or wheel for the current platform" in failed.stderr
    assert not list(site.env_of(needs_two).glob("lib/python*/site-packages/tinyml*"))


def test_without_the_switch_a_project_gets_the_manylinux_wheel(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    """Today's behaviour: where only PyPI's manylinux wheel satisfies the project, it is installed,
    and the wrapper writes no `_manylinux.py`."""
    site = make_site(tmp_path, build_prefix, manylinux=True, strategy="unsafe-first-match")
    proj = site.project("needs-two", "tinyml>=2")
    assert site.in_project(proj, "uv sync", SHOW).stdout.splitlines()[-1] == "tinyml 2.0"
    env = site.env_of(proj)
    assert not pipstack.refuses_manylinux(env)
    assert not (env / pipstack.MANYLINUX_FLAG).exists()


def test_switching_on_under_an_existing_environment(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    """An environment uv already looked at (before the site switched manylinux off) is cached by
    uv as accepting manylinux wheels; the wrapper writes the file and drops uv's cached answer,
    so the next install takes the wheelhouse build."""
    site = make_site(tmp_path, build_prefix, manylinux=True, strategy="unsafe-best-match")
    proj = site.project("old")
    env = site.env_of(proj)
    python = shlex.quote(str(env / "bin" / "python"))
    show = f"{python} -c 'import tinyml; print(tinyml.VALUE)'"
    assert (
        site.in_project(proj, "uv sync", PIP_INSTALL, show).stdout.splitlines()[-1] == "tinyml 2.0"
    )
    on = make_site(tmp_path / "on", build_prefix, manylinux=False, strategy="unsafe-best-match")
    site.prefix = on.prefix
    result = site.in_project(proj, "(unset UV_PYTHON; uv pip uninstall tinyml)", PIP_INSTALL, show)
    assert result.stdout.splitlines()[-1] == "tinyml 1.0+local"
    assert refuses(env)


def test_uv_pip_python_names_an_environment_made_without_the_module(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    """`uv pip install --python DIR` (or DIR/bin/python): the wrapper sees the target."""
    import subprocess

    from tests.support import tools

    site = make_site(tmp_path, build_prefix, manylinux=False, strategy="unsafe-best-match")
    for n, spelled in enumerate(("{}", "{}/bin/python")):
        plain = tmp_path / f"plain{n}"
        subprocess.run(
            [tools.real_uv(), "venv", "-q", "--python", sys.executable, str(plain)],
            env={**site.env, "UV_CACHE_DIR": str(tmp_path / "scratch" / "uv")},
            check=True,
        )
        target = shlex.quote(spelled.format(plain))
        site.run(f"(unset UV_PYTHON; uv pip install --python {target} tinyml)")
        value = subprocess.run(
            [plain / "bin" / "python", "-c", "import tinyml; print(tinyml.VALUE)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert value == "tinyml 1.0+local"
        assert refuses(plain)


def test_eight_concurrent_first_runs_with_the_switch(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    """Eight `uv run` on a fresh project at once: each may make the environment (`uv venv
    --allow-existing` writes the same files), every one gets the wheelhouse build."""
    site = make_site(tmp_path, build_prefix, manylinux=False, strategy="unsafe-first-match")
    proj = site.project("busy", "tinyml")
    out = tmp_path / "out"
    out.mkdir()
    files = [shlex.quote(str(out / str(n))) for n in range(8)]
    runs = " ".join(f"( {SHOW} > {f} 2>&1; echo $? >> {f} ) &" for f in files)
    site.in_project(proj, runs + " wait")
    for n in range(8):
        assert (out / str(n)).read_text().splitlines()[-2:] == ["tinyml 1.0+local", "0"], n
    assert refuses(site.env_of(proj))
