"""The key rule: Python (uvmod/cachekey.py) and Lua (lua/cache_key.lua) agree, and the hook
registration chains on both hook APIs of Lmod."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import tools
from uvmod.cachekey import compute_key, key_status
from uvmod.cli import main
from uvmod.config import CacheKeySection
from uvmod.render import packaged_text
from uvmod.render.lua import lua_value

MODULES = ["openmpi", "mpich", "cuda"]

TABLE = [
    # (loaded full names, family members, expected key)
    ([], {}, ""),
    (["gcc/12.2", "python/3.11"], {}, ""),
    (["mpich/4.1.2"], {}, "mpich/4.1.2"),
    (["cuda/12.2", "gcc/12", "mpich/4.1.2"], {}, "cuda/12.2,mpich/4.1.2"),
    (["mpich/4.1.2", "cuda/12.2"], {}, "cuda/12.2,mpich/4.1.2"),  # sorted, not load order
    (["mpich"], {}, "mpich"),  # a module without a version
    (["mpich-ext/1.0", "cudatoolkit/11"], {}, ""),  # a name is a whole path component
    (["intel-mpi/2021.9"], {"mpi": "intel-mpi"}, "intel-mpi/2021.9"),  # by family only
    (["mpich/4.1.2"], {"mpi": "mpich"}, "mpich/4.1.2"),  # by name and family: once
    (["impi/2021.9"], {"mpi": "impi", "compiler": "gcc"}, "impi/2021.9"),
    (["gcc/12.2"], {"compiler": "gcc"}, ""),  # a family not in [cache_key].families
    (["cuda/12.2", "Zlib/1", "cuda/11.8"], {}, "cuda/11.8,cuda/12.2"),
]


@pytest.mark.parametrize(("loaded", "members", "expected"), TABLE)
def test_compute_key(loaded: list[str], members: dict[str, str], expected: str) -> None:
    assert compute_key(MODULES, ["mpi"], loaded, members) == expected


def run_lua_key(
    modules: list[str], families: list[str], cases: list[tuple[list[str], dict[str, str]]]
) -> list[str]:
    """Run compute_cache_key of lua/cache_key.lua in a real Lua on each case."""
    lua = tools.program("lua5.3")
    data = lua_value(
        {
            "spec": {"modules": modules, "families": families},
            "cases": [
                {"loaded": loaded, "members": [m for f, m in members.items() if f in families]}
                for loaded, members in cases
            ],
        }
    )
    program = (
        packaged_text("lua", "cache_key.lua")
        + f"\nlocal data = {data}\n"
        + "for _, case in ipairs(data.cases) do\n"
        + "  io.write(compute_cache_key(data.spec, case.loaded, case.members), '\\0')\n"
        + "end\n"
    )
    proc = subprocess.run(
        [lua, "-"],
        input=program.encode(),
        capture_output=True,
        check=True,
        env={"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8"},
    )
    return proc.stdout.decode().split("\0")[:-1]


def test_lua_agrees_with_python_on_the_table() -> None:
    cases = [(loaded, members) for loaded, members, _ in TABLE]
    assert run_lua_key(MODULES, ["mpi"], cases) == [expected for _, _, expected in TABLE]


# Names as Lmod can load them: letters of both cases, digits, '._+-' and '/'.
_name = st.text("abcAB01._+-/é", min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(
    modules=st.lists(st.text("abcAB01._+-", min_size=1, max_size=4), max_size=4),
    loaded=st.lists(_name, max_size=6, unique=True),
    member=st.one_of(st.none(), _name),
)
def test_lua_agrees_with_python_on_any_names(
    modules: list[str], loaded: list[str], member: str | None
) -> None:
    """Same matching and same order. (Lua's `<` sorts by strcoll: it agrees with byte order in the
    C locales this runs in, so this does not prove bytes_less is needed, only that it is right.)"""
    members = {"mpi": member} if member else {}
    expected = compute_key(modules, ["mpi"], loaded, members)
    assert run_lua_key(modules, ["mpi"], [(loaded, members)]) == [expected]


# --- Hook registration, on the two hook APIs Lmod has had ---------------------------------

# A stand-in for Lmod >= 8.7.35's Hook.lua: a list per hook name, register(name, f, action)
# with "append" (Lmod docs, 170_hooks, "Registering Multiple Hook functions").
HOOK_LIST_API = """
local validT = { finalize = {}, load = {} }
local M = {}
function M.register(name, func, action)
  if action == "append" then validT[name][#validT[name] + 1] = func
  else validT[name] = {func} end
end
function M.apply(name, ...)
  for _, f in ipairs(validT[name]) do f(...) end
end
function M.exists(name) return next(validT[name]) ~= nil end
return M
"""

# Enough of FrameStk/MT/Var for the finalize hook to run outside Lmod.
FAKE_LMOD = {
    "FrameStk.lua": """
local varT = {}
local mt = {}
function mt:have(sn, status) return sn == "uv-hpc" end
function mt:list(kind, status) return { {fullName = "uv-hpc/1.0"}, {fullName = "mpich/4.1.2"} } end
function mt:getfamily() return { mpi = "mpich" } end
local frame = {}
function frame:mt() return mt end
function frame:varT() return varT end
local M = {}
function M:singleton() return frame end
return M
""",
    "Var.lua": """
local M = {}
M.__index = M
function M:new(name) return setmetatable({name = name}, M) end
function M:set(value) self.value = value end
function M:unset() self.value = false end
return M
""",
}


def run_hooks_lua(
    tmp_path: Path, hook_module: str, before: str, after: str
) -> subprocess.CompletedProcess[str]:
    lua = tools.program("lua5.3")
    lib = tmp_path / "lmodlib"
    lib.mkdir()
    (lib / "Hook.lua").write_text(hook_module)
    for name, text in FAKE_LMOD.items():
        (lib / name).write_text(text)
    site = lua_value(
        {
            "name": "uv-hpc",
            "cache_key": {
                "variable": "UVMOD_CACHE_KEY",
                "source_variable": "UVMOD_KEY_SOURCE",
                "modules": ["cuda"],
                "families": ["mpi"],
            },
        }
    )
    hooks = tmp_path / "uvmod_hooks.lua"
    hooks.write_text(
        f"local site = {site}\n"
        + packaged_text("lua", "cache_key.lua")
        + packaged_text("lua", "uvmod_hooks.lua")
    )
    program = (
        f'package.path = "{lib}/?.lua;" .. package.path\n'
        + before
        + f'\nlocal uvmod = dofile("{hooks}")\n'
        + after
    )
    return subprocess.run(
        [lua, "-"],
        input=program,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ["PATH"]},
    )


SITE_HOOK = """
local hook = require("Hook")
local ran = {}
hook.register("finalize", function() ran[#ran + 1] = "site" end)
"""

REPORT = """
hook.apply("finalize", "load")
local varT = require("FrameStk"):singleton():varT()
print(table.concat(ran, ","), varT.UVMOD_CACHE_KEY.value, varT.UVMOD_KEY_SOURCE.value)
"""


def test_hook_appends_on_the_list_api(tmp_path: Path) -> None:
    result = run_hooks_lua(tmp_path, HOOK_LIST_API, SITE_HOOK, REPORT)
    assert result.stdout.split() == ["site", "mpich/4.1.2", "hook"]


def test_hook_wraps_the_single_function_of_lmod_8_6(tmp_path: Path) -> None:
    real = Path("/usr/share/lmod/lmod/libexec/Hook.lua")
    tools.need(real.is_file(), "Lmod is not installed")
    # Lmod's own Hook.lua, minus `require("strict")` and the LmodWarning it only uses on errors.
    text = real.read_text().replace('require("strict")', "")
    result = run_hooks_lua(tmp_path, text, SITE_HOOK, REPORT)
    assert result.stdout.split() == ["site", "mpich/4.1.2", "hook"]


def test_hook_does_not_replace_a_hook_it_cannot_see(tmp_path: Path) -> None:
    """Without the debug library uvmod cannot chain on Lmod 8.6: it keeps the site's hook,
    says so on stderr, and hands back its finalize for the site to call."""
    real = Path("/usr/share/lmod/lmod/libexec/Hook.lua")
    tools.need(real.is_file(), "Lmod is not installed")
    text = real.read_text().replace('require("strict")', "")
    after = "hook.apply('finalize', 'load')\nprint(table.concat(ran, ','), type(uvmod.finalize))\n"
    result = run_hooks_lua(tmp_path, text, SITE_HOOK + "debug = nil\n", after)
    assert result.stdout.split() == ["site", "function"]
    assert "cannot be chained" in result.stderr


# --- uvmod key, from an environment ------------------------------------------------------


def _env(**values: str) -> None:
    os.environ.update(values)


def test_uvmod_key_current(capsys: pytest.CaptureFixture[str]) -> None:
    _env(
        LOADEDMODULES="uv-hpc/1.0:mpich/4.1.2:cuda/12.2",
        LMOD_FAMILY_MPI="mpich",
        UVMOD_CACHE_KEY="cuda/12.2,mpich/4.1.2",
        UVMOD_KEY_SOURCE="hook",
    )
    assert main(["key"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "key: cuda/12.2,mpich/4.1.2"
    assert "the Lmod hook" in out and "STALE" not in out


def test_uvmod_key_stale_names_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    _env(
        LOADEDMODULES="uv-hpc/1.0:openmpi/4.1.5",
        LMOD_FAMILY_MPI="openmpi",
        UVMOD_CACHE_KEY="mpich/4.1.2",
        UVMOD_KEY_SOURCE="load",
    )
    assert main(["key"]) == 1
    out = capsys.readouterr().out
    assert "STALE: UVMOD_CACHE_KEY is 'mpich/4.1.2', the loaded modules give 'openmpi/4.1.5'" in out
    assert "fix: module reload uv-hpc" in out


def test_uvmod_key_unset_variable_is_stale_when_a_key_module_is_loaded() -> None:
    spec = CacheKeySection(modules=["cuda"], families=["mpi"])
    env = {"LOADEDMODULES": "uv-hpc/1.0:mpich/3.4.3", "MODULES_FAMILY_MPI": "mpich"}
    status = key_status(spec, "uv-hpc", env)
    assert status.expected == "mpich/3.4.3" and status.actual is None
    assert status.stale and status.fix() is not None
    current = key_status(spec, "uv-hpc", {**env, "UVMOD_CACHE_KEY": "mpich/3.4.3"})
    assert not current.stale and current.fix() is None


def test_uvmod_key_without_uv_hpc(capsys: pytest.CaptureFixture[str]) -> None:
    _env(LOADEDMODULES="mpich/4.1.2")
    assert main(["key", "--json"]) == 1
    out = capsys.readouterr().out
    assert '"module_loaded": false' in out and '"stale": false' in out
    _env(UVMOD_CACHE_KEY="mpich/4.1.2")
    assert main(["key"]) == 1
    assert "fix: unset UVMOD_CACHE_KEY" in capsys.readouterr().out
