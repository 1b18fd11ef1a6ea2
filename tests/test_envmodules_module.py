"""The generated Tcl modulefile, loaded in real Environment Modules 5.2 (modulecmd.tcl)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support.modules import base_env, run_envmodules, run_lmod, user_visible

CPUINFO = Path(__file__).parent / "data" / "cpuinfo"


def test_load_sets_the_contract_variables(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path, {"SCRATCH": str(tmp_path / "scratch"), "RSNT_ARCH": "avx2"})
    result = run_envmodules(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    out = result.environ
    assert out["LOADEDMODULES"] == "uv-hpc/1.0"
    assert out["_LMFILES_"] == f"{prefix}/modulefiles/uv-hpc/1.0"
    assert out["UV_CACHE_DIR"] == f"{tmp_path}/scratch/uv"
    assert out["UVMOD_VENV_DEPOT"] == f"{tmp_path}/scratch/uv-venvs"
    assert out["UVMOD_ARCH"] == "avx2"
    assert out["UVMOD_HOME"] == f"{prefix}/uv-hpc/1.0"
    assert out["XDG_CONFIG_DIRS"] == f"{prefix}/uv-hpc/1.0/etc/avx2"
    assert out["PATH"].split(":")[0] == f"{prefix}/uv-hpc/1.0/bin"
    assert out["UV_PYTHON_PREFERENCE"] == "system"
    assert out["UV_PYTHON_DOWNLOADS"] == "manual"
    assert out["UVMOD_KEY_SOURCE"] == "load"
    assert "UVMOD_CACHE_KEY" not in out
    assert result.stdout == ""


def test_same_variables_as_under_lmod(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    # One description, two renderings: the user-visible result must be identical.
    prefix = build_prefix()
    env = base_env(tmp_path, {"UVMOD_CPUINFO": str(CPUINFO / "epyc-rome-avx2.txt")})
    script = ["module load uv-hpc"]
    em = run_envmodules(script, env, modulepath=[prefix / "modulefiles"]).environ
    lmod = run_lmod(script, env, modulepath=[prefix / "modulefiles"]).environ
    names = ["UV_CACHE_DIR", "UVMOD_VENV_DEPOT", "UVMOD_ARCH", "UVMOD_HOME", "XDG_CONFIG_DIRS"]
    names += ["UV_PYTHON_PREFERENCE", "UV_PYTHON_DOWNLOADS", "PATH"]
    assert {n: em[n] for n in names} == {n: lmod[n] for n in names}
    assert em["UVMOD_ARCH"] == "avx2"


def test_scratch_unset_falls_back_to_home_cache(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path)
    out = run_envmodules(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"]).environ
    assert out["UV_CACHE_DIR"] == f"{env['HOME']}/.cache/uv"
    assert out["UVMOD_VENV_DEPOT"] == f"{env['HOME']}/.cache/uv-venvs"


def test_unset_variable_without_default_aborts_the_load(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix = build_prefix('[paths]\ncache = "${PROJECT_SCRATCH}/uv"\n')
    env = base_env(tmp_path)
    result = run_envmodules(
        ["module load uv-hpc", 'echo "status=$?"'], env, modulepath=[prefix / "modulefiles"]
    )
    assert "status=1" in result.stdout
    assert "uv-hpc: UV_CACHE_DIR needs $PROJECT_SCRATCH, which is not set" in result.stderr
    assert "LOADEDMODULES" not in result.environ and "UV_CACHE_DIR" not in result.environ


def test_unload_restores_the_environment_exactly(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path, {"XDG_CONFIG_DIRS": "/etc/xdg:/opt/site/xdg"})
    modulepath = [prefix / "modulefiles"]
    before = run_envmodules([":"], env, modulepath=modulepath).environ
    loaded = run_envmodules(["module load uv-hpc"], env, modulepath=modulepath).environ
    assert loaded["XDG_CONFIG_DIRS"].endswith(":/etc/xdg:/opt/site/xdg")
    after = run_envmodules(
        ["module load uv-hpc", "module unload uv-hpc"], env, modulepath=modulepath
    ).environ
    assert user_visible(after) == user_visible(before)


def test_unload_restores_unset_xdg_config_dirs(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path)
    after = run_envmodules(
        ["module load uv-hpc", "module unload uv-hpc"], env, modulepath=[prefix / "modulefiles"]
    ).environ
    for name in ("XDG_CONFIG_DIRS", "UV_CACHE_DIR", "UVMOD_ARCH", "UVMOD_KEY_SOURCE"):
        assert name not in after
    assert "uv-hpc" not in after["PATH"]


def test_two_versions_cannot_be_loaded_together(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    # Environment Modules refuses the second one (family/conflict) where Lmod swaps; `module
    # switch` is the way to change version.
    prefix = tmp_path / "shared"
    build_prefix(prefix=prefix)
    build_prefix('[module]\nversion = "2.0"\n', prefix=prefix)
    env = base_env(tmp_path)
    modulepath = [prefix / "modulefiles"]
    refused = run_envmodules(
        ["module load uv-hpc/1.0", "module load uv-hpc/2.0"],
        env,
        modulepath=modulepath,
        check=False,
    )
    assert refused.returncode != 0
    assert refused.environ["LOADEDMODULES"] == "uv-hpc/1.0"
    assert refused.environ["PATH"].count("/uv-hpc/") == 1
    assert "conflict" in refused.stderr
    switched = run_envmodules(
        ["module load uv-hpc/1.0", "module switch uv-hpc/2.0"], env, modulepath=modulepath
    ).environ
    assert switched["LOADEDMODULES"] == "uv-hpc/2.0"
    assert switched["PATH"].split(":")[0] == f"{prefix}/uv-hpc/2.0/bin"
    assert switched["PATH"].count("/uv-hpc/") == 1


@pytest.mark.parametrize(
    ("cpuinfo", "expected"),
    [
        ("skylake-avx512.txt", "avx512"),
        ("epyc-rome-avx2.txt", "avx2"),
        ("core2-sse.txt", "generic"),
    ],
)
def test_cpuinfo_flags_select_the_arch(
    tmp_path: Path, build_prefix: BuildPrefix, cpuinfo: str, expected: str
) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path, {"UVMOD_CPUINFO": str(CPUINFO / cpuinfo)})
    result = run_envmodules(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    assert result.environ["UVMOD_ARCH"] == expected
    assert result.environ["XDG_CONFIG_DIRS"] == f"{prefix}/uv-hpc/1.0/etc/{expected}"
    assert result.stderr.strip() == ""


def test_override_variable_wins_over_cpuinfo(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix('[arch]\nenv = ["SITE_ARCH", "RSNT_ARCH"]\n')
    env = base_env(
        tmp_path,
        {
            "RSNT_ARCH": "avx2",
            "SITE_ARCH": " avx512 ",
            "UVMOD_CPUINFO": str(CPUINFO / "core2-sse.txt"),
        },
    )
    result = run_envmodules(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    assert result.environ["UVMOD_ARCH"] == "avx512"


def test_garbage_override_falls_back_with_a_message_on_stderr(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path, {"RSNT_ARCH": "garbage;$(id)[exec id]"})
    result = run_envmodules(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    assert result.environ["UVMOD_ARCH"] == "generic"
    assert (
        "uv-hpc: $RSNT_ARCH=garbage;$(id)[exec id] is not a known architecture; using generic"
        in result.stderr
    )
    assert result.stdout == ""


@pytest.mark.parametrize("content", [None, "", "processor : 0\nmodel name : garbage\n"])
def test_unreadable_or_flagless_cpuinfo_falls_back_with_a_message(
    tmp_path: Path, build_prefix: BuildPrefix, content: str | None
) -> None:
    prefix = build_prefix()
    cpuinfo = tmp_path / "cpuinfo"
    if content is not None:
        cpuinfo.write_text(content)
    env = base_env(tmp_path, {"UVMOD_CPUINFO": str(cpuinfo)})
    result = run_envmodules(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    assert result.environ["UVMOD_ARCH"] == "generic"
    assert f"uv-hpc: cannot read CPU flags from {cpuinfo}; using generic" in result.stderr
    assert result.stdout == ""


def test_unload_removes_the_path_added_at_load_even_if_the_override_changed(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path)
    result = run_envmodules(
        ["RSNT_ARCH=avx2 module load uv-hpc", "RSNT_ARCH=avx512 module unload uv-hpc"],
        env,
        modulepath=[prefix / "modulefiles"],
    )
    assert "XDG_CONFIG_DIRS" not in result.environ
    assert "UVMOD_ARCH" not in result.environ


# Characters that mean something to Tcl, to the shell that evals modulecmd's output, or to
# neither: each must arrive in the environment exactly as written.
AWKWARD = "we ird \"q\" 's' [b] {c} ;x& \\back é中"
# The prefix itself is a modulepath: Environment Modules 5.2 finds nothing in a modulepath with
# `[`, `{`, `}` or `\` (its directory scan treats them as glob patterns), so those stay out of it
# (docs/admin-guide.md).
AWKWARD_PREFIX = "we ird \"q\" 's' ;x& é中"


@pytest.mark.parametrize("lang", ["C.UTF-8", "C"])
def test_awkward_paths_arrive_exactly(tmp_path: Path, build_prefix: BuildPrefix, lang: str) -> None:
    # Under LANG=C Tcl reads and writes bytes as Latin-1: UTF-8 passes through unchanged.
    prefix = tmp_path / AWKWARD_PREFIX / "prefix"
    cache = f"/data/{AWKWARD}/${{SCRATCH:-/fallback [x];}}/uv"
    toml_cache = cache.replace("\\", "\\\\").replace('"', '\\"')
    build_prefix(f'[paths]\ncache = "{toml_cache}"\n', prefix=prefix)
    scratch = "/s/$HOME `id` $(id) ; \"q\" 's' [exec id] {b} \\ é"
    env = base_env(tmp_path, {"SCRATCH": scratch, "LANG": lang})
    result = run_envmodules(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    out = result.environ
    assert out["UV_CACHE_DIR"] == f"/data/{AWKWARD}/{scratch}/uv"
    assert out["UVMOD_HOME"] == f"{prefix}/uv-hpc/1.0"
    assert out["PATH"].split(":")[0] == f"{prefix}/uv-hpc/1.0/bin"
    without = run_envmodules(
        ["module load uv-hpc"],
        base_env(tmp_path, {"LANG": lang}),
        modulepath=[prefix / "modulefiles"],
    ).environ
    assert without["UV_CACHE_DIR"] == f"/data/{AWKWARD}//fallback [x];/uv"


@pytest.mark.parametrize("lang", ["C.UTF-8", "C"])
def test_awkward_description_in_whatis_and_help(
    tmp_path: Path, build_prefix: BuildPrefix, lang: str
) -> None:
    description = 'uv "for" $HOME [exec id] {x} ; \\n é中'
    toml = description.replace("\\", "\\\\").replace('"', '\\"')
    prefix = build_prefix(f'[module]\ndescription = "{toml}"\n')
    env = base_env(tmp_path, {"LANG": lang})
    result = run_envmodules(
        ["module whatis uv-hpc", "module help uv-hpc"], env, modulepath=[prefix / "modulefiles"]
    )
    assert f"Description: {description}\n" in result.stderr
    assert f"{description}.\n" in result.stderr


def test_lmod_picks_the_lua_file_of_the_same_prefix(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    # Both files sit in modulefiles/uv-hpc/: Lmod must use 1.0.lua, EM the #%Module file.
    prefix = build_prefix()
    env = base_env(tmp_path, {"RSNT_ARCH": "avx2"})
    modulepath = [prefix / "modulefiles"]
    lmod = run_lmod(["module load uv-hpc"], env, modulepath=modulepath).environ
    em = run_envmodules(["module load uv-hpc"], env, modulepath=modulepath).environ
    assert lmod["_LMFILES_"] == f"{prefix}/modulefiles/uv-hpc/1.0.lua"
    assert em["_LMFILES_"] == f"{prefix}/modulefiles/uv-hpc/1.0"
    assert lmod["LOADEDMODULES"] == em["LOADEDMODULES"] == "uv-hpc/1.0"
    assert lmod["UVMOD_ARCH"] == em["UVMOD_ARCH"] == "avx2"
