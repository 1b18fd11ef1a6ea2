"""The generated uv-hpc modulefile loaded in every module tool of the matrix: the same variables,
the same architecture detection against captured /proc/cpuinfo files, the same unload.

Lmod reads modulefiles/uv-hpc/1.0.lua and Environment Modules the `#%Module` file next to it;
one description renders both, so everything here must hold in each tool alike, but for where the
tools themselves differ (Environment Modules refuses a second version where Lmod swaps), tested
here over the same matrix. What only one tool does is in tests/test_lmod_module.py and
tests/test_envmodules_module.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support.cpuprobe import CpuinfoProbe
from tests.support.modules import MODULE_TOOLS, ModuleTool, base_env, unwrapped, user_visible

CPUINFO = Path(__file__).parent / "data" / "cpuinfo"


def test_load_sets_the_contract_variables(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path, {"SCRATCH": str(tmp_path / "scratch"), "RSNT_ARCH": "avx2"})
    result = module_tool.run(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    out = result.environ
    assert out["LOADEDMODULES"] == "uv-hpc/1.0"
    assert out["_LMFILES_"] == f"{prefix}/modulefiles/uv-hpc/1.0{module_tool.modulefile_suffix}"
    assert out["UV_CACHE_DIR"] == f"{tmp_path}/scratch/uv"
    assert out["UVMOD_VENV_DEPOT"] == f"{tmp_path}/scratch/uv-venvs"
    assert out["UVMOD_ARCH"] == "avx2"
    assert out["UVMOD_HOME"] == f"{prefix}/uv-hpc/1.0"
    assert out["XDG_CONFIG_DIRS"] == f"{prefix}/uv-hpc/1.0/etc/avx2"
    assert out["PATH"].split(":")[0] == f"{prefix}/uv-hpc/1.0/bin"
    assert out["UV_PYTHON_PREFERENCE"] == "system"
    assert out["UV_PYTHON_DOWNLOADS"] == "manual"
    # No Lmod hook here (no LMOD_PACKAGE_PATH): the key is the modulefile's, and there is none.
    assert out["UVMOD_KEY_SOURCE"] == "load"
    assert "UVMOD_CACHE_KEY" not in out
    assert result.stdout == ""
    assert result.stderr.strip() == ""


def test_every_tool_sets_the_same_variables(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    """One description, four tools: the user-visible environment after a load is identical."""
    prefix = build_prefix()
    env = base_env(tmp_path, {"UVMOD_CPUINFO": str(CPUINFO / "epyc-rome-avx2.txt")})
    seen = {}
    for tool in MODULE_TOOLS:
        tool.require()
        out = tool.run(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"]).environ
        seen[tool.id] = {
            k: v
            for k, v in user_visible(out).items()
            # Each tool's own variables (LMOD_*, MODULES_*, MODULESHOME, BASH_FUNC_*) differ.
            if k.startswith(("UV", "XDG")) or k == "PATH"
        }
    first = seen[MODULE_TOOLS[0].id]
    assert first["UVMOD_ARCH"] == "avx2"
    for tool_id, variables in seen.items():
        assert variables == first, tool_id


def test_a_second_version_replaces_the_first_or_is_refused(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    """Lmod swaps one version for another (family `uv`); Environment Modules refuses the second
    load (family and conflict), and `module switch` changes the version. Either way one wrapper
    is on PATH."""
    prefix = tmp_path / "shared"
    build_prefix(prefix=prefix)
    build_prefix('[module]\nversion = "2.0"\n', prefix=prefix)
    env, modulepath = base_env(tmp_path), [prefix / "modulefiles"]
    second = module_tool.run(
        ["module load uv-hpc/1.0", "module load uv-hpc/2.0"],
        env,
        modulepath=modulepath,
        check=False,
    )
    if module_tool.is_lmod:
        assert second.returncode == 0, second.stderr
        switched = second.environ
    else:
        assert second.returncode != 0
        assert second.environ["LOADEDMODULES"] == "uv-hpc/1.0"
        assert second.environ["PATH"].count("/uv-hpc/") == 1
        assert "conflict" in second.stderr
        switch = ["module load uv-hpc/1.0", "module switch uv-hpc/2.0"]
        switched = module_tool.run(switch, env, modulepath=modulepath).environ
    assert switched["LOADEDMODULES"] == "uv-hpc/2.0"
    assert switched["PATH"].split(":")[0] == f"{prefix}/uv-hpc/2.0/bin"
    assert switched["PATH"].count("/uv-hpc/") == 1


def test_scratch_unset_falls_back_to_home_cache(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path)
    out = module_tool.run(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"]).environ
    assert out["UV_CACHE_DIR"] == f"{env['HOME']}/.cache/uv"
    assert out["UVMOD_VENV_DEPOT"] == f"{env['HOME']}/.cache/uv-venvs"


def test_unset_variable_without_default_aborts_the_load(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    prefix = build_prefix('[paths]\ncache = "${PROJECT_SCRATCH}/uv"\n')
    result = module_tool.run(
        ["module load uv-hpc", 'echo "status=$?"'],
        base_env(tmp_path),
        modulepath=[prefix / "modulefiles"],
    )
    assert "status=1" in result.stdout
    message = "uv-hpc: UV_CACHE_DIR needs $PROJECT_SCRATCH, which is not set"
    assert unwrapped(result.stderr).count(message) == 1
    # Once, and without a Tcl traceback (Environment Modules 5.2: docs/design.md).
    assert "while executing" not in result.stderr
    assert "LOADEDMODULES" not in result.environ or result.environ["LOADEDMODULES"] == ""
    assert "UV_CACHE_DIR" not in result.environ


def test_unload_restores_the_environment_exactly(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path, {"XDG_CONFIG_DIRS": "/etc/xdg:/opt/site/xdg"})
    modulepath = [prefix / "modulefiles"]
    before = module_tool.run([":"], env, modulepath=modulepath).environ
    loaded = module_tool.run(["module load uv-hpc"], env, modulepath=modulepath).environ
    assert loaded["XDG_CONFIG_DIRS"].endswith(":/etc/xdg:/opt/site/xdg")
    after = module_tool.run(
        ["module load uv-hpc", "module unload uv-hpc"], env, modulepath=modulepath
    ).environ
    assert user_visible(after) == user_visible(before)


def test_unload_restores_unset_xdg_config_dirs(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    prefix = build_prefix()
    after = module_tool.run(
        ["module load uv-hpc", "module unload uv-hpc"],
        base_env(tmp_path),
        modulepath=[prefix / "modulefiles"],
    ).environ
    for name in ("XDG_CONFIG_DIRS", "UV_CACHE_DIR", "UVMOD_ARCH", "UVMOD_KEY_SOURCE"):
        assert name not in after
    assert "uv-hpc" not in after["PATH"]


def test_each_tool_loads_its_own_file_of_the_prefix(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    # Both files sit in modulefiles/uv-hpc/: Lmod must use 1.0.lua, Environment Modules the
    # #%Module file (it ignores files without that header).
    prefix = build_prefix()
    out = module_tool.run(
        ["module load uv-hpc"],
        base_env(tmp_path, {"RSNT_ARCH": "avx2"}),
        modulepath=[prefix / "modulefiles"],
    ).environ
    assert out["_LMFILES_"] == f"{prefix}/modulefiles/uv-hpc/1.0{module_tool.modulefile_suffix}"
    assert out["LOADEDMODULES"] == "uv-hpc/1.0"
    assert out["UVMOD_ARCH"] == "avx2"


@pytest.mark.parametrize(
    ("cpuinfo", "expected"),
    [
        ("skylake-avx512.txt", "avx512"),
        ("epyc-rome-avx2.txt", "avx2"),
        ("core2-sse.txt", "generic"),
    ],
)
def test_cpuinfo_flags_select_the_arch(
    tmp_path: Path,
    build_prefix: BuildPrefix,
    module_tool: ModuleTool,
    cpuinfo: str,
    expected: str,
) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path, {"UVMOD_CPUINFO": str(CPUINFO / cpuinfo)})
    result = module_tool.run(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    assert result.environ["UVMOD_ARCH"] == expected
    assert result.environ["XDG_CONFIG_DIRS"] == f"{prefix}/uv-hpc/1.0/etc/{expected}"
    assert (prefix / f"uv-hpc/1.0/etc/{expected}/uv/uv.toml").is_file()
    assert result.stderr.strip() == ""


def test_override_variables_win_over_cpuinfo_in_order(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    prefix = build_prefix('[arch]\nenv = ["SITE_ARCH", "RSNT_ARCH"]\n')
    cpuinfo = str(CPUINFO / "core2-sse.txt")
    modulepath = [prefix / "modulefiles"]
    cases = [
        ({"RSNT_ARCH": "avx2"}, "avx2"),  # over cpuinfo
        ({"RSNT_ARCH": "avx2", "SITE_ARCH": " avx512 "}, "avx512"),  # the first one set, trimmed
        ({"RSNT_ARCH": "avx2", "SITE_ARCH": ""}, "avx2"),  # empty counts as unset
    ]
    for extra, expected in cases:
        env = base_env(tmp_path, {"UVMOD_CPUINFO": cpuinfo, **extra})
        out = module_tool.run(["module load uv-hpc"], env, modulepath=modulepath).environ
        assert out["UVMOD_ARCH"] == expected, extra


def test_garbage_override_falls_back_with_a_message_on_stderr(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    prefix = build_prefix()
    env = base_env(tmp_path, {"RSNT_ARCH": "garbage;$(id)[exec id]"})
    result = module_tool.run(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    assert result.environ["UVMOD_ARCH"] == "generic"
    assert (
        "uv-hpc: $RSNT_ARCH=garbage;$(id)[exec id] is not a known architecture; using generic"
        in unwrapped(result.stderr)
    )
    assert result.stdout == ""


@pytest.mark.parametrize("content", [None, "", "processor : 0\nmodel name : garbage\n"])
def test_unreadable_or_flagless_cpuinfo_falls_back_with_a_message(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool, content: str | None
) -> None:
    prefix = build_prefix()
    cpuinfo = tmp_path / "cpuinfo"
    if content is not None:
        cpuinfo.write_text(content)
    env = base_env(tmp_path, {"UVMOD_CPUINFO": str(cpuinfo)})
    result = module_tool.run(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    assert result.environ["UVMOD_ARCH"] == "generic"
    assert f"uv-hpc: cannot read CPU flags from {cpuinfo}; using generic" in unwrapped(
        result.stderr
    )
    assert result.stdout == ""


def test_unload_removes_the_path_added_at_load_even_if_the_override_changed(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    prefix = build_prefix()
    result = module_tool.run(
        ["RSNT_ARCH=avx2 module load uv-hpc", "RSNT_ARCH=avx512 module unload uv-hpc"],
        base_env(tmp_path),
        modulepath=[prefix / "modulefiles"],
    )
    assert "XDG_CONFIG_DIRS" not in result.environ
    assert "UVMOD_ARCH" not in result.environ


# What users type to look at a module without loading it, in each tool's spelling.
LOOKS = {
    "lmod": ["module whatis uv-hpc", "module help uv-hpc", "module spider uv-hpc/1.0"],
    "envmodules": ["module whatis uv-hpc", "module help uv-hpc", "module search uv-hpc"],
}


def test_looking_at_the_module_reads_no_cpuinfo_and_needs_no_variable(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    """help and whatis only read declarations: no arch detection, no path expansion, so no
    "needs $PROJECT_SCRATCH" where only `module load` needs it."""
    prefix = build_prefix('[paths]\ncache = "${PROJECT_SCRATCH}/uv"\n')
    with CpuinfoProbe(tmp_path) as probe:
        env = base_env(tmp_path, {"UVMOD_CPUINFO": str(probe.path)})
        result = module_tool.run(
            [f"{command} || exit 3" for command in LOOKS[module_tool.kind]],
            env,
            modulepath=[prefix / "modulefiles"],
        )
    assert not probe.opened
    text = unwrapped(result.stderr)
    assert "Description: uv, the Python package and project manager" in text
    assert "compiled wheels are keyed on the loaded MPI/CUDA modules" in text  # the help text
    assert "PROJECT_SCRATCH" not in text
    assert result.stdout == ""
    # The probe sees a read: loading does detect the arch from it.
    with CpuinfoProbe(tmp_path) as probe:
        env = base_env(tmp_path, {"UVMOD_CPUINFO": str(probe.path), "PROJECT_SCRATCH": "/p"})
        loaded = module_tool.run(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    assert probe.opened
    assert loaded.environ["UVMOD_ARCH"] == "avx2"
