"""Property-based tests of the Tcl rendering, over the site configurations of test_properties.

Any configuration the model accepts renders a Tcl modulefile that tclsh reads as complete and
that sets exactly the configured strings (checked under tests/support/tclstub.tcl); a sample is
loaded in real Environment Modules too.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from tests.support import tools
from tests.test_properties import _expected_values, valid_site, with_wheelhouse_in
from uvmod.cli import main
from uvmod.config import SiteConfig
from uvmod.layout import Layout
from uvmod.plan import plan_tree

TCL_STUB = Path(__file__).parent / "support" / "tclstub.tcl"


def _run_stub(tcl_text: str, env: dict[str, str]) -> list[list[str]]:
    with tempfile.NamedTemporaryFile("wb", delete=False) as handle:
        handle.write(tcl_text.encode("utf-8"))
    try:
        proc = subprocess.run(
            [tools.program("tclsh"), str(TCL_STUB), handle.name, "load", "5.2.0"],
            capture_output=True,
            env=env,
            check=True,
        )
    finally:
        os.unlink(handle.name)
    return [line.split("\x1f") for line in proc.stdout.decode("utf-8").splitlines()]


def check_tcl(data: dict[str, Any]) -> None:
    try:
        config = SiteConfig.model_validate(data)
    except ValidationError:
        return  # rejection is test_properties' business
    layout = Layout(PurePosixPath("/opt/uvmod"), config.module.name, config.module.version)
    files = {str(f.path): f.content for f in plan_tree(config, layout, "/opt/uv/bin/uv")}
    tcl_text = files[str(layout.tcl_modulefile)]
    assert tcl_text.startswith("#%Module")
    env = {"HOME": "/home/u", "SCRATCH": "/scratch/u", "X": "", "PATH": "/usr/bin:/bin"}
    env["LANG"] = "C.UTF-8"
    env[config.arch.env[0] if config.arch.env else "UNUSED"] = config.archs[0]
    records = _run_stub(tcl_text, env)
    assert not [r for r in records if r[0] == "error"], records
    try:
        expected = _expected_values(config, env, config.archs[0] if config.arch.env else "")
    except KeyError:  # a ${VAR} without default that is unset: the load must abort
        assert records[-1] == ["abort"]
        return
    setenvs = {r[1]: r[2] for r in records if r[0] == "setenv"}
    for key, value in expected.items():
        if key == "UVMOD_ARCH" and not config.arch.env:
            continue
        assert setenvs[key] == value
    assert setenvs["UV_PYTHON_PREFERENCE"] == config.python.preference
    whatis = [r[1] for r in records if r[0] == "whatis"]
    assert f"Description: {config.module.description}" in whatis


@pytest.fixture(autouse=True)
def _tools() -> None:
    tools.program("tclsh")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_site())
def test_any_config_renders_tcl_that_sets_exact_values(data: dict[str, Any]) -> None:
    check_tcl(data)


@pytest.mark.slow
@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_site())
def test_any_config_renders_tcl_that_sets_exact_values_many(data: dict[str, Any]) -> None:
    check_tcl(data)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_site())
def test_a_sample_loads_in_real_environment_modules_with_exact_values(
    data: dict[str, Any],
) -> None:
    from tests.support.modules import ENVIRONMENT_MODULES, base_env

    try:
        config = SiteConfig.model_validate(data)
    except ValidationError:
        return
    # The model rejects '+' in uv-hpc's own name and version (EM 5 reads it as a variant).
    assert "+" not in config.module.name + config.module.version
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site.toml"
        site.write_text(tomli_w.dumps(with_wheelhouse_in(data, tmp)))
        prefix = Path(tmp) / "prefix with space"
        argv = ["build-modulefiles", "--config", str(site), "--prefix", str(prefix)]
        assert main([*argv, "--uv", "/usr/bin/true"]) == 0
        env = base_env(Path(tmp), {"SCRATCH": "/scratch/u", "X": ""})
        for tool in ENVIRONMENT_MODULES:  # each Environment Modules of the matrix
            tool.require()
            result = tool.run(
                [f"module load {config.module.name}/{config.module.version}"],
                env,
                modulepath=[prefix / "modulefiles"],
                check=False,
            )
            try:
                expected = _expected_values(config, env, result.environ.get("UVMOD_ARCH", ""))
            except KeyError:
                assert "which is not set" in result.stderr
                assert "UV_CACHE_DIR" not in result.environ
                continue
            assert "UVMOD_ARCH" in result.environ, (tool.id, result.stderr)
            for key, value in expected.items():
                assert result.environ[key] == value, tool.id
            assert result.environ["UVMOD_ARCH"] in config.archs
