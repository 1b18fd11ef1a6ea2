"""The MPI/CUDA cache key in real Lmod: after every step of every sequence of issue 4.

Each sequence runs in one bash; after each module command the key, its source and
LOADEDMODULES are appended to a trace file, so every intermediate state is checked, not only the
last one. The hook is exercised both ways an administrator can install it: LMOD_PACKAGE_PATH
pointing at PREFIX/lmod, and one `dofile` line in a site's own SitePackage.lua.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support import tools
from tests.support.modules import base_env, run_lmod

TEST_MODULES = Path(__file__).parent / "data" / "modulefiles"
UNSET = None

# The same expectations must hold whether MPI reaches the key through the `mpi` family or
# through its module name.
SITES = {
    "by-family": '[cache_key]\nmodules = ["cuda"]\nfamilies = ["mpi"]\n',
    "by-name": '[cache_key]\nmodules = ["mpich", "openmpi", "cuda"]\nfamilies = []\n',
}


@dataclass(frozen=True)
class Step:
    command: str
    key: str | None  # the expected UVMOD_CACHE_KEY after the command; None: unset


SEQUENCES: dict[str, list[Step]] = {
    "uv-hpc then mpich": [
        Step("module load uv-hpc", UNSET),
        Step("module load mpich/4.1.2", "mpich/4.1.2"),
    ],
    "mpich then uv-hpc": [
        Step("module load mpich/4.1.2", UNSET),
        Step("module load uv-hpc", "mpich/4.1.2"),
    ],
    "both in one command": [
        Step("module load uv-hpc mpich/4.1.2 cuda/12.2", "cuda/12.2,mpich/4.1.2"),
    ],
    "swap mpich openmpi": [
        Step("module load uv-hpc mpich/4.1.2", "mpich/4.1.2"),
        Step("module swap mpich openmpi", "openmpi/4.1.5"),
        Step("module swap openmpi mpich/4.1.2", "mpich/4.1.2"),
    ],
    "family autoswap": [
        Step("module load mpich/4.1.2 uv-hpc", "mpich/4.1.2"),
        Step("module load openmpi", "openmpi/4.1.5"),
        Step("module load mpich/4.1.2", "mpich/4.1.2"),
    ],
    "other version over the loaded one": [
        Step("module load uv-hpc mpich/4.1.2", "mpich/4.1.2"),
        Step("module load mpich/3.4.3", "mpich/3.4.3"),
    ],
    "add and remove cuda": [
        Step("module load uv-hpc mpich/4.1.2", "mpich/4.1.2"),
        Step("module load cuda/12.2", "cuda/12.2,mpich/4.1.2"),
        Step("module unload cuda", "mpich/4.1.2"),
        Step("module unload mpich", UNSET),
        Step("module load cuda/12.2", "cuda/12.2"),
    ],
    "purge": [
        Step("module load uv-hpc mpich/4.1.2 cuda/12.2", "cuda/12.2,mpich/4.1.2"),
        Step("module purge", UNSET),
    ],
    "unload uv-hpc": [
        Step("module load uv-hpc mpich/4.1.2", "mpich/4.1.2"),
        Step("module unload uv-hpc", UNSET),
        # Nothing maintains the key without uv-hpc: it must not come back.
        Step("module swap mpich openmpi", UNSET),
    ],
    "reload": [
        Step("module load mpich/4.1.2 uv-hpc", "mpich/4.1.2"),
        Step("module reload", "mpich/4.1.2"),
    ],
    "save and restore": [
        Step("module load uv-hpc mpich/4.1.2 cuda/12.2", "cuda/12.2,mpich/4.1.2"),
        Step("module save uvmodtest", "cuda/12.2,mpich/4.1.2"),
        Step("module purge", UNSET),
        Step("module load openmpi", UNSET),
        Step("module restore uvmodtest", "cuda/12.2,mpich/4.1.2"),
    ],
}


@dataclass(frozen=True)
class State:
    key: str | None
    source: str | None
    loaded: list[str]
    fake_mpi: str | None


def run_steps(
    tmp_path: Path,
    commands: list[str],
    *,
    modulepath: list[Path],
    package_path: Path | None,
    extra_env: dict[str, str] | None = None,
) -> tuple[list[State], str, str]:
    """Run the commands in one Lmod shell; the state after each one, stdout, stderr."""
    trace = tmp_path / "trace.jsonl"
    trace.unlink(missing_ok=True)
    record = (
        "python3 -c 'import json, os, sys; "
        "print(json.dumps({k: os.environ.get(k) for k in sys.argv[1:]}))' "
        f"UVMOD_CACHE_KEY UVMOD_KEY_SOURCE LOADEDMODULES FAKE_MPI >> {trace}"
    )
    script: list[str] = []
    for command in commands:
        # A failing module command fails the test, with Lmod's stderr in the message.
        script += [f"{command} || exit 3", record]
    env = base_env(tmp_path, extra_env)
    result = run_lmod(script, env, modulepath=modulepath, package_path=package_path)
    states = []
    for line in trace.read_text().splitlines():
        raw = json.loads(line)
        states.append(
            State(
                raw["UVMOD_CACHE_KEY"],
                raw["UVMOD_KEY_SOURCE"],
                [m for m in (raw["LOADEDMODULES"] or "").split(":") if m],
                raw["FAKE_MPI"],
            )
        )
    assert len(states) == len(commands)
    return states, result.stdout, result.stderr


def dofile_site_package(tmp_path: Path, prefix: Path, extra_lua: str = "") -> Path:
    """A site's own SitePackage.lua with the one documented line in it."""
    site_dir = tmp_path / "site-lmod"
    site_dir.mkdir(exist_ok=True)
    (site_dir / "SitePackage.lua").write_text(
        f'{extra_lua}\ndofile("{prefix}/lmod/uvmod_hooks.lua")\n'
    )
    return site_dir


@pytest.mark.parametrize("route", ["package-path", "dofile"])
@pytest.mark.parametrize("site", sorted(SITES))
@pytest.mark.parametrize("sequence", list(SEQUENCES))
def test_hook_keeps_the_key_current_after_every_step(
    tmp_path: Path, build_prefix: BuildPrefix, sequence: str, site: str, route: str
) -> None:
    prefix = build_prefix(SITES[site])
    package_path = (
        prefix / "lmod" if route == "package-path" else dofile_site_package(tmp_path, prefix)
    )
    steps = SEQUENCES[sequence]
    states, stdout, _ = run_steps(
        tmp_path,
        [s.command for s in steps],
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=package_path,
    )
    for step, state in zip(steps, states, strict=True):
        where = f"after `{step.command}` (loaded: {state.loaded})"
        assert state.key == step.key, where
        uv_loaded = any(m.startswith("uv-hpc/") for m in state.loaded)
        assert state.source == ("hook" if uv_loaded else None), where
    # The hook runs inside Lmod, whose stdout the shell evals: it must add nothing there.
    assert stdout == ""


def test_the_test_modules_set_what_a_build_would_see(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    """The key follows FAKE_MPI, the variable the test sdist bakes in (standing in for mpicc)."""
    prefix = build_prefix(SITES["by-family"])
    states, _, _ = run_steps(
        tmp_path,
        ["module load uv-hpc mpich/4.1.2", "module swap mpich openmpi", "module load mpich/3.4.3"],
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=prefix / "lmod",
    )
    assert [(s.key, s.fake_mpi) for s in states] == [
        ("mpich/4.1.2", "mpich-4.1.2"),
        ("openmpi/4.1.5", "openmpi-4.1.5"),
        ("mpich/3.4.3", "mpich-3.4.3"),
    ]


def test_without_the_hook_the_key_is_computed_at_load(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix = build_prefix(SITES["by-family"])
    states, stdout, _ = run_steps(
        tmp_path,
        [
            "module load mpich/4.1.2 cuda/12.2",
            "module load uv-hpc",
            "module swap mpich openmpi",
            "module reload uv-hpc",
            "module unload uv-hpc",
        ],
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=None,
    )
    assert [(s.key, s.source) for s in states] == [
        (None, None),
        ("cuda/12.2,mpich/4.1.2", "load"),
        # What the hook exists for: Lmod does not re-evaluate uv-hpc on a swap.
        ("cuda/12.2,mpich/4.1.2", "load"),
        ("cuda/12.2,openmpi/4.1.5", "load"),
        (None, None),
    ]
    assert stdout == ""


def test_without_the_hook_a_family_set_in_the_same_command_counts(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    """`module load mpich uv-hpc`: the modulefile reads LMOD_FAMILY_MPI, which mpich set a moment
    earlier in the same Lmod process."""
    prefix = build_prefix(SITES["by-family"])
    states, _, _ = run_steps(
        tmp_path,
        ["module load mpich/4.1.2 uv-hpc"],
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=None,
    )
    assert (states[0].key, states[0].source) == ("mpich/4.1.2", "load")


def test_without_the_hook_no_key_module_leaves_the_variable_unset(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix = build_prefix(SITES["by-family"])
    states, _, _ = run_steps(
        tmp_path,
        ["module load uv-hpc"],
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=None,
        # A value left over from elsewhere is not a key for the modules loaded now.
        extra_env={"UVMOD_CACHE_KEY": "mpich/0.0"},
    )
    assert states[0].key is None and states[0].source == "load"


def _uvmod_key(tmp_path: Path) -> str:
    """A shell line running `uvmod key --json` of this checkout, output into a file."""
    import sys

    out = tmp_path / "key.json"
    return f"{sys.executable} -m uvmod key --json > {out}; echo $? > {out}.rc"


def _read_key(tmp_path: Path) -> tuple[int, dict[str, object]]:
    out = tmp_path / "key.json"
    rc = int((tmp_path / "key.json.rc").read_text())
    data: dict[str, object] = json.loads(out.read_text())
    return rc, data


@pytest.mark.parametrize("hook", [False, True])
def test_uvmod_key_reports_stale_after_a_swap_only_without_the_hook(
    tmp_path: Path, build_prefix: BuildPrefix, hook: bool
) -> None:
    prefix = build_prefix(SITES["by-family"])
    env = base_env(tmp_path, {"PYTHONPATH": str(Path(__file__).parents[1])})
    run_lmod(
        ["module load mpich/4.1.2 uv-hpc", "module swap mpich openmpi", _uvmod_key(tmp_path)],
        env,
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=prefix / "lmod" if hook else None,
    )
    rc, report = _read_key(tmp_path)
    assert report["key"] == "openmpi/4.1.5"
    assert report["modules"] == [{"name": "openmpi/4.1.5", "reason": "family mpi"}]
    assert report["hook_active"] is hook
    if hook:
        assert (rc, report["stale"], report["value"]) == (0, False, "openmpi/4.1.5")
    else:
        assert (rc, report["stale"], report["value"]) == (1, True, "mpich/4.1.2")
        assert report["fix"] == "module reload uv-hpc"


SITE_HOOKS = """
local hook     = require("Hook")
local FrameStk = require("FrameStk")
local Var      = require("Var")
-- A site's own hooks, registered before uvmod's line (as the admin guide says).
local function site_finalize()
  local varT = FrameStk:singleton():varT()
  local n = tonumber(os.getenv("SITE_FINALIZE_RUNS") or "0") + 1
  varT.SITE_FINALIZE_RUNS = varT.SITE_FINALIZE_RUNS or Var:new("SITE_FINALIZE_RUNS")
  varT.SITE_FINALIZE_RUNS:set(tostring(n))
end
hook.register("finalize", site_finalize)
hook.register("load", function(t) io.stderr:write("site load hook: ", t.modFullName, "\\n") end)
"""


def test_hook_chains_with_the_sites_own_hooks(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    prefix = build_prefix(SITES["by-family"])
    site_dir = dofile_site_package(tmp_path, prefix, SITE_HOOKS)
    env = base_env(tmp_path)
    result = run_lmod(
        ["module load uv-hpc mpich/4.1.2", "module swap mpich openmpi"],
        env,
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=site_dir,
    )
    assert result.environ["UVMOD_CACHE_KEY"] == "openmpi/4.1.5"
    assert result.environ["UVMOD_KEY_SOURCE"] == "hook"
    # The site's finalize ran once per module command, uvmod's did not replace it.
    assert result.environ["SITE_FINALIZE_RUNS"] == "2"
    assert "site load hook: mpich/4.1.2" in result.stderr
    assert "site load hook: openmpi/4.1.5" in result.stderr
    assert result.stdout == ""


def test_hook_loaded_twice_is_harmless(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    """A site that both dofile()s the hooks and keeps PREFIX/lmod first on LMOD_PACKAGE_PATH
    registers the hook twice: the second run finds nothing to change."""
    prefix = build_prefix(SITES["by-family"])
    twice = f'dofile("{prefix}/lmod/uvmod_hooks.lua")\n'
    site_dir = dofile_site_package(tmp_path, prefix, twice)
    states, stdout, _ = run_steps(
        tmp_path,
        ["module load uv-hpc mpich/4.1.2", "module swap mpich openmpi", "module purge"],
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=site_dir,
    )
    assert [s.key for s in states] == ["mpich/4.1.2", "openmpi/4.1.5", None]
    assert stdout == ""


def test_hook_leaves_the_environment_alone_without_uv_hpc(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix = build_prefix(SITES["by-family"])
    env = base_env(tmp_path)
    result = run_lmod(
        ["module load mpich/4.1.2 cuda/12.2", "module list 2>/dev/null"],
        env,
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=prefix / "lmod",
    )
    assert "UVMOD_CACHE_KEY" not in result.environ
    assert "UVMOD_KEY_SOURCE" not in result.environ
    assert result.environ["FAKE_MPI"] == "mpich-4.1.2"


def test_every_installed_lua_file_compiles(build_prefix: BuildPrefix) -> None:
    luac = tools.program("luac")
    import subprocess

    prefix = build_prefix()
    files = sorted(prefix.rglob("*.lua"))
    names = {str(f.relative_to(prefix)) for f in files}
    assert {"lmod/SitePackage.lua", "lmod/uvmod_hooks.lua", "modulefiles/uv-hpc/1.0.lua"} <= names
    static = sorted((Path(__file__).parents[1] / "lua").glob("*.lua"))
    for path in [*files, *static, *TEST_MODULES.rglob("*.lua")]:
        proc = subprocess.run([luac, "-p", str(path)], capture_output=True, text=True)
        assert proc.returncode == 0, f"{path}: {proc.stderr}"


@pytest.mark.parametrize("hook", [False, True])
def test_sh_check_on_a_real_lmod_environment(
    tmp_path: Path, build_prefix: BuildPrefix, hook: bool
) -> None:
    """sh/uvmod-key.sh, called as the wrapper would, on the environment Lmod leaves after a
    swap: stale without the hook, current with it."""
    from uvmod.cachekey import family_variables
    from uvmod.render import packaged_text

    check = tmp_path / "uvmod-key.sh"
    check.write_text(packaged_text("sh", "uvmod-key.sh"))
    out = tmp_path / "rc"
    family_vars = " ".join(family_variables("mpi"))
    prefix = build_prefix(SITES["by-family"])
    run_lmod(
        [
            "module load mpich/4.1.2 uv-hpc",
            "module swap mpich openmpi",
            f". {check}",
            f'uvmod_key_current "${{UVMOD_CACHE_KEY-}}" "$LOADEDMODULES" cuda "{family_vars}"'
            f"; echo $? > {out}",
        ],
        base_env(tmp_path),
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=prefix / "lmod" if hook else None,
    )
    assert out.read_text().strip() == ("0" if hook else "1")


def test_documented_manual_call_from_the_sites_finalize(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    """The admin guide's fallback: dofile first, then the site's own finalize calls uvmod's."""
    prefix = build_prefix(SITES["by-family"])
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
    states, stdout, stderr = run_steps(
        tmp_path,
        ["module load uv-hpc mpich/4.1.2", "module swap mpich openmpi", "module unload uv-hpc"],
        modulepath=[prefix / "modulefiles", TEST_MODULES],
        package_path=site_dir,
    )
    assert [(s.key, s.source) for s in states] == [
        ("mpich/4.1.2", "hook"),
        ("openmpi/4.1.5", "hook"),
        (None, None),
    ]
    assert stderr.count("site finalize: ") == 3
    assert "cannot be chained" not in stderr and stdout == ""
