"""Finding the real uv: --uv, module.uv, PATH, then the uv installed with uvmod; its version."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.support import tools
from uvmod import realuv
from uvmod.cli import main
from uvmod.errors import ConfigError
from uvmod.realuv import COVERED_UV, find_real_uv, uv_version, version_warning

REPO = Path(__file__).resolve().parent.parent


def fake_uv(directory: Path, version_line: str = "uv 0.13.8 (fake)") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "uv"
    path.write_text(f"#!/bin/sh\necho '{version_line}'\n")
    path.chmod(0o755)
    return path


def test_the_order_is_flag_config_path_then_installed(tmp_path: Path) -> None:
    on_path = fake_uv(tmp_path / "bin")
    env = {"PATH": f"{tmp_path}/empty:{tmp_path}/bin"}
    assert find_real_uv("/site/uv", "/flag/uv", env) == realuv.RealUv("/flag/uv", "--uv")
    assert find_real_uv("/site/uv", None, env) == realuv.RealUv("/site/uv", "module.uv")
    assert find_real_uv(None, None, env) == realuv.RealUv(str(on_path), "PATH")
    # Nothing on PATH (a bare machine running .venv/bin/uvmod): the uv of uvmod's dependency.
    installed = find_real_uv(None, None, {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    assert installed.how == "installed with uvmod"
    assert Path(installed.path).samefile(tools.real_uv())


def test_a_wrapper_on_path_is_skipped_and_refused_by_name(tmp_path: Path) -> None:
    argv = ["build-modulefiles", "--prefix", str(tmp_path / "p"), "--uv", "/usr/bin/true"]
    assert main(argv) == 0
    wrapper_dir = tmp_path / "p" / "uv-hpc" / "1.0" / "bin"
    real = fake_uv(tmp_path / "real")
    # `module load uv-hpc` puts the wrapper first: building then must not take it for uv.
    found = find_real_uv(None, None, {"PATH": f"{wrapper_dir}:{real.parent}"})
    assert found == realuv.RealUv(str(real), "PATH")
    with pytest.raises(ConfigError, match="is a uvmod wrapper, not the real uv"):
        find_real_uv(None, str(wrapper_dir / "uv"))


def test_no_uv_anywhere_is_a_located_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # The one case that cannot be set up for real: this interpreter has the uv package.
    monkeypatch.setattr(realuv, "_installed_with_uvmod", lambda: None)
    with pytest.raises(ConfigError) as info:
        find_real_uv(None, None, {"PATH": "/nonexistent"})
    assert info.value.messages[0].startswith("module.uv: not set in the site config, no `uv`")


def test_the_version_is_read_and_checked(tmp_path: Path) -> None:
    version, error = uv_version(tools.real_uv())
    assert version is not None and version in COVERED_UV, error
    assert version_warning(tools.real_uv(), version, error) is None
    newer = fake_uv(tmp_path / "newer", "uv 0.14.2 (x)")
    warning = version_warning(str(newer), *uv_version(str(newer)))
    assert warning == (
        f"{newer} is uv 0.14.2; uvmod's test suite covers uv ==0.13.8 only, so the wrapper's "
        "handling of uv's options and the site policy are untested with it"
    )
    silent = version_warning("/usr/bin/true", *uv_version("/usr/bin/true"))
    assert silent == "cannot tell which uv /usr/bin/true is (`--version`: it printed no uv version)"


def test_build_warns_about_a_uv_outside_the_covered_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    newer = fake_uv(tmp_path / "newer", "uv 0.14.2 (x)")
    assert main(["build-modulefiles", "--prefix", str(tmp_path / "p"), "--uv", str(newer)]) == 0
    captured = capsys.readouterr()
    assert f"uvmod: warning: {newer} is uv 0.14.2; uvmod's test suite covers" in captured.err
    assert f"the wrapper runs {newer} (--uv)" in captured.out


def test_the_covered_range_is_the_dependency_pyproject_installs() -> None:
    """One range: pyproject.toml's dependency on uv (what `pip install uvmod` and the test suite
    get) is exactly COVERED_UV."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    (uv,) = [r for r in map(Requirement, project["dependencies"]) if r.name == "uv"]
    assert uv.specifier == COVERED_UV
    extras = [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    assert not [r for r in extras if r.name == "uv"], "pin uv once, in dependencies"
