"""Names that become variables or file names, and the tree's prefix: what sh, Lua, Tcl and the
filesystem can carry is accepted, anything else is a located error with exit 2 and nothing
written; an accepted hostile prefix loads in every module tool of the matrix."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from tests.support import tools
from tests.support.modules import MODULE_TOOLS, base_env
from tests.test_injection import VALUES
from uvmod.cachekey import family_variables
from uvmod.cli import main
from uvmod.config import PREFIX_FORBIDDEN, CacheKeySection, check_prefix
from uvmod.errors import ConfigError

LONG = "m" * 300


def _tree(prefix: Path) -> dict[Path, tuple[bytes, int]]:
    return {
        p: (p.read_bytes() if p.is_file() else b"", p.lstat().st_mtime_ns)
        for p in [prefix, *prefix.rglob("*")]
    }


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[cache_key]\nfamilies = ["mpi.x"]\n',
            "cache_key.families[0]: 'mpi.x' is not a family name sh and Lua can carry",
        ),
        (
            '[cache_key]\nfamilies = ["mpi", "gpu+cuda"]\n',
            "cache_key.families[1]: 'gpu+cuda' is not a family name sh and Lua can carry",
        ),
        ('[cache_key]\nfamilies = ["a-b"]\n', "cache_key.families[0]: 'a-b' is not a family"),
        ('[cache_key]\nvariable = "IFS"\n', "cache_key.variable: 'IFS' is a variable the shell"),
        ('[cache_key]\nvariable = "UV_CACHE_DIR"\n', "cache_key.variable: 'UV_CACHE_DIR' is"),
        (f'[module]\nname = "{LONG}"\n', "module.name: 'mmmmmmmmmmmmmmmmmmmm'... is 300 char"),
        (f'[module]\nversion = "{LONG}"\n', "module.version: 'mmmmmmmmmmmmmmmmmmmm'... is 300"),
        (f'[cache_key]\nmodules = ["{LONG}"]\n', "cache_key.modules[0]: 'mmmmmmmmmmmmmmmmm"),
        (f"[arch.flags]\n{LONG} = []\n", f"arch.flags.{LONG}.[key]: 'mmmmmmmmmmmmmmmmmmmm'..."),
        (
            f'[wheelhouse]\nroot = "/w"\n[wheelhouse.arch]\ngeneric = ["a/{LONG}"]\n',
            "wheelhouse.arch.generic[0]: 'mmmmmmmmmmmmmmmmmmmm'... is 300 characters long",
        ),
    ],
)
def test_names_beyond_what_sh_lua_or_the_filesystem_carry_are_located_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, message: str
) -> None:
    prefix = tmp_path / "prefix"
    assert main(["build-modulefiles", "--prefix", str(prefix), "--uv", "/usr/bin/true"]) == 0
    before = _tree(prefix)
    config = tmp_path / "site.toml"
    config.write_text(toml)
    capsys.readouterr()
    argv = ["build-modulefiles", "--config", str(config), "--prefix", str(prefix)]
    assert main([*argv, "--uv", "/usr/bin/true"]) == 2
    err = capsys.readouterr().err
    assert f"uvmod: error: {config}: {message}" in err, err
    assert "Traceback" not in err
    assert _tree(prefix) == before


def test_every_accepted_family_names_variables_sh_can_read(rng: random.Random) -> None:
    """Random names from the characters users try; whatever the model accepts must give
    variable names that sh reads with ${NAME-} (no "Bad substitution", no other variable)."""
    alphabet = "abcXYZ019_.+-/:@ é"
    accepted = []
    for _ in range(300):
        name = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
        try:
            CacheKeySection(families=[name])
        except ValueError:
            continue
        accepted.append(name)
    assert accepted, "no generated name was accepted: the test would check nothing"
    variables = [v for name in accepted for v in family_variables(name)]
    script = "".join(f'eval "x=\\${{{v}-}}" && [ "$x" = "v-{v}" ] || exit 1\n' for v in variables)
    env = {v: f"v-{v}" for v in variables} | {"PATH": "/usr/bin:/bin"}
    proc = subprocess.run([tools.program("sh"), "-c", script], env=env, capture_output=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("character", [*sorted(PREFIX_FORBIDDEN), "\n", "\t", "\x7f"])
def test_a_prefix_no_module_tool_can_load_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], character: str
) -> None:
    prefix = tmp_path / f"tree{character}x"
    assert main(["build-modulefiles", "--prefix", str(prefix), "--uv", "/usr/bin/true"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("uvmod: error: --prefix: "), err
    assert not prefix.exists() and "Traceback" not in err


def test_prefix_lengths_are_located_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for prefix, message in (
        (tmp_path / ("n" * 300), "has a component longer than 255 bytes"),
        (tmp_path.joinpath(*["d" * 250] * 17), "is too long: the tree's file"),
    ):
        assert main(["build-modulefiles", "--prefix", str(prefix), "--uv", "/usr/bin/true"]) == 2
        err = capsys.readouterr().err
        assert "uvmod: error: --prefix: " in err and message in err, err
        assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ConfigError, match="is not an absolute path"):
        check_prefix("relative/x")


def test_a_hostile_prefix_that_is_accepted_loads_in_every_module_tool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hostile values of tests/test_injection.py with the refused characters taken out, in
    one prefix: quotes, `;`, backticks, Lua long-bracket closers, '#', spaces, non-ASCII."""
    canary = tmp_path / "pwned"
    kept = [
        "".join(c for c in value.replace("@CANARY@", str(canary)) if c not in PREFIX_FORBIDDEN)
        for value in VALUES.values()
        if value.isprintable()
    ]
    prefix = Path(f"{tmp_path}/t {' '.join(kept)}")
    check_prefix(str(prefix))
    argv = ["build-modulefiles", "--prefix", str(prefix), "--uv", tools.real_uv()]
    assert main(argv) == 0, capsys.readouterr().err
    env = base_env(tmp_path, {"SCRATCH": str(tmp_path / "scratch"), "UV_OFFLINE": "1"})
    script = [
        "module load uv-hpc",
        "uv --version",
        'echo "wrapper=$(command -v uv)"',
        "module unload uv-hpc",
        'echo "after-unload=${UV_CACHE_DIR-unset}"',
    ]
    for tool in MODULE_TOOLS:
        tool.require()
        result = tool.run(script, env, modulepath=[prefix / "modulefiles"], check=False)
        assert result.returncode == 0, (tool.id, result.stderr)
        assert result.stdout.startswith("uv 0."), (tool.id, result.stdout)
        assert f"wrapper={prefix}/uv-hpc/1.0/bin/uv" in result.stdout, (tool.id, result.stdout)
        assert "after-unload=unset" in result.stdout
    assert not canary.exists()
