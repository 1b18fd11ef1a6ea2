"""Environment Modules' own behaviour with the generated Tcl modulefile, and Tcl's quoting
(what all tools share, and where they differ in one test, is in tests/test_modulefile_load.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support.modules import ModuleTool, base_env

# Characters that mean something to Tcl, to the shell that evals modulecmd's output, or to
# neither: each must arrive in the environment exactly as written.
AWKWARD = "we ird \"q\" 's' [b] {c} ;x& \\back é中"
# The prefix itself is a modulepath: Environment Modules (5.2 and 5.5) finds nothing in a
# modulepath with `[`, `{`, `}` or `\` (its directory scan treats them as glob patterns), so those
# stay out of it (docs/admin-guide.md).
AWKWARD_PREFIX = "we ird \"q\" 's' ;x& é中"


@pytest.mark.parametrize("lang", ["C.UTF-8", "C"])
def test_awkward_paths_arrive_exactly(
    tmp_path: Path, build_prefix: BuildPrefix, em_tool: ModuleTool, lang: str
) -> None:
    # Under LANG=C Tcl reads and writes bytes as Latin-1: UTF-8 passes through unchanged.
    prefix = tmp_path / AWKWARD_PREFIX / "prefix"
    cache = f"/data/{AWKWARD}/${{SCRATCH:-/fallback [x];}}/uv"
    toml_cache = cache.replace("\\", "\\\\").replace('"', '\\"')
    build_prefix(f'[paths]\ncache = "{toml_cache}"\n', prefix=prefix)
    scratch = "/s/$HOME `id` $(id) ; \"q\" 's' [exec id] {b} \\ é"
    env = base_env(tmp_path, {"SCRATCH": scratch, "LANG": lang})
    result = em_tool.run(["module load uv-hpc"], env, modulepath=[prefix / "modulefiles"])
    out = result.environ
    assert out["UV_CACHE_DIR"] == f"/data/{AWKWARD}/{scratch}/uv"
    assert out["UVMOD_HOME"] == f"{prefix}/uv-hpc/1.0"
    assert out["PATH"].split(":")[0] == f"{prefix}/uv-hpc/1.0/bin"
    without = em_tool.run(
        ["module load uv-hpc"],
        base_env(tmp_path, {"LANG": lang}),
        modulepath=[prefix / "modulefiles"],
    ).environ
    assert without["UV_CACHE_DIR"] == f"/data/{AWKWARD}//fallback [x];/uv"


@pytest.mark.parametrize("lang", ["C.UTF-8", "C"])
def test_awkward_description_in_whatis_and_help(
    tmp_path: Path, build_prefix: BuildPrefix, em_tool: ModuleTool, lang: str
) -> None:
    description = 'uv "for" $HOME [exec id] {x} ; \\n é中'
    toml = description.replace("\\", "\\\\").replace('"', '\\"')
    prefix = build_prefix(f'[module]\ndescription = "{toml}"\n')
    env = base_env(tmp_path, {"LANG": lang})
    result = em_tool.run(
        ["module whatis uv-hpc", "module help uv-hpc"], env, modulepath=[prefix / "modulefiles"]
    )
    assert f"Description: {description}\n" in result.stderr
    assert f"{description}.\n" in result.stderr
