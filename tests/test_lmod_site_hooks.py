"""uvmod's Lmod hook next to a site's own, on each Lmod of the matrix, after every command.

The three ways a site runs uvmod's hook (docs/admin-guide.md, "The Lmod hook"):
- uvmod's standalone SitePackage.lua alone (LMOD_PACKAGE_PATH=PREFIX/lmod);
- the site's own SitePackage.lua with its own finalize hook, then the documented `dofile` line;
- the site's finalize registered with "append" after the `dofile` line (Lmod 8.7.35 and newer).

Every command of COMMANDS must run each finalize hook exactly once. The site's hook counts its
runs in SITE_FINALIZE_RUNS. uvmod's is seen through the key: before each command the shell's
UVMOD_CACHE_KEY is overwritten with a wrong value, which only uvmod's hook puts right again (or
removes, without uv-hpc), since most of these commands never evaluate uv-hpc's modulefile.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support.keysteps import (
    SITES,
    dofile_site_package,
    read_states,
    record_line,
    source_key_check,
)
from tests.support.modules import LMOD_8_6, LMODS, ModuleTool, base_env

TEST_MODULES = Path(__file__).parent / "data" / "modulefiles"
WRONG = "tampered/0"

# (command, the key after it, the word Lmod names the command by). The names are what the
# finalize hook receives: Lmod 8.6 passes the bare name ("swap"), Lmod 8.7 a longer text ending
# in it ("cmdfuncs.lua:(Swap)          swap").
COMMANDS = [
    ("module load mpich/4.1.2 uv-hpc", "mpich/4.1.2", "load"),
    ("module list", "mpich/4.1.2", "list"),
    ("module swap mpich openmpi", "openmpi/4.1.5", "swap"),
    ("module load mpich/4.1.2", "mpich/4.1.2", "load"),  # family autoswap
    ("module load cuda/12.2", "cuda/12.2,mpich/4.1.2", "load"),
    ("module unload cuda", "mpich/4.1.2", "unload"),
    ("module reload", "mpich/4.1.2", "update"),  # Lmod runs `reload` as `update`
    ("module refresh", "mpich/4.1.2", "refresh"),
    ("ml", "mpich/4.1.2", "list"),
    ("module save hooktest", "mpich/4.1.2", "save"),
    ("module purge", None, "purge"),
    ("module restore hooktest", "mpich/4.1.2", "restore"),
    ("module avail", "mpich/4.1.2", "avail"),
    ("module unload uv-hpc", None, "unload"),
]

SITE_FINALIZE = """
local hook     = require("Hook")
local FrameStk = require("FrameStk")
local Var      = require("Var")
-- A site's own finalize hook: counts its runs, and says which command it saw.
local function site_finalize(cmdName)
  local varT = FrameStk:singleton():varT()
  local n = tonumber(os.getenv("SITE_FINALIZE_RUNS") or "0") + 1
  varT.SITE_FINALIZE_RUNS = varT.SITE_FINALIZE_RUNS or Var:new("SITE_FINALIZE_RUNS")
  varT.SITE_FINALIZE_RUNS:set(tostring(n))
  io.stderr:write("site finalize: [", tostring(cmdName), "]\\n")
end
"""

ROUTES = {
    "uvmod's SitePackage.lua alone": None,
    "site finalize, then dofile": '{site}\nhook.register("finalize", site_finalize)\n{dofile}',
    "dofile, then site finalize appended": (
        '{site}\n{dofile}\nhook.register("finalize", site_finalize, "append")'
    ),
}


def _package_path(tmp_path: Path, prefix: Path, route: str) -> Path:
    template = ROUTES[route]
    if template is None:
        return prefix / "lmod"
    site_dir = tmp_path / "site-lmod"
    site_dir.mkdir()
    (site_dir / "SitePackage.lua").write_text(
        template.format(site=SITE_FINALIZE, dofile=f'dofile("{prefix}/lmod/uvmod_hooks.lua")')
    )
    return site_dir


# Every route on every Lmod, except "append" on 8.6, which Lmod 8.6 ignores: there the site's
# hook replaces uvmod's (test_append_on_lmod_8_6_replaces_uvmods_hook).
ROUTE_CASES = [
    pytest.param(tool, route, id=f"{tool.id}-{route}")
    for tool in LMODS
    for route in ROUTES
    if not (route.endswith("appended") and tool == LMOD_8_6)
]


@pytest.mark.parametrize(("lmod_tool", "route"), ROUTE_CASES)
def test_every_finalize_hook_runs_after_every_command(
    tmp_path: Path, build_prefix: BuildPrefix, lmod_tool: ModuleTool, route: str
) -> None:
    lmod_tool.require()
    prefix = build_prefix(SITES["by-family"].toml)
    script = [source_key_check(tmp_path)]
    for command, _, _ in COMMANDS:
        script += [f"export UVMOD_CACHE_KEY={WRONG}", f"{command} || exit 3"]
        script.append(record_line(tmp_path, SITES["by-family"]))
        script.append(f'echo "${{SITE_FINALIZE_RUNS-0}}" >> {tmp_path}/runs')
    result = lmod_tool.run(
        script,
        base_env(tmp_path),
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=_package_path(tmp_path, prefix, route),
    )
    states = read_states(tmp_path)
    for (command, key, _), state in zip(COMMANDS, states, strict=True):
        assert state.key == key, f"after `{command}`\n{result.stderr}"
        assert state.source == ("hook" if state.uv_loaded else None), command
    assert result.stdout == ""
    if ROUTES[route] is None:
        return
    # The site's finalize ran exactly once per command, and was handed the command's name.
    runs = [int(n) for n in (tmp_path / "runs").read_text().split()]
    assert runs == list(range(1, len(COMMANDS) + 1))
    names = re.findall(r"^site finalize: \[(.*)\]$", result.stderr, re.MULTILINE)
    assert [name.split()[-1] for name in names] == [word for _, _, word in COMMANDS]
    if lmod_tool == LMOD_8_6:
        assert names == [word for _, _, word in COMMANDS]
    else:
        assert all(name.startswith("cmdfuncs.lua:(") for name in names), names
    assert "cannot be chained" not in result.stderr


def test_append_on_lmod_8_6_replaces_uvmods_hook(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    """Lmod before 8.7.35 ignores "append": the site's finalize replaces uvmod's (the admin guide
    says so). The key then stays as the modulefile computed it, with source "load", so the
    wrapper's check notices when it lags instead of trusting it."""
    LMOD_8_6.require()
    prefix = build_prefix(SITES["by-family"].toml)
    script = [source_key_check(tmp_path)]
    commands = ["module load mpich/4.1.2 uv-hpc", "module swap mpich openmpi"]
    for command in commands:
        script += [f"{command} || exit 3", record_line(tmp_path, SITES["by-family"])]
    result = LMOD_8_6.run(
        script,
        base_env(tmp_path),
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=_package_path(tmp_path, prefix, "dofile, then site finalize appended"),
    )
    states = read_states(tmp_path)
    assert [(s.key, s.source, s.wrapper_sees_current) for s in states] == [
        ("mpich/4.1.2", "load", True),
        ("mpich/4.1.2", "load", False),
    ]
    assert result.environ["SITE_FINALIZE_RUNS"] == "2"


def test_the_sites_other_hooks_keep_working(
    tmp_path: Path, build_prefix: BuildPrefix, lmod_tool: ModuleTool
) -> None:
    prefix = build_prefix(SITES["by-family"].toml)
    load_hook = (
        'hook.register("load", function(t) io.stderr:write("site load hook: ", t.modFullName, '
        '"\\n") end)'
    )
    site_dir = dofile_site_package(tmp_path, prefix, f'local hook = require("Hook")\n{load_hook}')
    result = lmod_tool.run(
        ["module load uv-hpc mpich/4.1.2", "module swap mpich openmpi"],
        base_env(tmp_path),
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=site_dir,
    )
    assert result.environ["UVMOD_CACHE_KEY"] == "openmpi/4.1.5"
    assert "site load hook: mpich/4.1.2" in result.stderr
    assert "site load hook: openmpi/4.1.5" in result.stderr
    assert result.stdout == ""


def test_hook_loaded_twice_is_harmless(
    tmp_path: Path, build_prefix: BuildPrefix, lmod_tool: ModuleTool
) -> None:
    """A site that both dofile()s the hooks and keeps PREFIX/lmod first on LMOD_PACKAGE_PATH
    registers the hook twice: the second run finds nothing to change."""
    prefix = build_prefix(SITES["by-family"].toml)
    twice = f'dofile("{prefix}/lmod/uvmod_hooks.lua")\n'
    script = [source_key_check(tmp_path)]
    commands = ["module load uv-hpc mpich/4.1.2", "module swap mpich openmpi", "module purge"]
    for command in commands:
        script += [f"{command} || exit 3", record_line(tmp_path, SITES["by-family"])]
    result = lmod_tool.run(
        script,
        base_env(tmp_path),
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=dofile_site_package(tmp_path, prefix, twice),
    )
    assert [s.key for s in read_states(tmp_path)] == ["mpich/4.1.2", "openmpi/4.1.5", None]
    assert result.stdout == ""


def test_documented_manual_call_from_the_sites_finalize(
    tmp_path: Path, build_prefix: BuildPrefix, lmod_tool: ModuleTool
) -> None:
    """The admin guide's fallback: dofile first, then the site's own finalize calls uvmod's."""
    prefix = build_prefix(SITES["by-family"].toml)
    site_dir = tmp_path / "site-lmod"
    site_dir.mkdir()
    (site_dir / "SitePackage.lua").write_text(
        f'local hook = require("Hook")\n'
        f'local uvmod = dofile("{prefix}/lmod/uvmod_hooks.lua")\n'
        "local function my_finalize(cmdName)\n"
        '  io.stderr:write("site finalize: ", tostring(cmdName), "\\n")\n'
        "  uvmod.finalize()\n"
        "end\n"
        'hook.register("finalize", my_finalize)\n'
    )
    script = [source_key_check(tmp_path)]
    commands = [
        "module load uv-hpc mpich/4.1.2",
        "module swap mpich openmpi",
        "module load cuda/12.2",
        "module unload cuda",
        "module unload uv-hpc",
    ]
    for command in commands:
        script += [f"{command} || exit 3", record_line(tmp_path, SITES["by-family"])]
    result = lmod_tool.run(
        script,
        base_env(tmp_path),
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=site_dir,
    )
    assert [(s.key, s.source) for s in read_states(tmp_path)] == [
        ("mpich/4.1.2", "hook"),
        ("openmpi/4.1.5", "hook"),
        ("cuda/12.2,openmpi/4.1.5", "hook"),
        ("openmpi/4.1.5", "hook"),
        (None, None),
    ]
    assert result.stderr.count("site finalize: ") == len(commands)
    assert "cannot be chained" not in result.stderr and result.stdout == ""
