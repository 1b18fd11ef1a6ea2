"""Lua quoting: an escaper table, `luac -p` on the output, and values round-tripped by real Lmod."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support import tools
from tests.support.modules import ModuleTool, base_env
from uvmod.render.lua import lua_long_string, lua_string

HOSTILE = "a \"quoted\" 'single' ]] ]==] \\ back; {brace} [bracket] `id` éü 雪"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", '"plain"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("tab\there", '"tab\\009here"'),
        ("cr\rlf\n", '"cr\\013lf\\010"'),
        ("bell\a1", '"bell\\0071"'),  # three digits: the following '1' is not absorbed
        ("del\x7f", '"del\\127"'),
        ("]]", '"]]"'),
        ("$(id) `id`", '"$(id) `id`"'),
        ("雪", '"雪"'),
    ],
)
def test_lua_string_table(value: str, expected: str) -> None:
    assert lua_string(value) == expected


@pytest.mark.parametrize("text", ["plain", "a]]b", "a]=]b]]", "ends with ]", "]==]]=]]]"])
def test_long_string_closer_never_occurs_inside(text: str, tmp_path: Path) -> None:
    literal = lua_long_string(text)
    chunk = tmp_path / "chunk.lua"
    chunk.write_text(f"local s = {literal}\nio.write(s)\n")
    out = subprocess.run(["lua", str(chunk)], capture_output=True, text=True, check=True).stdout
    assert out == text


@pytest.mark.parametrize("value", ["plain", HOSTILE, "\x01\x02\x1f", "a\\\nb"])
def test_lua_string_round_trips_through_the_interpreter(value: str, tmp_path: Path) -> None:
    chunk = tmp_path / "chunk.lua"
    chunk.write_bytes(f"io.write({lua_string(value)})\n".encode())
    out = subprocess.run(["lua", str(chunk)], capture_output=True, check=True).stdout
    assert out == value.encode()


def test_generated_modulefile_passes_luac(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    luac = tools.program("luac")
    prefix = build_prefix(f"[module]\ndescription = '''{HOSTILE}'''\n")
    for lua_file in prefix.rglob("*.lua"):
        subprocess.run([luac, "-p", str(lua_file)], check=True)


def test_hostile_values_reach_the_environment_exactly(
    tmp_path: Path, build_prefix: BuildPrefix, lmod_tool: ModuleTool
) -> None:
    literal = "/scratch/" + HOSTILE.replace("\\", "\\\\").replace('"', '\\"')
    # Inside ${X:-...} the first '}' closes the default, as in sh, so no braces there.
    no_braces = literal.replace("{brace}", "brace")
    description = HOSTILE.replace("\\", "\\\\").replace('"', '\\"')
    prefix = build_prefix(
        f'[module]\ndescription = "{description}"\n'
        f'[paths]\ncache = "{literal}/uv"\nvenv_depot = "${{HOME}}/d ${{X:-{no_braces}}}"\n'
    )
    env = base_env(tmp_path)
    result = lmod_tool.run(
        ["module load uv-hpc", "module whatis uv-hpc 2>&1"],
        env,
        modulepath=[prefix / "modulefiles"],
    )
    assert result.environ["UV_CACHE_DIR"] == f"/scratch/{HOSTILE}/uv"
    expected_depot = f"{env['HOME']}/d /scratch/{HOSTILE.replace('{brace}', 'brace')}"
    assert result.environ["UVMOD_VENV_DEPOT"] == expected_depot
    assert f"Description: {HOSTILE}" in result.stdout
    assert "uid=" not in result.stdout + result.stderr  # nothing was executed
