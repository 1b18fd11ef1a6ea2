"""The uv wrapper's phases one at a time (sh/uv-phases.sh, sh/uv-rare.sh), each against its
Python twin where it has one, and the wrapper's dry run (UVMOD_WRAPPER_DRY_RUN) as `uvmod venv
path` and doctor use it (uvmod/dryrun.py). tests/test_wrapper.py runs the whole wrapper."""

from __future__ import annotations

import os
import random
import re
import subprocess
import tomllib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import pytest

from tests.conftest import BuildPrefix
from tests.support import tools
from tests.support.nodes import node
from tests.support.standin import make_standin, run_wrapper, wrapper_path
from uvmod import depot, dryrun
from uvmod.cli import main
from uvmod.config import load_config
from uvmod.layout import Layout
from uvmod.moduledesc import describe
from uvmod.render import packaged_text
from uvmod.render.wrapper import library_assignments, sh_quote, wrapper_assignments
from uvmod.sitefacts import load_site_facts

SHELLS = ["sh", "bash"]
BUILD = "0123456789abcdef"


def phases(depot_path: Path = Path("/nonexistent/depot")) -> str:
    """The wrapper's functions with a default site's assignments, as bin/uv and its library
    define them, for a test to call one phase."""
    layout = Layout(PurePosixPath("/opt/uvmod"), "uv-hpc", "1.0")
    desc = describe(load_config(None), layout, real_uv="/bin/false")
    assignments = {**wrapper_assignments(desc, BUILD), **library_assignments(desc, BUILD)}
    return (
        "".join(f"{name}={sh_quote(value)}\n" for name, value in assignments.items())
        + packaged_text("sh", "uvmod-key.sh")
        + packaged_text("sh", "uv-phases.sh")
        + packaged_text("sh", "uv-rare.sh")
        + f"_uvmod_depot={sh_quote(str(depot_path))} _uvmod_dry='' _uvmod_arch=generic\n"
    )


def run_sh(
    script: str, args: Sequence[str | bytes] = (), *, shell: str = "sh", cwd: Path | None = None
) -> list[bytes]:
    """Run `script` after the phases; its NUL-ended printf records."""
    proc = subprocess.run(
        [tools.program(shell), "-c", phases() + script, "sh", *args],
        capture_output=True,
        check=False,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout.split(b"\0")[:-1]


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["sync"], ["sync", "", "", ""]),
        (["-q", "--project", "p", "run", "python"], ["run", "", "p", ""]),
        (["run", "--with", "x", "python", "--project", "y"], ["run", "", "", ""]),
        (["--directory=d", "pip", "install", "--project=p"], ["pip", "", "p", "d"]),
        (["tool", "install", "ruff"], ["tool", "install", "", ""]),
        (["-p", "3.11", "sync", "--", "--project", "x"], ["sync", "", "", ""]),
        ([], ["", "", "", ""]),
    ],
)
def test_scan_args_finds_the_subcommand_and_the_project(
    shell: str, args: list[str], expected: list[str]
) -> None:
    out = run_sh(
        '_uvmod_scan_args "$@"\n'
        'printf \'%s\\0\' "$_uvmod_cmd" "$_uvmod_sub" "$_uvmod_project" "$_uvmod_directory"\n',
        args,
        shell=shell,
    )
    assert [x.decode() for x in out] == expected


@pytest.mark.parametrize("shell", SHELLS)
def test_key_check_allows_module_names_only(shell: str) -> None:
    keys = ["", "mpich/4.1.2", "cuda/12.2,mpich/4.1.2", "a+b.c-d_e", 'x"', "a b", "é", "$(id)", "*"]
    out = run_sh(
        'for k do _uvmod_key=$k; if _uvmod_check_key 2>/dev/null; then printf "1\\0"; '
        'else printf "0\\0"; fi; done\n',
        keys,
        shell=shell,
    )
    assert out == [b"1" if depot.KEY_CHARS.fullmatch(k) else b"0" for k in keys]
    assert out.count(b"1") == 4


@pytest.mark.parametrize("shell", SHELLS)
def test_key_directory_is_depot_key_dir(shell: str) -> None:
    keys = ["", "mpich/4.1.2", "cuda/12.2,mpich/4.1.2", "a/b/c", "x" * 200, "y/" * 101]
    out = run_sh(
        'for k do _uvmod_key=$k; _uvmod_key_dir_name; printf "%s\\0" "$_uvmod_key_dir"; done\n',
        keys,
        shell=shell,
    )
    assert [x.decode() for x in out] == [depot.key_dir(k) for k in keys]
    assert out[-1].startswith(b"k-h-")


def _components(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    alphabet = [*b"aZ09._-", *b" +@", 0xC3, 0xA9, 0xFF, 0x0A, ord(".")]
    parts = [b".hidden", b"-", b"...", ("€" * 30).encode(), b"x" * 60]
    while len(parts) < count:
        part = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 70)))
        if part not in (b".", b".."):
            parts.append(part)
    return parts


@pytest.mark.parametrize("shell", SHELLS)
def test_readable_part_is_depot_readable_part(shell: str) -> None:
    seed = random.randrange(2**32)
    parts = _components(seed, 200)
    out = run_sh(
        'for c do _uvmod_readable_part "$c"; printf "%s\\0" "$_uvmod_readable"; done\n',
        parts,
        shell=shell,
    )
    want = [depot.readable_part(b"/w/" + p).encode() for p in parts]
    assert out == want, f"seed {seed}"


@pytest.mark.parametrize("shell", SHELLS)
def test_identity_name_and_index_entry_are_depot_s(shell: str, tmp_path: Path) -> None:
    cases = [
        ("", "/w/p", ""),
        ("mpich/4.1.2", "/w/p", "avx2"),
        ("mpich/4.1.2", "/", "x86-64-v4"),
        ("cuda/12.2,mpich/4.1.2", "/w/new\nline/ü", "neoverse_v2"),
    ]
    script = (
        "while [ $# -gt 0 ]; do _uvmod_key=$1 _uvmod_root=$2 _uvmod_arch=$3; shift 3;"
        " _uvmod_key_dir_name; _uvmod_node; _uvmod_identity; _uvmod_new_name;"
        ' printf "%s\\0" "$_uvmod_identity" "$_uvmod_name" "$_uvmod_index_entry"; done\n'
    )
    out = subprocess.run(
        [tools.program(shell), "-c", phases(tmp_path) + script, "sh"]
        + [x for case in cases for x in case],
        capture_output=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout.split(b"\0")[:-1]
    for i, (key, root, arch) in enumerate(cases):
        identity, name, entry = out[3 * i : 3 * i + 3]
        # No $UVMOD_MACHINE here: the wrapper asks `uname -m`, as depot.current_node does.
        here = depot.current_node({"UVMOD_ARCH": arch})
        assert identity + b"\n" == depot.identity(root, key, here)
        assert name.decode() == depot.env_name(root, key, here)
        assert Path(os.fsdecode(entry)) == depot.index_entry(tmp_path, root, key, here)
        # Remembered there, as the next call reads it.
        assert Path(os.fsdecode(entry)).read_text() == name.decode() + "\n"


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("project", ["-rf", "--", ".hidden", "plain"])
def test_an_index_entry_is_read_back_whatever_the_project_is_called(
    shell: str, project: str, tmp_path: Path
) -> None:
    """The second call reads the name the first remembered (no sha256sum again), also for a
    project named like an option, and that name is depot.env_name's."""
    script = (
        '_uvmod_key="" _uvmod_root=/w/$1; _uvmod_key_dir_name; _uvmod_node; _uvmod_identity;'
        " _uvmod_depot_name; first=$_uvmod_name\n"
        "_uvmod_new_name() { _uvmod_name=recomputed; }\n"
        '_uvmod_depot_name; printf "%s\\0" "$first" "$_uvmod_name"\n'
    )
    out = subprocess.run(
        [tools.program(shell), "-c", phases(tmp_path) + script, "sh", project],
        capture_output=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    ).stdout.split(b"\0")[:-1]
    want = depot.env_name(f"/w/{project}", "", node())  # phases(): _uvmod_arch=generic
    assert [x.decode() for x in out] == [want, want]
    assert not want.startswith(("-", "."))


def test_project_root_is_depot_project_root(tmp_path: Path) -> None:
    def project(path: Path, text: str = "[project]\nname = 'p'\n") -> Path:
        path.mkdir(parents=True, exist_ok=True)
        (path / "pyproject.toml").write_text(text)
        return path

    ws = project(
        tmp_path / "ws",
        "[project]\nname = 'ws'\n  [ tool.uv.workspace ]\nmembers = [\n  'pkgs/*', # all\n"
        '  "libs/**",\n]\nexclude = ["pkgs/old"]\n',
    )
    member = project(ws / "pkgs" / "m")
    (member / "src" / "deep").mkdir(parents=True)
    deep_member = project(ws / "libs" / "a" / "b")
    excluded = project(ws / "pkgs" / "old")
    too_deep = project(ws / "pkgs" / "m2" / "sub")  # pkgs/* is one level
    stranger = project(ws / "other")  # not a member: its own root
    own = project(ws / "pkgs" / "own", "[project]\nname = 'own'\n[tool.uv.workspace]\n")
    plain = project(tmp_path / "plain")
    inner = project(plain / "inner")
    outside = tmp_path / "nothing"
    outside.mkdir()
    starts = [
        member / "src" / "deep",
        member,
        ws,
        deep_member,
        excluded,
        too_deep,
        stranger,
        own,
        inner,
        plain,
        outside,
    ]
    script = (
        'for d do cd "$d" && _uvmod_directory="" _uvmod_project="" && _uvmod_discovery_start'
        ' && if _uvmod_project_root; then printf "%s\\0" "$_uvmod_root";'
        " else printf '%s\\0' -; fi; done\n"
    )
    out = run_sh(script, [str(s) for s in starts])
    want = [str(depot.project_root(s) or "-").encode() for s in starts]
    assert out == want
    assert want[:4] == [str(ws).encode()] * 4 and want[-1] == b"-"
    assert want[4:8] == [str(p).encode() for p in (excluded, too_deep, stranger, own)]


def _environment(path: Path, *files: str) -> Path:
    path.mkdir(parents=True)
    for name in files:
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("")
    return path


@pytest.mark.parametrize("dry", [False, True])
def test_check_environment_states(tmp_path: Path, dry: bool) -> None:
    d = tmp_path / "depot"
    envs = {
        "absent": None,
        "unmarked": ["pyvenv.cfg", "bin/python"],
        "marked": ["pyvenv.cfg", "bin/python", depot.MARKER],
        "damaged": ["pyvenv.cfg", "bin/python", depot.LAST_USED],  # the marker was purged
        "damaged-python": ["pyvenv.cfg", depot.MARKER],  # bin/python was purged
    }
    for name, files in envs.items():
        if files is not None:
            _environment(d / name, *files)
    before = sorted(p.relative_to(d) for p in d.rglob("*"))
    dry_value = "1" if dry else "''"
    script = (
        f"_uvmod_depot={sh_quote(str(d))} _uvmod_dry={dry_value} _uvmod_key=k _uvmod_root=/w/p\n"
        "_uvmod_arch=avx2 _uvmod_machine=x86_64\n"
        "for n do _uvmod_name=$n; _uvmod_own_environment; _uvmod_check_environment 2>/dev/null;"
        ' printf "%s\\0" "$_uvmod_state"; done\n'
    )
    out = run_sh(script, list(envs))
    assert [x.decode() for x in out] == [
        "absent",
        "unmarked",
        "marked",
        "damaged",
        "damaged",
    ]
    if dry:  # a dry run decides the same and changes nothing
        assert sorted(p.relative_to(d) for p in d.rglob("*")) == before
        return
    assert depot.read_marker(d / "unmarked") == depot.Marker(
        Path("/w/p"), "k", depot.Node("avx2", "x86_64")
    )
    assert (d / "unmarked" / depot.LAST_USED).is_file()
    assert (d / "marked" / depot.LAST_USED).is_file()
    assert not (d / "damaged").exists() and not (d / "damaged-python").exists()
    assert len(list((d / depot.TRASH).iterdir())) == 2


@pytest.mark.parametrize("shell", SHELLS)
def test_toml_escape_round_trips(shell: str) -> None:
    values = ['de"p\\ot', '\\"', "plain", "it's $(id) [x] {y}", "\\\\", "é ü", '"']
    out = run_sh(
        'for v do _uvmod_toml_escape "$v"; printf "%s\\0" "$_uvmod_escaped"; done\n',
        values,
        shell=shell,
    )
    for value, escaped in zip(values, out, strict=True):
        assert tomllib.loads(f'x = "{escaped.decode()}"\n')["x"] == value


def test_write_atomic_leaves_a_whole_file_or_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    script = (
        '_uvmod_write_atomic "$1/new/dir/f" printf "%s\\n" hello; printf "%s\\0" $?\n'
        '_uvmod_write_atomic "$1/failed" false; printf "%s\\0" $?\n'
        '_uvmod_write_atomic "$1/a-file/f" printf x; printf "%s\\0" $?\n'
    )
    assert run_sh(script, [str(tmp_path)]) == [b"0", b"1", b"1"]
    assert (tmp_path / "new" / "dir" / "f").read_text() == "hello\n"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a-file", "dir", "f", "new"]


def test_generated_wrapper_and_library_are_shellcheck_clean(build_prefix: BuildPrefix) -> None:
    home = build_prefix(uv="/bin/false") / "uv-hpc" / "1.0"
    scripts = [home / "bin" / "uv", home / "libexec" / "uv-rare.sh"]
    result = subprocess.run(
        [tools.program("shellcheck"), "-s", "sh", *map(str, scripts)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    # bin/uv assigns every UVMOD_ name its own code reads (shellcheck cannot tell: it takes
    # upper-case names for the environment's); the library may read bin/uv's too.
    wrapper = scripts[0].read_text()
    assigned = set(re.findall(r"(?m)^(UVMOD_[A-Z_]+)=", wrapper))
    read = set(re.findall(r"\$\{?(UVMOD_[A-Z_]+)", wrapper))
    assert read - assigned == set()
    library = scripts[1].read_text()
    read_by_library = set(re.findall(r"\$\{?(UVMOD_[A-Z_]+)", library))
    assert read_by_library - assigned - set(re.findall(r"(?m)^(UVMOD_[A-Z_]+)=", library)) == set()


# --- The library: read only when needed, and only from the same build ----------------------


@pytest.fixture
def site(tmp_path: Path, build_prefix: BuildPrefix) -> tuple[Path, dict[str, str], Path]:
    wrapper = wrapper_path(build_prefix(uv=str(make_standin(tmp_path / "fake"))))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "UVMOD_VENV_DEPOT": str(tmp_path / "depot"),
        "UVMOD_ARCH": "generic",
        "UVMOD_KEY_SOURCE": "hook",
        "UVMOD_CACHE_KEY": "mpich/4.1.2",
    }
    project = tmp_path / "w" / "p"
    project.mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    return wrapper, env, project


def test_the_common_path_never_reads_the_library(site: tuple[Path, dict[str, str], Path]) -> None:
    wrapper, env, project = site
    first = run_wrapper(wrapper, ["sync"], cwd=project, env=env)  # writes the name and configs
    library = wrapper.parent.parent / "libexec" / "uv-rare.sh"
    library.rename(library.with_suffix(".away"))
    again = run_wrapper(wrapper, ["sync"], cwd=project, env=env)
    assert again.returncode == 0 and again.stderr == ""
    assert again.env["UV_PROJECT_ENVIRONMENT"] == first.env["UV_PROJECT_ENVIRONMENT"]
    assert again.env["XDG_CONFIG_DIRS"] == first.env["XDG_CONFIG_DIRS"]


@pytest.mark.parametrize("damage", ["missing", "another build"])
def test_a_library_of_another_build_ends_the_call(
    site: tuple[Path, dict[str, str], Path], damage: str
) -> None:
    """A module rebuilt between bin/uv's start and its first use of the library: the call ends
    with a clear message rather than mixing two builds' rules, and uv does not run."""
    wrapper, env, project = site
    library = wrapper.parent.parent / "libexec" / "uv-rare.sh"
    if damage == "missing":
        library.unlink()
    else:
        text = library.read_text()
        library.write_text(text.replace("_uvmod_rare_build='", "_uvmod_rare_build='x"))
    seen = run_wrapper(wrapper, ["sync"], cwd=project, env=env)
    assert seen.returncode == 1 and seen.argv == []
    assert f"uv-hpc: {library} is missing or from another build of uv-hpc" in seen.stderr
    assert "run it again" in seen.stderr


# --- The dry run -----------------------------------------------------------------------------


def _records(wrapper: Path, args: list[str], cwd: Path, env: dict[str, str]) -> dict[str, str]:
    proc = subprocess.run(
        [str(wrapper), *args],
        cwd=cwd,
        env={**env, "UVMOD_WRAPPER_DRY_RUN": "1"},
        capture_output=True,
        check=True,
    )
    records = proc.stdout.split(b"\0")
    assert records[0] == b"dry-run=1" and records[-1] == b""
    return dict(os.fsdecode(r).partition("=")[::2] for r in records[1:-1])


def test_dry_run_answers_what_the_call_would_do_and_writes_nothing(
    site: tuple[Path, dict[str, str], Path],
) -> None:
    wrapper, env, project = site
    depot_path = Path(env["UVMOD_VENV_DEPOT"])
    answer = _records(wrapper, ["sync"], project, env)
    assert not depot_path.exists()  # no index entry, no per-key file
    env_dir = depot_path / depot.env_name(project, "mpich/4.1.2", node())
    assert answer == {
        "command": "sync",
        "key": "mpich/4.1.2",
        "stale": "",
        "config": answer["config"],
        "project": str(project),
        "environment": str(env_dir),
        "state": "absent",
        "arch": "generic",
        "machine": node().machine,
        "UV_PROJECT_ENVIRONMENT": str(env_dir),
        "XDG_CONFIG_DIRS": answer["config"],
        "UVMOD_CACHE_KEY": "mpich/4.1.2",
    }
    assert Path(answer["config"]).name == "k-mpich@4.1.2"
    # The real call then does exactly that.
    seen = run_wrapper(wrapper, ["sync"], cwd=project, env=env)
    assert seen.env["UV_PROJECT_ENVIRONMENT"] == answer["environment"]
    assert seen.env["XDG_CONFIG_DIRS"] == answer["config"]
    assert (Path(answer["config"]) / "uv" / "uv.toml").is_file()


def test_dry_run_of_a_damaged_environment_moves_nothing(
    site: tuple[Path, dict[str, str], Path],
) -> None:
    wrapper, env, project = site
    env_dir = Path(env["UVMOD_VENV_DEPOT"]) / depot.env_name(project, "mpich/4.1.2", node())
    _environment(env_dir, "pyvenv.cfg", depot.LAST_USED)
    assert _records(wrapper, ["pip", "list"], project, env)["state"] == "damaged"
    assert (env_dir / "pyvenv.cfg").is_file()
    assert "VIRTUAL_ENV" not in _records(wrapper, ["pip", "list"], project, env)


@pytest.mark.parametrize(
    ("args", "where", "extra"),
    [
        (["--version"], "project", {}),
        (["sync"], "outside", {}),
        (["sync"], "project", {"UV_PROJECT_ENVIRONMENT": "mine"}),
        (["cache", "dir"], "project", {}),
        (["tool", "run", "ruff"], "project", {}),
    ],
)
def test_dry_run_of_a_call_that_goes_to_uv_unchanged(
    site: tuple[Path, dict[str, str], Path],
    tmp_path: Path,
    args: list[str],
    where: str,
    extra: dict[str, str],
) -> None:
    wrapper, env, project = site
    answer = _records(wrapper, args, project if where == "project" else tmp_path, {**env, **extra})
    assert answer["environment"] == "" and answer["project"] == ""
    assert answer.get("UV_PROJECT_ENVIRONMENT", "") == extra.get("UV_PROJECT_ENVIRONMENT", "")


@pytest.mark.parametrize("args", [["cache", "clean"], ["--version"], ["help", "sync"]])
def test_plain_commands_run_whatever_the_key_holds(
    site: tuple[Path, dict[str, str], Path], args: list[str]
) -> None:
    wrapper, env, project = site
    seen = run_wrapper(wrapper, args, cwd=project, env={**env, "UVMOD_CACHE_KEY": "a b"})
    assert seen.returncode == 0 and seen.argv == args and seen.stderr == ""
    assert "UV_PROJECT_ENVIRONMENT" not in seen.env


def test_dry_run_refuses_what_the_call_refuses(site: tuple[Path, dict[str, str], Path]) -> None:
    wrapper, env, project = site
    with pytest.raises(dryrun.WrapperRefused, match="refusing to run uv"):
        dryrun.ask_wrapper(wrapper, project, {**env, "UVMOD_CACHE_KEY": "a b"})


def test_venv_path_is_the_wrappers_answer(
    site: tuple[Path, dict[str, str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """With the module loaded, `uvmod venv path` asks the wrapper: here the exported key is
    stale (an MPI module swapped without the hook), and the path is the environment of the
    loaded modules' key, which is what the wrapper uses."""
    wrapper, env, project = site
    loaded = {
        **env,
        "UVMOD_HOME": str(wrapper.parent.parent),
        "UVMOD_KEY_SOURCE": "load",
        "LOADEDMODULES": "openmpi/4.1.5:uv-hpc/1.0",
        "LMOD_FAMILY_MPI": "openmpi",
    }
    found = dryrun.project_environment(project, loaded, load_site_facts(loaded))
    assert found is not None and found.answered_by == "wrapper"
    assert found.key == "openmpi/4.1.5"
    os.environ.update(loaded)
    assert main(["venv", "path", str(project)]) == 0
    out = capsys.readouterr().out.strip()
    assert out == str(found.path)
    assert out == str(
        Path(env["UVMOD_VENV_DEPOT"]) / depot.env_name(project, "openmpi/4.1.5", node())
    )


def test_bin_uv_loses_only_comment_lines() -> None:
    """bin/uv carries its bodies' code without their comment lines: a here-document's lines are
    data and stay, and so do shellcheck's directives."""
    from uvmod.render.wrapper import without_comment_lines

    text = (
        "# a comment\n"
        "  # an indented one\n"
        "# shellcheck disable=SC2154 # kept\n"
        "x=1  # a trailing comment stays with its code\n"
        "cat <<'EOF'\n"
        "# data, not a comment\n"
        "EOF\n"
        "cat <<-_uvmod_EOF\n"
        "# more data\n"
        "_uvmod_EOF\n"
        "# gone again\n"
    )
    assert without_comment_lines(text) == (
        "# shellcheck disable=SC2154 # kept\n"
        "x=1  # a trailing comment stays with its code\n"
        "cat <<'EOF'\n"
        "# data, not a comment\n"
        "EOF\n"
        "cat <<-_uvmod_EOF\n"
        "# more data\n"
        "_uvmod_EOF\n"
    )
