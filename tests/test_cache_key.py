"""The key rule, one table through its four implementations: Python (uvmod/cachekey.py), Lua
(lua/cache_key.lua, real lua5.3), sh (sh/uvmod-key.sh, dash and bash) and Tcl
(tcl/cache_key.tcl, real tclsh); then the Lmod hook's registration on both hook APIs of Lmod,
and `uvmod key`.

The table is the hand-written cases below plus cases generated from a seed (printed with any
failure; UVMOD_TEST_SEED=<seed> replays it). Each implementation runs the whole table in one
process, so the four stay compared on every run at the cost of a handful of processes.
"""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

from tests.support import tools
from uvmod.cachekey import compute_key, key_status
from uvmod.cli import main
from uvmod.config import CacheKeySection, load_config
from uvmod.layout import Layout
from uvmod.moduledesc import describe
from uvmod.render import packaged_text
from uvmod.render.lua import lua_value
from uvmod.render.table import hooks_table
from uvmod.render.tcl import tcl_value
from uvmod.render.wrapper import sh_quote

FAMILIES = ["mpi"]
FAMILY_VARS = "LMOD_FAMILY_MPI MODULES_FAMILY_MPI"


@dataclass(frozen=True)
class KeyCase:
    modules: tuple[str, ...]  # [cache_key].modules
    loaded: tuple[str, ...]  # full names of the loaded modules, in load order
    member: str | None = None  # the module holding the family "mpi", as the module tool says

    @property
    def expected(self) -> str:
        """The key by Python's rule, which the other three must give too."""
        members = {"mpi": self.member} if self.member else {}
        return compute_key(self.modules, FAMILIES, self.loaded, members)


MODULES = ("openmpi", "mpich", "cuda")
TABLE = [
    # (loaded full names, the family's module, expected key)
    KeyCase(MODULES, ()),
    KeyCase(MODULES, ("gcc/12.2", "python/3.11")),
    KeyCase(MODULES, ("mpich/4.1.2",)),
    KeyCase(MODULES, ("cuda/12.2", "gcc/12", "mpich/4.1.2")),
    KeyCase(MODULES, ("mpich/4.1.2", "cuda/12.2")),  # sorted, not load order
    KeyCase(MODULES, ("mpich",)),  # a module without a version
    KeyCase(MODULES, ("mpich-ext/1.0", "cudatoolkit/11")),  # a name is a whole path component
    KeyCase(MODULES, ("intel-mpi/2021.9",), "intel-mpi"),  # by family only
    KeyCase(MODULES, ("mpich/4.1.2",), "mpich"),  # by name and family: once
    KeyCase(MODULES, ("cuda/12.2", "Zlib/1", "cuda/11.8")),
    KeyCase(MODULES, ("mpich/4.1.2", "mpich/4.1.2")),  # listed twice: once
    KeyCase(("mpich*",), ("mpich*", "mpichx", "mpich-ext")),  # names are never patterns
    KeyCase(("cuda",), ("cuda/12.2", "cudé/1", "cuda/12.2é", "cuda/12.10")),  # byte order
]
EXPECTED = [
    "",
    "",
    "mpich/4.1.2",
    "cuda/12.2,mpich/4.1.2",
    "cuda/12.2,mpich/4.1.2",
    "mpich",
    "",
    "intel-mpi/2021.9",
    "mpich/4.1.2",
    "cuda/11.8,cuda/12.2",
    "mpich/4.1.2",
    "mpich*",
    "cuda/12.10,cuda/12.2,cuda/12.2é",
]


def test_the_hand_written_table_holds_for_python() -> None:
    assert [case.expected for case in TABLE] == EXPECTED


# Module names as a site may list them; loaded full names as module tools report them, with
# sh glob characters and a non-ASCII letter (sort order) mixed in. No ':' (LOADEDMODULES' own
# separator) and no space (the wrapper's list separator).
_NAME_CHARS = "abAB01._+-"
_FULL_CHARS = "abAB01._+-/é*?["


def generated_cases(seed: int, count: int) -> list[KeyCase]:
    rng = random.Random(seed)

    def text(chars: str, longest: int) -> str:
        return "".join(rng.choice(chars) for _ in range(rng.randint(1, longest)))

    cases = []
    for _ in range(count):
        modules = tuple(text(_NAME_CHARS, 3) for _ in range(rng.randint(0, 3)))
        loaded: list[str] = []
        for _ in range(rng.randint(0, 6)):
            if modules and rng.random() < 0.6:  # a match, or a near miss
                name = rng.choice(modules)
                name += rng.choice(["", "/" + text(_FULL_CHARS, 4), text(_NAME_CHARS, 2)])
            else:
                name = text(_FULL_CHARS, 8)
            if name not in loaded:
                loaded.append(name)
        member = rng.choice([None, text(_NAME_CHARS, 3), *modules, *loaded[:1]])
        cases.append(KeyCase(modules, tuple(loaded), member))
    return cases


@pytest.fixture(scope="module")
def seed() -> int:
    return int(os.environ.get("UVMOD_TEST_SEED") or random.randrange(2**32))


@pytest.fixture(scope="module")
def cases(seed: int) -> list[KeyCase]:
    return TABLE + generated_cases(seed, 300)


def lua_keys(cases: Sequence[KeyCase]) -> list[str]:
    """compute_cache_key of lua/cache_key.lua in a real Lua 5.3, on every case."""
    data = lua_value(
        [
            {
                "spec": {"modules": list(c.modules), "families": FAMILIES},
                "loaded": list(c.loaded),
                "members": [c.member] if c.member else [],
            }
            for c in cases
        ]
    )
    program = (
        packaged_text("lua", "cache_key.lua")
        + f"\nlocal cases = {data}\n"
        + "for _, case in ipairs(cases) do\n"
        + "  io.write(compute_cache_key(case.spec, case.loaded, case.members), '\\0')\n"
        + "end\n"
    )
    proc = subprocess.run(
        [tools.program("lua5.3"), "-"],
        input=program.encode(),
        capture_output=True,
        check=True,
        env={"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8"},
    )
    return proc.stdout.decode().split("\0")[:-1]


def tcl_keys(cases: Sequence[KeyCase], tmp_path: Path) -> list[str]:
    """::uvmod::compute_cache_key of tcl/cache_key.tcl in a real tclsh, on every case."""
    data = tmp_path / "cases.tcl"
    cases_value = [
        {"spec": {"modules": list(c.modules)}, "loaded": list(c.loaded), "members": [c.member]}
        if c.member
        else {"spec": {"modules": list(c.modules)}, "loaded": list(c.loaded), "members": []}
        for c in cases
    ]
    data.write_text(f"set cases {tcl_value(cases_value)}\n", encoding="utf-8")
    body = tmp_path / "cache_key.tcl"
    body.write_text(packaged_text("tcl", "cache_key.tcl"), encoding="utf-8")
    main_script = tmp_path / "main.tcl"
    main_script.write_text(
        f"source -encoding utf-8 {{{data}}}\n"
        f"source -encoding utf-8 {{{body}}}\n"
        "fconfigure stdout -encoding utf-8 -translation lf\n"
        "foreach case $cases {\n"
        "    set key [::uvmod::compute_cache_key [dict get $case spec] [dict get $case loaded]"
        " [dict get $case members]]\n"
        '    puts -nonewline "[join $key ,]\\0"\n'
        "}\n"
    )
    proc = subprocess.run(
        [tools.program("tclsh"), str(main_script)],
        capture_output=True,
        check=True,
        env={"PATH": os.environ["PATH"], "LC_ALL": "C.UTF-8"},
    )
    return proc.stdout.decode().split("\0")[:-1]


def _stale_variant(key: str) -> str:
    """A key that does not match the loaded modules: one entry dropped, or one too many."""
    return key.partition(",")[2] if key else "extra/1.0"


def sh_results(shell: str, cases: Sequence[KeyCase], cwd: Path) -> list[tuple[str, str, str]]:
    """uvmod_key_compute's key, then uvmod_key_current's status for the right key and for a
    stale one, from one run of sh/uvmod-key.sh in `shell` over every case."""
    lines = [packaged_text("sh", "uvmod-key.sh")]
    for case in cases:
        if case.member:
            lines.append(f"LMOD_FAMILY_MPI={sh_quote(case.member)}")
        else:
            lines.append("unset LMOD_FAMILY_MPI")
        args = f"{sh_quote(':'.join(case.loaded))} {sh_quote(' '.join(case.modules))} "
        args += sh_quote(FAMILY_VARS)
        lines.append(f"uvmod_key_compute {args}")
        lines.append('printf "%s\\n" "$uvmod_key_result"')
        for key in (case.expected, _stale_variant(case.expected)):
            lines.append(f"uvmod_key_current {sh_quote(key)} {args}; printf '%s\\n' $?")
    proc = subprocess.run(
        [tools.program(shell), "-c", "\n".join(lines) + "\n"],
        capture_output=True,
        check=True,
        cwd=cwd,  # where the names, taken as patterns, would match files
        env={"PATH": "/usr/bin:/bin"},
    )
    out = proc.stdout.decode().split("\n")[:-1]
    return [(out[i], out[i + 1], out[i + 2]) for i in range(0, len(out), 3)]


@pytest.fixture(scope="module")
def glob_bait(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("glob-bait")
    for name in ("mpichx", "mpich-ext", "a", "b", "A.b", "0"):
        (where / name).touch()
    return where


def _differences(
    cases: Sequence[KeyCase], got: Sequence[object], want: Sequence[object], seed: int
) -> str:
    bad = [(c, g, w) for c, g, w in zip(cases, got, want, strict=True) if g != w]
    shown = "\n".join(f"  {c}: got {g!r}, want {w!r}" for c, g, w in bad[:5])
    return f"{len(bad)} of {len(cases)} cases differ (UVMOD_TEST_SEED={seed}):\n{shown}"


def test_lua_gives_the_python_key(cases: list[KeyCase], seed: int) -> None:
    got, want = lua_keys(cases), [c.expected for c in cases]
    assert got == want, _differences(cases, got, want, seed)


def test_tcl_gives_the_python_key(cases: list[KeyCase], seed: int, tmp_path: Path) -> None:
    got, want = tcl_keys(cases, tmp_path), [c.expected for c in cases]
    assert got == want, _differences(cases, got, want, seed)


@pytest.mark.parametrize("shell", ["sh", "bash"])
def test_sh_gives_the_python_key_and_tells_a_stale_one(
    cases: list[KeyCase], seed: int, glob_bait: Path, shell: str
) -> None:
    got = sh_results(shell, cases, glob_bait)
    want = [(c.expected, "0", "1") for c in cases]
    assert got == want, _differences(cases, got, want, seed)


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
    # The hooks' own table, as render/lua.py writes it for this site.
    config = tmp_path / "site.toml"
    config.write_text('[cache_key]\nmodules = ["cuda"]\nfamilies = ["mpi"]\n')
    layout = Layout(PurePosixPath("/opt/uvmod"), "uv-hpc", "1.0")
    site = lua_value(hooks_table(describe(load_config(config), layout, real_uv="/usr/bin/uv")))
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
