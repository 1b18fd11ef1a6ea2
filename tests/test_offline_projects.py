"""`uv init` and `uv add` on a wheelhouse-only site (`pypi = false`), offline, with the real uv in
real Lmod: a package with a macOS-only dependency (ipykernel's appnope, here `tinykernel` and
`tinyappnope`, which the wheelhouse does not hold) can be added to a project `uv init` made, and
fails with one line naming the fix in a project without the `environments` line
(docs/design.md#offline-projects)."""

from __future__ import annotations

import shlex
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support.modules import ShellResult, base_env, run_lmod
from tests.support.wheels import tiny_wheel
from uvmod.config import load_config

MARKER = "sys_platform == 'linux' and implementation_name == 'cpython'"


def make_site(tmp: Path, build: BuildPrefix, extra: str = "") -> dict[str, str | Path]:
    generic = tmp / "wheelhouse" / "generic"
    tiny_wheel(generic, "tinykernel", "1.0", requires=["tinyappnope; sys_platform == 'darwin'"])
    toml = f"""
[wheelhouse]
root = "{tmp / "wheelhouse"}"
pypi = false
{extra}
[wheelhouse.arch]
avx512 = ["generic"]
avx2 = ["generic"]
generic = ["generic"]
[python]
downloads = "never"
"""
    return {"prefix": build(toml, prefix=tmp / "prefix"), "tmp": tmp}


def run(site: dict[str, str | Path], *lines: str, check: bool = True) -> ShellResult:
    tmp = Path(site["tmp"])
    env = base_env(
        tmp,
        {
            "SCRATCH": str(tmp / "scratch"),
            "RSNT_ARCH": "generic",
            "UV_PYTHON": sys.executable,
            "UV_OFFLINE": "1",
        },
    )
    (tmp / "WORK").mkdir(exist_ok=True)
    return run_lmod(
        ["module load uv-hpc", f"cd {shlex.quote(str(tmp / 'WORK'))}", *lines],
        env,
        modulepath=[Path(site["prefix"]) / "modulefiles"],
        check=check,
        timeout=300,
    )


def test_uv_init_then_uv_add_works_offline(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    site = make_site(tmp_path, build_prefix)
    run(
        site, "uv init demo", "cd demo", "uv add tinykernel", "uv run python -c 'import tinykernel'"
    )
    pyproject = tomllib.loads((tmp_path / "WORK" / "demo" / "pyproject.toml").read_text())
    assert pyproject["tool"]["uv"]["environments"] == [MARKER]
    assert pyproject["project"]["dependencies"] == ["tinykernel>=1.0"]
    lock = tomllib.loads((tmp_path / "WORK" / "demo" / "uv.lock").read_text())
    assert [p["name"] for p in lock["package"] if p["name"] == "tinykernel"] == ["tinykernel"]


def test_uv_add_without_the_line_names_the_fix(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    site = make_site(tmp_path, build_prefix)
    proj = tmp_path / "WORK" / "old"
    proj.mkdir(parents=True)
    (proj / "pyproject.toml").write_text(
        '[project]\nname = "old"\nversion = "0"\nrequires-python = ">=3.8"\ndependencies = []\n'
    )
    failed = run(site, "cd old", "uv add tinykernel", check=False)
    assert failed.returncode == 1
    assert "tinyappnope" in failed.stderr  # uv's own message, kept
    last = failed.stderr.strip().splitlines()[-1]
    assert last.startswith("uv-hpc: this site serves Linux wheels only")
    assert f'environments = ["{MARKER}"]' in last and str(proj / "pyproject.toml") in last
    # The fix, as printed, works.
    with (proj / "pyproject.toml").open("a") as f:
        f.write(f'\n[tool.uv]\nenvironments = ["{MARKER}"]\n')
    run(site, "cd old", "uv add tinykernel")


def test_an_empty_list_switches_both_off(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    site = make_site(tmp_path, build_prefix, "project_environments = []")
    failed = run(site, "uv init demo", "cd demo", "uv add tinykernel", check=False)
    assert failed.returncode == 1
    assert "uv-hpc:" not in failed.stderr
    assert "environments" not in (tmp_path / "WORK" / "demo" / "pyproject.toml").read_text()


@pytest.mark.parametrize(
    "marker", ['sys_platform == "linux"', "sys_platform = 'linux'", "a\\b", "os_name == 'x'\n"]
)
def test_markers_are_validated(tmp_path: Path, marker: str) -> None:
    from uvmod.errors import ConfigError

    config = tmp_path / "site.toml"
    config.write_text(f"[wheelhouse]\nproject_environments = [{tomllib_string(marker)}]\n")
    with pytest.raises(ConfigError) as err:
        load_config(config)
    assert "wheelhouse.project_environments" in str(err.value)


def tomllib_string(value: str) -> str:
    import json

    return json.dumps(value)
