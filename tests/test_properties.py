"""Property-based tests over site configurations (hypothesis), one suite for both modulefiles.

Any configuration the model accepts renders, for each modulefile language of TARGETS (Lua for
Lmod, Tcl for Environment Modules), a modulefile that its checker reads as complete (`luac -p`,
tclsh) and that, run under a recording stub of the module tool's functions
(tests/support/luastub.lua, tests/support/tclstub.tcl), sets exactly the configured strings; a
wrapper that `sh -n` accepts; and uv.toml files that read back to the same policy. Any
configuration it rejects exits 2 with nothing written. A sample of accepted configurations is
built under a prefix with a space and loaded in each real module tool of the matrix. A few
hundred cases by default; `pytest -m slow` runs thousands. A failure prints its falsifying
example and the `@reproduce_failure` line that replays it (tests/support/seeds.py).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.support import tools
from tests.support.modules import ENVIRONMENT_MODULES, LMODS, ModuleTool, base_env
from uvmod import pathexpr
from uvmod.cli import main
from uvmod.config import SiteConfig
from uvmod.layout import Layout
from uvmod.plan import plan_tree
from uvmod.policy import policy

SUPPORT = Path(__file__).parent / "support"

SUSPICIOUS = "\"'\\]]=[{}`;() é雪/-._+:,"
# Values a site may legitimately write: anything but control characters, hostile ones favoured.
safe_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"))
    | st.sampled_from(SUSPICIOUS),
    max_size=24,
)
no_dollar = safe_text.map(lambda t: t.replace("$", ""))
name = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,10}", fullmatch=True)
env_name = st.from_regex(r"[A-Z_][A-Z0-9_]{0,8}", fullmatch=True)
flag = st.sampled_from(["avx2", "avx512f", "sse4_2", "fma"])
BAD_VALUES = [
    "two\nlines",
    "tab\there",
    "bell\x07",
    "relative/path",
    "$HOME/x",
    "${OPEN",
    "a b",
    "",
]


@st.composite
def path_template(draw: st.DrawFn) -> str:
    pieces = draw(
        st.lists(
            st.one_of(
                no_dollar.map(lambda t: t.replace("}", "")),
                st.sampled_from(["${SCRATCH}", "${HOME}", "${X:-/fallback}", "${A:-${B:-/b}}"]),
            ),
            max_size=4,
        )
    )
    start = draw(st.sampled_from(["/", "${SCRATCH:-/s}", "${HOME}/"]))
    return start + "".join(pieces)


@st.composite
def valid_site(draw: st.DrawFn) -> dict[str, Any]:
    archs = draw(st.lists(name, min_size=1, max_size=3, unique=True))
    data: dict[str, Any] = {
        "module": {"name": draw(name), "version": draw(name), "description": draw(safe_text)},
        "paths": {"cache": draw(path_template()), "venv_depot": draw(path_template())},
        "arch": {
            "env": draw(st.lists(env_name, max_size=2)),
            "flags": {a: draw(st.lists(flag, max_size=2)) for a in archs},
        },
        "wheelhouse": {
            "pypi": draw(st.booleans()),
            "only_binary": draw(st.lists(name, max_size=2)),
            "constraints": draw(st.lists(no_dollar.map(lambda t: "/" + t), max_size=2)),
        },
        "cache_key": {"modules": draw(st.lists(name, max_size=3))},
    }
    if draw(st.booleans()) or not data["wheelhouse"]["pypi"]:
        data["wheelhouse"]["root"] = "/" + draw(no_dollar)
        data["wheelhouse"]["arch"] = {
            a: draw(st.lists(name, min_size=1, max_size=2)) for a in archs
        }
    return data


@st.composite
def site_dict(draw: st.DrawFn) -> dict[str, Any]:
    """Mostly valid configurations; a third of them with one value spoiled."""
    data = draw(valid_site())
    if draw(st.integers(0, 2)) == 0:
        section = draw(st.sampled_from(["module", "paths", "wheelhouse"]))
        key = draw(st.sampled_from(sorted(data[section])))
        if isinstance(data[section][key], str):
            data[section][key] = draw(st.sampled_from(BAD_VALUES))
        else:
            data[section]["unknown_key"] = 1
    return data


def with_wheelhouse_in(data: dict[str, Any], tmp: str) -> dict[str, Any]:
    """`data` with its wheelhouse moved under `tmp` and every directory created: a build stops
    (exit 2) when none of an architecture's directories exists and PyPI is off."""
    wheelhouse = data["wheelhouse"]
    if "root" not in wheelhouse:
        return data
    root = f"{tmp}/wheelhouse{wheelhouse['root']}"
    for dirs in wheelhouse["arch"].values():
        for relative in dirs:
            os.makedirs(f"{root}/{relative}", exist_ok=True)
    return {**data, "wheelhouse": {**wheelhouse, "root": root}}


def _expected_values(config: SiteConfig, env: dict[str, str], arch: str) -> dict[str, str]:
    return {
        "UV_CACHE_DIR": pathexpr.expand(pathexpr.parse(config.paths.cache), env),
        "UVMOD_VENV_DEPOT": pathexpr.expand(pathexpr.parse(config.paths.venv_depot), env),
        "UVMOD_ARCH": arch,
    }


def _run_stub(argv: Sequence[str], text: str, env: dict[str, str]) -> bytes:
    """Run a stub with the modulefile `text` written to a file, whose path replaces `{}`."""
    with tempfile.NamedTemporaryFile("wb", delete=False) as handle:
        handle.write(text.encode("utf-8"))
    try:
        command = [handle.name if arg == "{}" else arg for arg in argv]
        return subprocess.run(command, capture_output=True, env=env, check=True).stdout
    finally:
        os.unlink(handle.name)


def _lua_records(text: str, env: dict[str, str]) -> list[list[str]]:
    subprocess.run([tools.program("luac"), "-p", "-"], input=text.encode(), check=True)
    out = _run_stub([tools.program("lua"), str(SUPPORT / "luastub.lua"), "{}"], text, env)
    return [record.decode().split("\0") for record in out.split(b"\0\0") if record]


def _tcl_records(text: str, env: dict[str, str]) -> list[list[str]]:
    assert text.startswith("#%Module")
    stub = [tools.program("tclsh"), str(SUPPORT / "tclstub.tcl"), "{}", "load", "5.2.0"]
    out = _run_stub(stub, text, env)
    return [line.split("\x1f") for line in out.decode("utf-8").splitlines()]


@dataclass(frozen=True)
class Target:
    """One modulefile language: its file in the tree, its checker and stub (records named
    `setenv`, `whatis`, ..., `abort` for a load the modulefile stops, `error` for a bug), and the
    module tools of the matrix that load it for real."""

    id: str
    modulefile: Callable[[Layout], PurePosixPath]
    records: Callable[[str, dict[str, str]], list[list[str]]]
    tools: Sequence[ModuleTool]


TARGETS = [
    Target("lua", lambda layout: layout.lua_modulefile, _lua_records, LMODS),
    Target("tcl", lambda layout: layout.tcl_modulefile, _tcl_records, ENVIRONMENT_MODULES),
]
targets = pytest.mark.parametrize("target", TARGETS, ids=[t.id for t in TARGETS])


def check_config(data: dict[str, Any], target: Target) -> None:
    try:
        config = SiteConfig.model_validate(data)
    except ValidationError:
        with tempfile.TemporaryDirectory() as tmp:
            site = Path(tmp) / "site.toml"
            site.write_text(tomli_w.dumps(data))
            prefix = Path(tmp) / "prefix"
            assert main(["build-modulefiles", "--config", str(site), "--prefix", str(prefix)]) == 2
            assert not prefix.exists()
        return
    layout = Layout(PurePosixPath("/opt/uvmod"), config.module.name, config.module.version)
    files = {str(f.path): f.content for f in plan_tree(config, layout, "/opt/uv/bin/uv")}
    for arch in config.archs:
        rendered = tomllib.loads(files[str(layout.uv_toml(arch))])
        assert rendered == policy(config, arch)
    subprocess.run(["sh", "-n"], input=files[str(layout.wrapper)].encode(), check=True)
    env = {"HOME": "/home/u", "SCRATCH": "/scratch/u", "X": "", "PATH": "/usr/bin:/bin"}
    env["LANG"] = "C.UTF-8"
    env[config.arch.env[0] if config.arch.env else "UNUSED"] = config.archs[0]
    records = target.records(files[str(target.modulefile(layout))], env)
    assert not [r for r in records if r[0] == "error"], records
    try:
        expected = _expected_values(config, env, config.archs[0] if config.arch.env else "")
    except KeyError:  # a ${VAR} without default that is unset: the load must stop clearly
        assert records[-1][0] == "abort", records
        return
    assert not [r for r in records if r[0] == "abort"], records
    setenvs = {r[1]: r[2] for r in records if r[0] == "setenv"}
    for key, value in expected.items():
        if key == "UVMOD_ARCH" and not config.arch.env:
            continue
        assert setenvs[key] == value
    assert setenvs["UV_PYTHON_PREFERENCE"] == config.python.preference
    whatis = [r[1] for r in records if r[0] == "whatis"]
    assert f"Description: {config.module.description}" in whatis


@targets
@settings(max_examples=175, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=site_dict())
def test_any_config_renders_safely_or_is_rejected(target: Target, data: dict[str, Any]) -> None:
    check_config(data, target)


@pytest.mark.slow
@targets
@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=site_dict())
def test_any_config_renders_safely_or_is_rejected_many(
    target: Target, data: dict[str, Any]
) -> None:
    check_config(data, target)


@targets
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=valid_site())
def test_a_sample_loads_in_real_module_tools_with_exact_values(
    target: Target, data: dict[str, Any]
) -> None:
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
        for tool in target.tools:  # each version of the target's module tool
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
                assert "which is not set" in result.stderr, tool.id
                assert "UV_CACHE_DIR" not in result.environ, tool.id
                continue
            assert result.returncode == 0, (tool.id, result.stderr)
            for key, value in expected.items():
                assert result.environ[key] == value, tool.id
            assert result.environ["UVMOD_ARCH"] in config.archs
