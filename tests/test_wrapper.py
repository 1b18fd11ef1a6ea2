"""The generated sh wrapper in front of a stand-in uv: what reaches uv, and which environment."""

from __future__ import annotations

import os
import re
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support import tools
from tests.support.nodes import node
from tests.support.standin import make_standin, run_wrapper, wrapper_path
from uvmod import depot


@pytest.fixture
def wrapper(tmp_path: Path, build_prefix: BuildPrefix) -> Path:
    fake = make_standin(tmp_path / "fake")
    return wrapper_path(build_prefix(uv=str(fake)))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "UVMOD_VENV_DEPOT": str(tmp_path / "depot"),
        "UVMOD_ARCH": "generic",
        # A key set in these tests is current (as the Lmod hook keeps it); the stale-key tests
        # say otherwise explicitly.
        "UVMOD_KEY_SOURCE": "hook",
    }


def project(path: Path, text: str = '[project]\nname = "p"\nversion = "0"\n') -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyproject.toml").write_text(text)
    return path


def expected_env(tmp_path: Path, root: Path, key: str = "") -> str:
    return str(tmp_path / "depot" / depot.env_name(os.path.realpath(root), key, node()))


KEYED_PACKAGES = ["mpi4py", "h5py", "petsc4py", "slepc4py", "mpi4jax", "cupy", "pycuda"]


def keyed_build_variables(depot_path: Path, key: str) -> dict[str, dict[str, str]]:
    """The [extra-build-variables] of the per-key uv.toml for the default site's packages: the
    key, and the per-key setup.cfg (docs/design.md#per-key-builds), whose path depends on the
    key and the depot only."""
    setup_cfg = depot_path / depot.SETUPTOOLS / f"k-{key.replace('/', '@')}.cfg"
    return {
        p: {"UVMOD_CACHE_KEY": key, "DIST_EXTRA_CONFIG": str(setup_cfg)} for p in KEYED_PACKAGES
    }


def per_key_setup_cfg(key: str) -> str:
    return (
        f"# Written by the uv-hpc wrapper for UVMOD_CACHE_KEY={key} "
        "(docs/design.md#per-key-builds).\n"
        f"[build]\nbuild_base = build/uvmod-k-{key.replace('/', '@')}\n"
    )


def test_wrapper_passes_sh_n_with_dash_and_bash(wrapper: Path) -> None:
    for shell in ("sh", "bash"):
        assert subprocess.run([shell, "-n", str(wrapper)], check=False).returncode == 0


ARGS = [
    "run",
    "two words",
    "",
    "it's",
    'say "hi"',
    "$HOME",
    "*",
    "line\nbreak",
    "back\\slash",
    "--project",
    "-",
    "é ü 中",
    "trailing\n",
    " ",
]


@pytest.mark.parametrize("shell", ["sh", "bash"])
@pytest.mark.parametrize("in_project", [True, False])
def test_arguments_reach_uv_unchanged(
    tmp_path: Path, wrapper: Path, env: dict[str, str], shell: str, in_project: bool
) -> None:
    cwd = project(tmp_path / "w" / "p") if in_project else tmp_path
    seen = run_wrapper(wrapper, ARGS, cwd=cwd, env=env, shell=shell)
    assert seen.returncode == 0, seen.stderr
    assert seen.argv == ARGS
    assert seen.cwd == str(cwd)
    assert ("UV_PROJECT_ENVIRONMENT" in seen.env) is in_project


def test_project_gets_its_depot_environment_and_nothing_else_changes(
    tmp_path: Path, wrapper: Path, env: dict[str, str]
) -> None:
    root = project(tmp_path / "w" / "proj")
    (root / "src" / "pkg").mkdir(parents=True)
    env_with_locale = {
        **env,
        "LC_ALL": "en_US.UTF-8",
        "PWD": str(root / "src" / "pkg"),
        "OLDPWD": "/previous",
    }
    seen = run_wrapper(wrapper, ["sync"], cwd=root / "src" / "pkg", env=env_with_locale)
    assert seen.env["OLDPWD"] == "/previous"
    no_oldpwd = {k: v for k, v in env_with_locale.items() if k != "OLDPWD"}
    assert "OLDPWD" not in run_wrapper(wrapper, ["sync"], cwd=root, env=no_oldpwd).env
    assert seen.env["UV_PROJECT_ENVIRONMENT"] == expected_env(tmp_path, root)
    assert re.fullmatch(r"proj-[0-9a-f]{16}", Path(seen.env["UV_PROJECT_ENVIRONMENT"]).name)
    assert seen.env["LC_ALL"] == "en_US.UTF-8"  # the wrapper's LC_ALL=C is not leaked
    assert seen.env["PWD"] == str(root / "src" / "pkg")
    assert "VIRTUAL_ENV" not in seen.env
    assert "XDG_CONFIG_DIRS" not in seen.env  # no key, no per-key uv.toml


def test_outside_a_project_or_without_the_module_uv_is_left_alone(
    tmp_path: Path, wrapper: Path, env: dict[str, str]
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert "UV_PROJECT_ENVIRONMENT" not in run_wrapper(wrapper, ["run"], cwd=outside, env=env).env
    inside = project(tmp_path / "w" / "p")
    no_module = {k: v for k, v in env.items() if k != "UVMOD_VENV_DEPOT"}
    seen = run_wrapper(wrapper, ["sync"], cwd=inside, env=no_module)
    assert seen.returncode == 0 and "UV_PROJECT_ENVIRONMENT" not in seen.env


def test_user_choice_of_environment_wins(
    tmp_path: Path, wrapper: Path, env: dict[str, str]
) -> None:
    root = project(tmp_path / "w" / "p")
    seen = run_wrapper(wrapper, ["sync"], cwd=root, env={**env, "UV_PROJECT_ENVIRONMENT": "mine"})
    assert seen.env["UV_PROJECT_ENVIRONMENT"] == "mine"


def test_similar_paths_get_different_environments(
    tmp_path: Path, wrapper: Path, env: dict[str, str]
) -> None:
    one = project(tmp_path / "W" / "a" / "b_c")
    two = project(tmp_path / "W" / "a_b" / "c")
    first = run_wrapper(wrapper, ["sync"], cwd=one, env=env).env["UV_PROJECT_ENVIRONMENT"]
    second = run_wrapper(wrapper, ["sync"], cwd=two, env=env).env["UV_PROJECT_ENVIRONMENT"]
    assert first != second
    assert first == expected_env(tmp_path, one) and second == expected_env(tmp_path, two)


def test_symlinked_route_gets_the_same_environment(
    tmp_path: Path, wrapper: Path, env: dict[str, str]
) -> None:
    real = project(tmp_path / "real" / "proj")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "real")
    via_link = run_wrapper(wrapper, ["sync"], cwd=link / "proj", env={**env, "PWD": str(link)})
    direct = run_wrapper(wrapper, ["sync"], cwd=real, env=env)
    assert via_link.env["UV_PROJECT_ENVIRONMENT"] == direct.env["UV_PROJECT_ENVIRONMENT"]


def test_workspace_ancestor_is_the_root(tmp_path: Path, wrapper: Path, env: dict[str, str]) -> None:
    ws = project(
        tmp_path / "ws",
        '[project]\nname = "ws"\nversion = "0"\n\n[tool.uv.workspace]\nmembers = ["pkgs/*"]\n',
    )
    member = project(ws / "pkgs" / "m")
    seen = run_wrapper(wrapper, ["run"], cwd=member, env=env)
    assert seen.env["UV_PROJECT_ENVIRONMENT"] == expected_env(tmp_path, ws)
    assert depot.project_root(member) == ws
    # An ancestor pyproject.toml without a workspace does not capture the project.
    plain = project(tmp_path / "plain")
    inner = project(plain / "inner")
    seen = run_wrapper(wrapper, ["run"], cwd=inner, env=env)
    assert seen.env["UV_PROJECT_ENVIRONMENT"] == expected_env(tmp_path, inner)


@pytest.mark.parametrize(
    ("args", "extra_env"),
    [
        (["--project", "{p}", "sync"], {}),
        (["sync", "--project={p}"], {}),
        (["--directory", "{p}", "run", "python"], {}),
        (["run", "--directory={p}", "python"], {}),
        (["-q", "run", "--with", "numpy", "--project", "{p}", "python"], {}),
        (["sync"], {"UV_PROJECT": "{p}"}),
        (["sync"], {"UV_WORKING_DIR": "{p}"}),
        (["--directory", "{w}", "--project", "p", "sync"], {}),
    ],
)
def test_project_and_directory_options(
    tmp_path: Path,
    wrapper: Path,
    env: dict[str, str],
    args: list[str],
    extra_env: dict[str, str],
) -> None:
    target = project(tmp_path / "w" / "p")
    elsewhere = project(tmp_path / "other")

    def fill(text: str) -> str:
        return text.replace("{p}", str(target)).replace("{w}", str(target.parent))

    seen = run_wrapper(
        wrapper,
        [fill(a) for a in args],
        cwd=elsewhere,
        env={**env, **{k: fill(v) for k, v in extra_env.items()}},
    )
    assert seen.env["UV_PROJECT_ENVIRONMENT"] == expected_env(tmp_path, target)
    assert seen.cwd == str(elsewhere)


def test_options_of_the_command_run_by_uv_run_are_not_read(
    tmp_path: Path, wrapper: Path, env: dict[str, str]
) -> None:
    here = project(tmp_path / "here")
    other = project(tmp_path / "other")
    seen = run_wrapper(
        wrapper, ["run", "--with", "x", "python", "--project", str(other)], cwd=here, env=env
    )
    assert seen.env["UV_PROJECT_ENVIRONMENT"] == expected_env(tmp_path, here)


def test_value_options_list_covers_uv_run_help(wrapper: Path) -> None:
    """Every option of `uv run` that takes a value is in the wrapper's skip list, or the scan
    would take that value for the command to run (and miss a later --project)."""
    help_text = subprocess.run(
        [tools.real_uv(), "run", "--help"], capture_output=True, text=True, check=True
    ).stdout
    taking: set[str] = set()
    for line in help_text.splitlines():
        match = re.match(r"\s+((?:-\w, )?--[\w-]+)(?: <\w+>|=<\w+>| <\w+>\.\.\.)", line)
        if match:
            taking.update(part.strip() for part in match.group(1).split(","))
    assert "--with" in taking and "--project" in taking
    body = wrapper.read_text()
    listed = set(re.findall(r"(?<![\w-])(--?[\w-]+)(?= \||\))", body))
    assert taking - listed == set()


def test_uv_pip_gets_virtual_env_only_when_the_environment_exists(
    tmp_path: Path, wrapper: Path, env: dict[str, str]
) -> None:
    root = project(tmp_path / "w" / "p")
    seen = run_wrapper(wrapper, ["pip", "list"], cwd=root, env=env)
    assert "VIRTUAL_ENV" not in seen.env
    venv = Path(expected_env(tmp_path, root))
    venv.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    seen = run_wrapper(wrapper, ["pip", "list"], cwd=root, env=env)
    assert seen.env["VIRTUAL_ENV"] == str(venv)
    seen = run_wrapper(wrapper, ["pip", "list"], cwd=root, env={**env, "VIRTUAL_ENV": "/v"})
    assert seen.env["VIRTUAL_ENV"] == "/v"


def test_marker_is_written_once_the_environment_exists(
    tmp_path: Path, wrapper: Path, env: dict[str, str]
) -> None:
    root = project(tmp_path / "w" / "p")
    venv = Path(expected_env(tmp_path, root, "mpich/4.1.2"))
    keyed = {**env, "UVMOD_CACHE_KEY": "mpich/4.1.2"}
    run_wrapper(wrapper, ["sync"], cwd=root, env=keyed)
    assert not venv.exists()  # uv creates it, not the wrapper (uv refuses non-empty non-venvs)
    venv.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    run_wrapper(wrapper, ["sync"], cwd=root, env=keyed)
    marker = depot.read_marker(venv)
    assert marker == depot.Marker(root, "mpich/4.1.2", node())
    assert (venv / depot.LAST_USED).is_file()
    assert [p.name for p in venv.iterdir() if ".uvmod-project." in p.name] == []


def test_marker_gone_but_last_used_there_moves_the_environment_aside(
    tmp_path: Path, wrapper: Path, env: dict[str, str]
) -> None:
    root = project(tmp_path / "w" / "p")
    venv = Path(expected_env(tmp_path, root))
    venv.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    run_wrapper(wrapper, ["sync"], cwd=root, env=env)
    (venv / depot.MARKER).unlink()  # what an age-based purge deletes first
    seen = run_wrapper(wrapper, ["run", "python"], cwd=root, env=env)
    assert seen.env["UV_PROJECT_ENVIRONMENT"] == str(venv)
    assert not venv.exists()
    trash = list((tmp_path / "depot" / depot.TRASH).iterdir())
    assert len(trash) == 1 and (trash[0] / "pyvenv.cfg").is_file()
    assert "partly deleted" in seen.stderr and str(trash[0]) in seen.stderr


def test_per_key_uv_toml(tmp_path: Path, wrapper: Path, env: dict[str, str]) -> None:
    import tomllib

    root = project(tmp_path / "w" / "p")
    key = "cuda/12.2,mpich/4.1.2"
    keyed = {**env, "UVMOD_CACHE_KEY": key, "XDG_CONFIG_DIRS": "/site/etc"}
    seen = run_wrapper(wrapper, ["sync"], cwd=root, env=keyed)
    first, rest = seen.env["XDG_CONFIG_DIRS"].split(":", 1)
    assert rest == "/site/etc"
    assert Path(first).name == "k-cuda@12.2,mpich@4.1.2"
    config = tomllib.loads((Path(first) / "uv" / "uv.toml").read_text())
    policy = tomllib.loads(
        (wrapper.parent.parent / "etc" / "generic" / "uv" / "uv.toml").read_text()
    )
    assert config == {
        **policy,
        "extra-build-variables": keyed_build_variables(tmp_path / "depot", key),
    }
    setup_cfg = Path(config["extra-build-variables"]["mpi4py"]["DIST_EXTRA_CONFIG"])
    assert setup_cfg.read_text() == per_key_setup_cfg(key)
    # Written once: a second call reuses the files as they are.
    stamps = [p.stat().st_mtime_ns for p in (Path(first) / "uv" / "uv.toml", setup_cfg)]
    again = run_wrapper(wrapper, ["sync"], cwd=root, env=keyed)
    assert again.env["XDG_CONFIG_DIRS"] == seen.env["XDG_CONFIG_DIRS"]
    assert [p.stat().st_mtime_ns for p in (Path(first) / "uv" / "uv.toml", setup_cfg)] == stamps
    # The key is part of the environment's identity.
    assert seen.env["UV_PROJECT_ENVIRONMENT"] == expected_env(tmp_path, root, key)
    assert seen.env["UV_PROJECT_ENVIRONMENT"] != expected_env(tmp_path, root)


def test_per_key_files_with_a_hostile_depot_path(
    tmp_path: Path, wrapper: Path, env: dict[str, str]
) -> None:
    """The depot path reaches a TOML string: quotes and backslashes are escaped, and the
    setup.cfg it names is the one written."""
    root = project(tmp_path / "w" / "p")
    hostile = tmp_path / 'de"p\\ot\\"  it\'s $(id) [x]'
    key = "mpich/4.1.2"
    seen = run_wrapper(
        wrapper,
        ["sync"],
        cwd=root,
        env={**env, "UVMOD_VENV_DEPOT": str(hostile), "UVMOD_CACHE_KEY": key},
    )
    assert seen.returncode == 0 and seen.stderr == "", seen.stderr
    first = Path(seen.env["XDG_CONFIG_DIRS"].split(":")[0])
    config = tomllib.loads((first / "uv" / "uv.toml").read_text())
    assert config["extra-build-variables"] == keyed_build_variables(hostile, key)
    setup_cfg = Path(config["extra-build-variables"]["mpi4py"]["DIST_EXTRA_CONFIG"])
    assert setup_cfg.read_text() == per_key_setup_cfg(key)


def test_depot_path_with_control_characters_gets_no_per_key_config(
    tmp_path: Path, wrapper: Path, env: dict[str, str]
) -> None:
    """A depot path TOML cannot hold: said on stderr, and uv runs with the site policy only
    (module tools cannot export such a value, so only a hand-set variable gets here)."""
    root = project(tmp_path / "w" / "p")
    seen = run_wrapper(
        wrapper,
        ["sync"],
        cwd=root,
        env={**env, "UVMOD_VENV_DEPOT": str(tmp_path / "dep\x01ot"), "UVMOD_CACHE_KEY": "mpich/4"},
    )
    assert seen.returncode == 0
    assert "holds control characters; wheels built now are not isolated per key" in seen.stderr
    assert "XDG_CONFIG_DIRS" not in seen.env
    assert not list((tmp_path / "dep\x01ot").glob(".uvmod-config/*/*/*/uv/uv.toml"))


def test_purged_setup_cfg_is_written_again(
    tmp_path: Path, wrapper: Path, env: dict[str, str]
) -> None:
    """The scratch purge may take the setup.cfg and leave the uv.toml naming it (or the other
    way round): the next call writes what is missing, so no build runs without it."""
    root = project(tmp_path / "w" / "p")
    key = "openmpi/4.1.5"
    keyed = {**env, "UVMOD_CACHE_KEY": key}
    run_wrapper(wrapper, ["sync"], cwd=root, env=keyed)
    setup_cfg = Path(keyed_build_variables(tmp_path / "depot", key)["mpi4py"]["DIST_EXTRA_CONFIG"])
    setup_cfg.unlink()
    run_wrapper(wrapper, ["sync"], cwd=root, env=keyed)
    assert setup_cfg.read_text() == per_key_setup_cfg(key)
    for config in (tmp_path / "depot" / depot.CONFIG).rglob("uv.toml"):
        config.unlink()
    again = run_wrapper(wrapper, ["sync"], cwd=root, env=keyed)
    first = Path(again.env["XDG_CONFIG_DIRS"].split(":")[0])
    assert tomllib.loads((first / "uv" / "uv.toml").read_text())["extra-build-variables"] == (
        keyed_build_variables(tmp_path / "depot", key)
    )


@pytest.mark.parametrize("key", ['mpich/4.1"', "a b", "x\ny", "$(id)", "é"])
def test_unsafe_key_is_refused(
    tmp_path: Path, wrapper: Path, env: dict[str, str], key: str
) -> None:
    seen = run_wrapper(
        wrapper, ["sync"], cwd=project(tmp_path / "p"), env={**env, "UVMOD_CACHE_KEY": key}
    )
    assert seen.returncode == 2 and seen.argv == []
    assert "refusing to run uv" in seen.stderr


@pytest.mark.parametrize(
    "garbage", ["../../elsewhere-0123456789abcdef", "p-0123", "", "x y-0123456789abcdef"]
)
def test_malformed_index_entry_is_recomputed(
    tmp_path: Path, wrapper: Path, env: dict[str, str], garbage: str
) -> None:
    root = project(tmp_path / "w" / "p")
    first = run_wrapper(wrapper, ["sync"], cwd=root, env=env).env["UV_PROJECT_ENVIRONMENT"]
    (entry,) = (tmp_path / "depot" / ".uvmod-index").rglob(".uvmod-name")
    assert entry.read_text() == Path(first).name + "\n"
    entry.write_text(garbage + "\n")
    again = run_wrapper(wrapper, ["sync"], cwd=root, env=env).env["UV_PROJECT_ENVIRONMENT"]
    assert again == first == expected_env(tmp_path, root)
    assert entry.read_text() == Path(first).name + "\n"


@pytest.mark.parametrize(
    ("key", "source", "warned"),
    [
        ("openmpi/4.1.5", "load", True),  # swapped mpich -> openmpi after loading uv-hpc
        ("openmpi/4.1.5", "", True),
        ("mpich/4.1.2", "load", False),
        ("openmpi/4.1.5", "hook", False),  # the hook keeps it current: not checked
    ],
)
def test_stale_key_is_reported_and_uv_still_runs(
    tmp_path: Path, wrapper: Path, env: dict[str, str], key: str, source: str, warned: bool
) -> None:
    loaded = {
        **env,
        "LOADEDMODULES": "gcc/12:mpich/4.1.2:uv-hpc/1.0",
        "LMOD_FAMILY_MPI": "mpich",
        "UVMOD_CACHE_KEY": key,
        "UVMOD_KEY_SOURCE": source,
    }
    root = project(tmp_path / "p")
    seen = run_wrapper(wrapper, ["sync"], cwd=root, env=loaded)
    assert seen.returncode == 0 and seen.argv == ["sync"]
    assert ("does not match the MPI/CUDA modules" in seen.stderr) is warned
    assert ("module reload uv-hpc" in seen.stderr) is warned
    # A stale key is not used: this call follows the modules loaded now (mpich/4.1.2), for the
    # per-key build settings and the environment alike.
    used = "mpich/4.1.2" if warned else key
    assert seen.env["UVMOD_CACHE_KEY"] == used
    assert seen.env["UV_PROJECT_ENVIRONMENT"] == expected_env(tmp_path, root, used)
    if warned:
        assert "this command uses 'mpich/4.1.2'" in seen.stderr


def test_messages_name_the_sites_module(
    tmp_path: Path, build_prefix: BuildPrefix, env: dict[str, str]
) -> None:
    """The module name is the site's choice ([module].name): the wrapper's messages and fixes
    must use it, not "uv-hpc"."""
    fake = make_standin(tmp_path / "fake")
    prefix = build_prefix(
        '[module]\nname = "pyuv"\n[cache_key]\nfamilies = ["mpi"]\n', uv=str(fake)
    )
    wrapper = prefix / "pyuv" / "1.0" / "bin" / "uv"
    loaded = {
        **env,
        "LOADEDMODULES": "mpich/4.1.2:pyuv/1.0",
        "LMOD_FAMILY_MPI": "mpich",
        "UVMOD_KEY_SOURCE": "load",
    }
    seen = run_wrapper(wrapper, ["sync"], cwd=project(tmp_path / "p"), env=loaded)
    assert seen.stderr.startswith("pyuv: ")
    assert "module reload pyuv (Environment Modules: module switch pyuv)" in seen.stderr
    assert "uv-hpc" not in seen.stderr


# A stand-in uv that reads, with builtins only (a millisecond after the wrapper's exec, where the
# Python stand-in takes tens), the system uv.toml uv would read: the first <dir>/uv/uv.toml of
# XDG_CONFIG_DIRS. It prints that directory, UV_PROJECT_ENVIRONMENT, then the file.
READER = """\
#!/bin/sh
d=${XDG_CONFIG_DIRS%%:*}
printf '%s\\n%s\\n' "$d" "$UV_PROJECT_ENVIRONMENT"
while IFS= read -r line || [ -n "$line" ]; do printf '%s\\n' "$line"; done <"$d/uv/uv.toml"
"""


def _at_once(
    commands: list[list[str]], cwd: Path, env: dict[str, str], gate: Path
) -> list[tuple[int, str, str]]:
    """Start every command, wait until all are ready, then release them together: each waits
    for one line on a FIFO, which gets all its lines in one write. (returncode, out, err)."""
    os.mkfifo(gate)
    hold = os.open(gate, os.O_RDWR)  # a writer exists from now on: the readers' open() returns
    procs = [
        subprocess.Popen(
            ["sh", "-c", ': >"$0.$$"; read _ <"$0"; exec "$@"', str(gate), *command],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for command in commands
    ]
    try:
        while len(list(gate.parent.glob(gate.name + ".*"))) < len(procs):
            time.sleep(0.005)
        time.sleep(0.02)  # let the last one reach its read
        os.write(hold, b"\n" * len(procs))
        outputs = [proc.communicate(timeout=60) for proc in procs]
    finally:
        os.close(hold)
    return [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs, strict=True)]


def _first_uses_of_new_keys(tmp_path: Path, build_prefix: BuildPrefix, rounds: int) -> None:
    """Each round, 8 calls use a key no call used before, so each may write the per-key
    uv.toml and setup.cfg (sh/uv-rare.sh, "Per-key builds"): all succeed, each uv finds the
    whole file, one file of each results, the uv.toml equal to the policy + the key's
    [extra-build-variables], and no temporary file is left."""
    reader = tmp_path / "reader" / "uv"
    reader.parent.mkdir()
    reader.write_text(READER)
    reader.chmod(0o755)
    wrapper = wrapper_path(build_prefix(uv=str(reader)))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "UVMOD_VENV_DEPOT": str(tmp_path / "depot"),
        "UVMOD_ARCH": "generic",
        "UVMOD_KEY_SOURCE": "hook",
    }
    root = project(tmp_path / "w" / "p")
    policy = tomllib.loads(
        (wrapper.parent.parent / "etc" / "generic" / "uv" / "uv.toml").read_text()
    )
    for n in range(rounds):
        key = f"cuda/12.{n},mpich/4.1.2"
        calls = _at_once(
            [["sh", str(wrapper), "sync"]] * 8,
            root,
            {**env, "UVMOD_CACHE_KEY": key},
            tmp_path / f"gate{n}",
        )
        assert [(code, err) for code, _, err in calls] == [(0, "")] * 8, calls
        expected = {
            **policy,
            "extra-build-variables": keyed_build_variables(tmp_path / "depot", key),
        }
        for _, out, _ in calls:
            config, environment, text = out.split("\n", 2)
            assert Path(config).name == f"k-cuda@12.{n},mpich@4.1.2"
            # Every call got the same environment for the key (the depot index raced too).
            assert environment == expected_env(tmp_path, root, key)
            assert tomllib.loads(text) == expected
        assert sorted(p.name for p in Path(config).rglob("*")) == ["uv", "uv.toml"]
        setup_cfg = keyed_build_variables(tmp_path / "depot", key)["mpi4py"]["DIST_EXTRA_CONFIG"]
        assert Path(setup_cfg).read_text() == per_key_setup_cfg(key)
    files = sorted(p for p in (tmp_path / "depot").rglob("*") if p.is_file())
    assert [p for p in files if p.name not in ("uv.toml", ".uvmod-name")] == sorted(
        tmp_path / "depot" / depot.SETUPTOOLS / f"k-cuda@12.{n},mpich@4.1.2.cfg"
        for n in range(rounds)
    )
    assert len([p for p in files if p.name == "uv.toml"]) == rounds


def test_eight_simultaneous_first_uses_of_a_new_key(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    _first_uses_of_new_keys(tmp_path, build_prefix, rounds=20)


@pytest.mark.slow
def test_eight_simultaneous_first_uses_of_a_new_key_many_rounds(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    _first_uses_of_new_keys(tmp_path, build_prefix, rounds=300)
