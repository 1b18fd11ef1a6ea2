"""One table of hostile values, every place a value enters a site.

For each value and each place it can take in a site config, the value either round-trips exactly
(through each Lmod and Environment Modules of the matrix into the environment and `module whatis`,
into the per-arch uv.toml read back with tomllib) or `build-modulefiles` rejects it with exit 2 and
a line naming the key. The same values arrive at load time (an arch override variable) and at the
wrapper (the cache-key variable). Values that would run a command in sh, Lua or Tcl if pasted
unquoted touch a canary file: it must not exist after build, load, whatis, a wrapper call and
unload.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.support import tools
from tests.support.modules import MODULE_TOOLS, ShellResult, base_env
from tests.support.wheels import tiny_wheel
from uvmod.cli import main
from uvmod.config import parse_config
from uvmod.depot import KEY_CHARS
from uvmod.errors import ConfigError

CANARY = "@CANARY@"
VALUES = {
    "dquote": 'say "hi"',
    "squote": "it's",
    "lua-close": "a]]b",
    "lua-close-level": "a]==]b]=]",
    "lua-break-out": '" .. os.execute("touch @CANARY@") .. "',
    "lua-long-break-out": ']] os.execute("touch @CANARY@") --[[',
    "sh-subst": "$(touch @CANARY@)",
    "sh-backtick": "`touch @CANARY@`",
    "sh-semicolon": "x; touch @CANARY@; y",
    "tcl-bracket": "[exec touch @CANARY@]",
    "tcl-braces": "{x} {y",
    "backslash": "back\\slash\\",
    "dollar-home": "$HOME and ${HOME}",
    "unicode": "éü 雪 😀",
    "space-comma-colon": "two words, a:b",
    "url-chars": "a#b?c%41d",
    "url-chars-no-hash": "a?c%41d&e=f",
    "newline": "a\nb",
    "tab": "a\tb",
    "escape": "red\x1b[31m",
    "nul": "a\x00b",
    "del": "a\x7fb",
}

# Where a value enters the site config: key path as `build-modulefiles` names it in an error,
# and how the value is placed there (`base` is a directory of the test).
Place = Callable[[str, str], dict[str, Any]]
PLACES: dict[str, Place] = {
    "module.description": lambda v, base: {"module": {"description": v}},
    "paths.cache": lambda v, base: {"paths": {"cache": f"{base}/c{v}/uv"}},
    "wheelhouse.root": lambda v, base: {
        "wheelhouse": {"root": f"{base}/w{v}", "arch": {"generic": ["generic"]}}
    },
    "wheelhouse.arch.generic[0]": lambda v, base: {
        "wheelhouse": {"root": f"{base}/wh", "arch": {"generic": [f"g{v}"]}}
    },
    "wheelhouse.constraints[0]": lambda v, base: {
        "wheelhouse": {"constraints": [f"{base}/k{v}.txt"]}
    },
    "cache_key.modules[0]": lambda v, base: {"cache_key": {"modules": [f"m{v}"]}},
}
ARCHS = {"arch": {"flags": {"avx2": ["avx2"], "generic": []}}}


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value
    return into


def _accepted(data: dict[str, Any]) -> bool:
    try:
        parse_config(tomli_w.dumps(data), "site.toml")
    except ConfigError:
        return False
    return True


def _check(result: ShellResult, canary: Path) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    assert not canary.exists(), "a value was executed"
    return result.environ


@pytest.mark.parametrize("value", list(VALUES.values()), ids=list(VALUES))
def test_value_round_trips_or_is_rejected_by_key(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    canary = tmp_path / "pwned"
    value = value.replace(CANARY, str(canary))
    base = str(tmp_path / "site")
    accepted: dict[str, Any] = dict(ARCHS)
    taken: list[str] = []
    for key, place in PLACES.items():
        data = _merge(dict(ARCHS), place(value, base))
        if _accepted(data):
            taken.append(key)
            _merge(accepted, place(value, base))
            continue
        config = tmp_path / f"{key}.toml"
        config.write_text(tomli_w.dumps(data), "utf-8")
        rc = main(["build-modulefiles", "--config", str(config), "--prefix", str(tmp_path / "x")])
        err = capsys.readouterr().err
        assert rc == 2, (key, err)
        assert f"{config}: {key}: " in err, err
        assert "Traceback" not in err
        assert not (tmp_path / "x").exists()
    # Control characters are refused everywhere; printable values only where the key's grammar
    # (module names, wheelhouse directory names, no `$` outside [paths]) allows them.
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        assert taken == []
    else:
        assert "module.description" in taken

    # The accepted places, all at once, through every module tool of the matrix.
    wheels = None
    if "wheelhouse.root" in taken or "wheelhouse.arch.generic[0]" in taken:
        wheelhouse = accepted["wheelhouse"]
        wheels = f"{wheelhouse['root']}/{wheelhouse['arch']['generic'][0]}"
        tiny_wheel(Path(wheels), "tinyone", "1.0")
    if "wheelhouse.constraints[0]" in taken:
        constraints = Path(accepted["wheelhouse"]["constraints"][0])
        constraints.parent.mkdir(parents=True, exist_ok=True)
        constraints.write_text("tinyone==1.0\n")  # read by `uv pip compile` below
    config = tmp_path / "site.toml"
    config.write_text(tomli_w.dumps(accepted), "utf-8")
    prefix = tmp_path / "prefix"
    argv = ["build-modulefiles", "--config", str(config), "--prefix", str(prefix)]
    assert main([*argv, "--uv", tools.real_uv()]) == 0, capsys.readouterr().err
    assert not canary.exists()

    policy = tomllib.loads((prefix / "uv-hpc/1.0/etc/generic/uv/uv.toml").read_text("utf-8"))
    if wheels:
        assert [index["url"] for index in policy["index"]] == [wheels]

    at_load = value.replace("\x00", "")  # an environment value cannot hold NUL
    env = base_env(
        tmp_path,
        {
            "RSNT_ARCH": at_load,
            "HOSTILE": at_load,
            "SCRATCH": base,
            "UV_OFFLINE": "1",
            "UV_PYTHON": sys.executable,
        },
    )
    wrapper_err = tmp_path / "wrapper-err"
    key_ok = KEY_CHARS.fullmatch(at_load) is not None
    wrapper = [
        f"UVMOD_CACHE_KEY=$HOSTILE UVMOD_KEY_SOURCE=hook uv pip --help >/dev/null 2>{wrapper_err}",
        'echo "wrapper-rc=$?"',
    ]
    if wheels:  # the real uv finds the wheelhouse under that name (offline: no other tinyone)
        wrapper.append(f"cd {tmp_path} && echo tinyone >req.in && uv pip compile -q req.in")
    modulepath = [prefix / "modulefiles"]
    for tool in MODULE_TOOLS:
        tool.require()
        # The wrapper and the real uv behave alike whatever tool loaded the module (the
        # environments are the same: tests/test_modulefile_load.py), so they run under the first.
        first = tool == MODULE_TOOLS[0]
        script = [
            "module load uv-hpc",
            "module whatis uv-hpc 2>&1",
            *(wrapper if first else []),
            "module unload uv-hpc",
            'echo "after-unload=${UV_CACHE_DIR-unset}"',
            "module load uv-hpc",
        ]
        result = tool.run(script, env, modulepath=modulepath, check=False)
        environ = _check(result, canary)
        # RSNT_ARCH is no known architecture: the fallback, whatever it holds.
        assert environ["UVMOD_ARCH"] == "generic", tool.id
        if "module.description" in taken:
            assert f"Description: {value}" in result.stdout, result.stdout
        if "paths.cache" in taken:
            assert environ["UV_CACHE_DIR"] == f"{base}/c{value}/uv"
        if "wheelhouse.constraints[0]" in taken:
            assert environ["UV_CONSTRAINT"] == f"{base}/k{value}.txt"
        assert "after-unload=unset" in result.stdout
        if not first:
            continue
        # The wrapper refuses a key outside [A-Za-z0-9._+,/-] before running anything.
        assert f"wrapper-rc={0 if key_ok else 2}" in result.stdout, result.stdout
        if not key_ok:
            assert "$UVMOD_CACHE_KEY=" in wrapper_err.read_text("utf-8", "replace")
        if wheels:
            assert "tinyone==1.0" in result.stdout.splitlines(), result.stderr
    assert not canary.exists()
