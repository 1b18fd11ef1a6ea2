"""The Tcl escaper and the Tcl modulefile body, checked by real tclsh (no module tool needed)."""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import BuildPrefix
from tests.support import tools
from uvmod.render import MARKER
from uvmod.render.tcl import tcl_string, tcl_value

REPO = Path(__file__).resolve().parent.parent
BODY = REPO / "tcl" / "modulefile.tcl"


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", '"plain"'),
        ("", '""'),
        ("two words", '"two words"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("$HOME/x", '"\\$HOME/x"'),
        ("${HOME}", '"\\$\\{HOME\\}"'),
        ("[exec id]", '"\\[exec id\\]"'),
        ("a;b", '"a;b"'),
        ("back\\slash", '"back\\\\slash"'),
        ("{braced}", '"\\{braced\\}"'),
        ("# not a comment", '"# not a comment"'),
        ("é ü 中", '"é ü 中"'),
        ("line\nnext\ttab", '"line\\nnext\\ttab"'),
        ("bell\x07del\x7f", '"bell\\u0007del\\u007f"'),
        ("\x01" + "0", '"\\u00010"'),
    ],
)
def test_tcl_string_table(value: str, literal: str) -> None:
    assert tcl_string(value) == literal


def _tcl_values(literals: Sequence[str]) -> list[str]:
    """Evaluate each literal with real tclsh, twice: as a plain word and inside a braced proc
    body (where unescaped braces would be counted); return what Tcl made of them."""
    tclsh = tools.program("tclsh")
    lines = ["fconfigure stdout -encoding utf-8 -translation lf"]
    for n, literal in enumerate(literals):
        lines += [
            f"set v {literal}",
            f"proc p{n} {{}} {{ return {literal} }}",
            f'if {{$v ne [p{n}]}} {{ error "proc body changed value {n}" }}',
            "puts x[binary encode hex [encoding convertto utf-8 $v]]",
        ]
    script = "\n".join(lines) + "\n"
    result = subprocess.run(
        [tclsh, "-encoding", "utf-8", "/dev/stdin"],
        input=script.encode("utf-8"),
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return [bytes.fromhex(h[1:]).decode("utf-8") for h in result.stdout.decode().split()]


def test_tcl_string_round_trips_through_tclsh() -> None:
    values = [
        "a b",
        'q"uote',
        "$dollar ${brace}",
        "[bracket] ]",
        "semi;colon",
        "back\\slash\\",
        "{open",
        "close}",
        "é ü 中 🙂",
        "tab\tnew\nline",
    ]
    assert _tcl_values([tcl_string(v) for v in values]) == values


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",)), max_size=20), min_size=1))
def test_tcl_string_round_trips_any_text(values: list[str]) -> None:
    # NUL is carried by Tcl as \u0000; the config model rejects it anyway.
    assert _tcl_values([tcl_string(v) for v in values]) == values


def test_tcl_value_builds_nested_lists_and_dicts() -> None:
    value = {"a": ["x y", ["z"]], "b {": "$c"}
    literal = tcl_value(value)
    tclsh = tools.program("tclsh")
    script = (
        f"set d {literal}\n"
        'puts [dict get $d a]|[lindex [dict get $d a] 1 0]|[dict get $d "b \\{"]|[dict size $d]\n'
    )
    out = subprocess.run([tclsh], input=script, text=True, capture_output=True, check=True)
    assert out.stdout == "{x y} z|z|$c|2\n"


def test_static_body_is_complete_tcl() -> None:
    tclsh = tools.program("tclsh")
    script = "set f [open [lindex $argv 0]]; puts [info complete [read $f]]"
    out = subprocess.run(
        [tclsh, "/dev/stdin", str(BODY)], input=script, text=True, capture_output=True, check=True
    )
    assert out.stdout == "1\n"


def test_rendered_file_opens_with_the_cookie_and_the_marker(build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    text = (prefix / "modulefiles" / "uv-hpc" / "1.0").read_text("utf-8")
    # Environment Modules reads the first 8 bytes for the cookie (modulecmd.tcl, readFile).
    assert text.startswith("#%Module")
    assert MARKER in text[:512]
    assert (prefix / "modulefiles" / "uv-hpc" / "1.0.lua").is_file()


# Records the modulefile(5) calls: the body is checked here in plain tclsh, independently of a
# module tool (the real thing: tests/test_envmodules_*.py).
TCL_STUB = Path(__file__).parent / "support" / "tclstub.tcl"


def _run_body(
    modulefile: Path, mode: str, env: Mapping[str, str], tool_version: str = ""
) -> list[list[str]]:
    tclsh = tools.program("tclsh")
    result = subprocess.run(
        [tclsh, str(TCL_STUB), str(modulefile), mode, tool_version],
        env={"PATH": os.environ["PATH"], "LANG": "C.UTF-8", **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [line.split("\x1f") for line in result.stdout.splitlines()]


def test_body_sets_the_variables_in_description_order(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix = build_prefix()
    calls = _run_body(
        prefix / "modulefiles/uv-hpc/1.0",
        "load",
        {"HOME": "/home/u", "RSNT_ARCH": "avx2", "LOADEDMODULES": ""},
    )
    changes = [c for c in calls if c[0] in ("setenv", "prepend-path", "unsetenv")]
    assert changes == [
        ["setenv", "UVMOD_MACHINE", platform.machine()],
        ["setenv", "UV_CACHE_DIR", "/home/u/.cache/uv"],
        ["setenv", "UVMOD_VENV_DEPOT", "/home/u/.cache/uv-venvs"],
        ["setenv", "UVMOD_ARCH", "avx2"],
        ["setenv", "UVMOD_HOME", f"{prefix}/uv-hpc/1.0"],
        ["setenv", "UV_PYTHON_PREFERENCE", "system"],
        ["setenv", "UV_PYTHON_DOWNLOADS", "manual"],
        ["setenv", "UV_TOOL_DIR", "/home/u/.local/share/uv/tools"],
        ["setenv", "UV_TOOL_BIN_DIR", "/home/u/.local/bin"],
        ["prepend-path", "XDG_CONFIG_DIRS", f"{prefix}/uv-hpc/1.0/etc/avx2"],
        ["prepend-path", "PATH", "/home/u/.local/bin"],
        ["prepend-path", "PATH", f"{prefix}/uv-hpc/1.0/bin"],
        ["unsetenv", "UVMOD_CACHE_KEY"],
        ["setenv", "UVMOD_KEY_SOURCE", "load"],
    ]
    assert ["family", "uv"] in calls and ["conflict", "uv-hpc"] in calls


@pytest.mark.parametrize("version", ["5.2.0", "5.2", "5.4.2", "6.0.0-dev+12", "10.1"])
def test_body_key_matches_names_and_family_members(build_prefix: BuildPrefix, version: str) -> None:
    prefix = build_prefix()
    env = {
        "HOME": "/home/u",
        "LOADEDMODULES": "site-mpi/2.0:mpich-ext/1.0:cuda/12.2:gcc/12:cudnn/8.9",
        "MODULES_FAMILY_MPI": "site-mpi",
    }
    calls = _run_body(prefix / "modulefiles/uv-hpc/1.0", "load", env, version)
    assert ["setenv", "UVMOD_CACHE_KEY", "cuda/12.2,cudnn/8.9,site-mpi/2.0"] in calls
    prereqs = [c for c in calls if c[0] == "prereq"]
    assert prereqs == [
        ["prereq", "--optional", "cuda/12.2"],
        ["prereq", "--optional", "cudnn/8.9"],
        ["prereq", "--optional", "site-mpi/2.0"],
    ]


@pytest.mark.parametrize("version", ["", "5.1.4", "4.8.0", "5.1.99-dev", "not-a-version"])
def test_body_declares_no_prereq_before_modules_5_2(
    build_prefix: BuildPrefix, version: str
) -> None:
    # `prereq --optional` is new in 5.2; Lmod reading a Tcl file has no dependent reload.
    prefix = build_prefix()
    env = {"HOME": "/home/u", "LOADEDMODULES": "mpich/4.1.2"}
    calls = _run_body(prefix / "modulefiles/uv-hpc/1.0", "load", env, version)
    assert not [c for c in calls if c[0] == "prereq"]
    assert ["setenv", "UVMOD_CACHE_KEY", "mpich/4.1.2"] in calls


def test_body_on_unload_reuses_the_recorded_arch(build_prefix: BuildPrefix) -> None:
    prefix = build_prefix()
    env = {"HOME": "/home/u", "UVMOD_ARCH": "avx512", "RSNT_ARCH": "avx2", "LOADEDMODULES": ""}
    calls = _run_body(prefix / "modulefiles/uv-hpc/1.0", "unload", env)
    assert ["prepend-path", "XDG_CONFIG_DIRS", f"{prefix}/uv-hpc/1.0/etc/avx512"] in calls
    assert ["setenv", "UVMOD_CACHE_KEY", ""] in calls


def test_body_aborts_on_an_unset_variable_but_unloads(build_prefix: BuildPrefix) -> None:
    prefix = build_prefix('[paths]\nvenv_depot = "${PROJECT}/venvs"\n')
    modulefile = prefix / "modulefiles/uv-hpc/1.0"
    calls = _run_body(modulefile, "load", {"HOME": "/home/u"})
    assert calls[-1] == ["abort"]
    unload = _run_body(modulefile, "unload", {"HOME": "/home/u", "UVMOD_ARCH": "avx2"})
    assert ["setenv", "UVMOD_VENV_DEPOT", ""] in unload and ["abort"] not in unload


@pytest.mark.parametrize(
    ("loaded", "families", "key"),
    [
        ("", {}, None),
        ("gcc/12:python/3.11", {}, None),
        ("mpich/4.1.2", {}, "mpich/4.1.2"),
        ("mpich", {}, "mpich"),  # a module without version is its own full name
        ("mpich-ext/1.0:mpichx/2", {}, None),  # same prefix, other module
        ("cuda/12.2:mpich/4.1.2:cuda/11.8", {}, "cuda/11.8,cuda/12.2,mpich/4.1.2"),
        ("nccl/2:cudnn/8:cuda/12", {}, "cuda/12,cudnn/8,nccl/2"),  # sorted, not load order
        ("mpi/site/2.0:gcc/12", {"MODULES_FAMILY_MPI": "mpi/site"}, "mpi/site/2.0"),
        ("Zmpi/1:openmpi/5", {"MODULES_FAMILY_MPI": "Zmpi"}, "Zmpi/1,openmpi/5"),  # byte order
        ("::mpich/4.1.2:", {}, "mpich/4.1.2"),
    ],
)
def test_body_key_rules(
    build_prefix: BuildPrefix, loaded: str, families: dict[str, str], key: str | None
) -> None:
    # The key rule (docs/design.md#cache-key), as tcl/cache_key.tcl applies it in the body.
    prefix = build_prefix()
    env = {"HOME": "/home/u", "LOADEDMODULES": loaded, **families}
    calls = _run_body(prefix / "modulefiles/uv-hpc/1.0", "load", env, "5.2.0")
    if key is None:
        assert ["unsetenv", "UVMOD_CACHE_KEY"] in calls
        assert not [c for c in calls if c[:2] == ["setenv", "UVMOD_CACHE_KEY"]]
    else:
        assert ["setenv", "UVMOD_CACHE_KEY", key] in calls


TablePath = tuple[str | int, ...]


def _walk_table(
    value: object, path: TablePath = ()
) -> tuple[list[tuple[TablePath, str]], list[tuple[TablePath, int, bool]]]:
    """The strings of a table with the keys and list indexes that lead to each, and its lists
    and mappings with their sizes (True: a mapping)."""
    if isinstance(value, str):
        return [(path, value)], []
    if isinstance(value, dict):
        items: list[tuple[str | int, object]] = list(value.items())
    else:
        assert isinstance(value, list)
        items = list(enumerate(value))
    leaves: list[tuple[TablePath, str]] = []
    containers = [(path, len(items), isinstance(value, dict))]
    for key, item in items:
        more_leaves, more_containers = _walk_table(item, (*path, key))
        leaves += more_leaves
        containers += more_containers
    return leaves, containers


def test_lua_and_tcl_spell_the_one_table(tmp_path: Path) -> None:
    """Both modulefiles hold render/table.py's table and nothing else: every string of it, read
    back by the real lua5.3 and tclsh from the rendered data at the same place, and as many
    entries in every list and mapping. A hostile config makes the escapers work for it."""
    from pathlib import PurePosixPath

    from uvmod.config import load_config
    from uvmod.layout import Layout
    from uvmod.moduledesc import describe
    from uvmod.render import lua, packaged_text, tcl
    from uvmod.render.table import module_table

    config = tmp_path / "site.toml"
    config.write_text(
        '[module]\ndescription = "uv \\"quoted\\" $HOME [x] {y} \\\\ é ]]"\n'
        '[paths]\nvenv_depot = "${SCRATCH:-${HOME}/a b}/[x]{y}\\\\"\n'
    )
    layout = Layout(PurePosixPath("/opt/uv mod"), "uv-hpc", "1.0")
    desc = describe(load_config(config), layout, real_uv="uv")
    leaves, containers = _walk_table(module_table(desc))
    want = [value for _, value in leaves] + [str(size) for _, size, _ in containers]

    def lua_ref(path: TablePath) -> str:
        return "site" + "".join(f"[{k + 1}]" if isinstance(k, int) else f'["{k}"]' for k in path)

    lua_file = lua.render_modulefile(desc)
    program = (
        lua_file[: lua_file.index(packaged_text("lua", "cache_key.lua"))]
        + "\nlocal function count(t) local n = 0 for _ in pairs(t) do n = n + 1 end return n end\n"
        + "".join(f"io.write({lua_ref(path)}, '\\0')\n" for path, _ in leaves)
        + "".join(f"io.write(count({lua_ref(path)}), '\\0')\n" for path, _, _ in containers)
    )
    got_lua = subprocess.run(
        [tools.program("lua5.3"), "-"], input=program.encode(), capture_output=True, check=True
    ).stdout.decode()
    assert got_lua.split("\0")[:-1] == want

    def tcl_ref(path: TablePath) -> str:
        ref = "$::uvmod_site"
        for key in path:
            ref = f"[lindex {ref} {key}]" if isinstance(key, int) else f"[dict get {ref} {key}]"
        return ref

    tcl_file = tcl.render_modulefile(desc)
    script = tmp_path / "read.tcl"
    script.write_text(
        tcl_file[: tcl_file.index(packaged_text("tcl", "cache_key.tcl"))]
        + "\nfconfigure stdout -encoding utf-8 -translation lf\n"
        + "".join(f'puts -nonewline "{tcl_ref(path)}\\0"\n' for path, _ in leaves)
        + "".join(
            f'puts -nonewline "[{"dict size" if mapping else "llength"} {tcl_ref(path)}]\\0"\n'
            for path, _, mapping in containers
        ),
        encoding="utf-8",
    )
    got_tcl = subprocess.run(
        [tools.program("tclsh"), "-encoding", "utf-8", str(script)],
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert got_tcl.split("\0")[:-1] == want


def test_a_hand_written_tcl_modulefile_is_never_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A site moving from a hand-written Environment Modules uv-hpc/1.0 to uvmod: the build
    # must refuse rather than clobber it, and write nothing else either.
    from uvmod.cli import main

    prefix = tmp_path / "prefix"
    existing = prefix / "modulefiles" / "uv-hpc" / "1.0"
    existing.parent.mkdir(parents=True)
    existing.write_text("#%Module1.0\nsetenv UV_CACHE_DIR /scratch/uv\n")
    argv = ["build-modulefiles", "--prefix", str(prefix), "--uv", "/usr/bin/true"]
    assert main(argv) == 1
    assert "not written by uvmod" in capsys.readouterr().err
    assert existing.read_text() == "#%Module1.0\nsetenv UV_CACHE_DIR /scratch/uv\n"
    assert not (prefix / "modulefiles" / "uv-hpc" / "1.0.lua").exists()
