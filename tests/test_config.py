"""Site configuration: validation, located messages, exit 2, nothing touched on error."""

from __future__ import annotations

from pathlib import Path

import pytest

from uvmod.cli import main
from uvmod.config import load_config, parse_config
from uvmod.errors import ConfigError


def _errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "site.toml")
    return list(info.value.messages)


def test_embedded_default_is_valid_and_portable() -> None:
    config = load_config(None)
    assert config.module.name == "uv-hpc"
    assert config.paths.cache == "${SCRATCH:-${HOME}/.cache}/uv"
    assert config.paths.venv_depot == "${SCRATCH:-${HOME}/.cache}/uv-venvs"
    assert config.wheelhouse.root is None and config.wheelhouse.pypi
    assert config.archs[-1] == "generic"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[wheelhouse]\nroot = "/w"\n[wheelhouse.arch]\navx2 = ["ok", "../up"]\n',
            "site.toml: wheelhouse.arch.avx2[1]: '../up' is not a directory name relative to "
            "wheelhouse.root",
        ),
        ("[modul]\nname = 'x'\n", "site.toml: modul: unknown key"),
        ("[module]\nnmae = 'x'\n", "site.toml: module.nmae: unknown key"),
        ("[module]\nname = 'uv hpc'\n", "site.toml: module.name: 'uv hpc' is not a module name"),
        (
            "[module]\nversion = '1.0+cc'\n",
            "site.toml: module.version: '1.0+cc' is not a module name both",
        ),
        ("[module]\nuv = 'bin/uv'\n", "site.toml: module.uv: 'bin/uv' is not an absolute path"),
        (
            "[wheelhouse]\npypi = 'yes'\n",
            "site.toml: wheelhouse.pypi: Input should be a valid boolean",
        ),
        (
            "[wheelhouse]\nindex_strategy = 'best'\n",
            "site.toml: wheelhouse.index_strategy: Input should be 'first-index'",
        ),
        ("[paths]\ncache = '$HOME/uv'\n", "site.toml: paths.cache: '$' at position 0"),
        ("[paths]\ncache = '${SCRATCH/uv'\n", "site.toml: paths.cache: '${SCRATCH' is not closed"),
        (
            "[paths]\ncache = 'relative/uv'\n",
            "site.toml: paths.cache: 'relative/uv' must be an absolute",
        ),
        (
            '[module]\ndescription = "two\\nlines"\n',
            "site.toml: module.description: contains the control character '\\n'",
        ),
        (
            '[paths]\ncache = "/scratch/\\u0007/uv"\n',
            "site.toml: paths.cache: contains the control character '\\x07'",
        ),
        (
            "[cache_key]\nvariable = 'UV-KEY'\n",
            "site.toml: cache_key.variable: 'UV-KEY' is not an env",
        ),
        ("[arch.flags]\n", "site.toml: arch.flags: at least one architecture"),
        (
            "[wheelhouse.arch]\navx2 = ['x']\n",
            "site.toml: wheelhouse.root: required when [wheelhouse.arch] is set",
        ),
        (
            "[wheelhouse]\nroot = '/w'\n[wheelhouse.arch]\nknl = ['x']\n",
            "site.toml: wheelhouse.arch.knl: 'knl' is not an architecture of [arch.flags]",
        ),
        (
            "[wheelhouse]\nroot = '/w'\npypi = false\n[wheelhouse.arch]\navx2 = ['x']\n",
            "site.toml: wheelhouse.arch.avx512: pypi = false needs wheelhouse directories",
        ),
        ("[module\nname = 1\n", "site.toml: not valid TOML: "),
    ],
)
def test_each_problem_is_one_located_line(text: str, expected: str) -> None:
    errors = _errors(text)
    assert any(line.startswith(expected) for line in errors), errors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # uv.toml spells keys with '-': the admin who copies one gets the site.toml spelling.
        (
            "[wheelhouse]\nonly-binary = ['numpy']\n",
            "site.toml: wheelhouse.only-binary: unknown key; did you mean `only_binary`? "
            "(uv.toml spells keys with '-', site.toml with '_')",
        ),
        (
            "[wheelhouse]\nindex-strategy = 'unsafe-best-match'\n",
            "site.toml: wheelhouse.index-strategy: unknown key; did you mean `index_strategy`? "
            "(uv.toml spells keys with '-', site.toml with '_')",
        ),
        ("[modul]\nname = 'x'\n", "site.toml: modul: unknown key; did you mean `module`?"),
        ("[module]\nnmae = 'x'\n", "site.toml: module.nmae: unknown key; did you mean `name`?"),
        (
            "[cache_key]\nfamily = []\n",
            "site.toml: cache_key.family: unknown key; did you mean `families`?",
        ),
        ("[wheelhouse]\nflavour = 1\n", "site.toml: wheelhouse.flavour: unknown key"),
        # Type errors quote the value that was given.
        (
            "[wheelhouse]\npypi = 'yes'\n",
            "site.toml: wheelhouse.pypi: Input should be a valid boolean, got 'yes'",
        ),
        (
            "[wheelhouse]\nonly_binary = 'numpy'\n",
            "site.toml: wheelhouse.only_binary: Input should be a valid list, got 'numpy'",
        ),
        (
            "[wheelhouse]\nindex_strategy = 'best'\n",
            "site.toml: wheelhouse.index_strategy: Input should be 'first-index', "
            "'unsafe-first-match' or 'unsafe-best-match', got 'best'",
        ),
        (
            "[cache_key]\nmodules = ['mpich', 4]\n",
            "site.toml: cache_key.modules[1]: Input should be a valid string, got 4",
        ),
        (
            "[paths]\npurge_days = true\n",
            "site.toml: paths.purge_days: Input should be a valid integer, got true",
        ),
        ("module = 'uv-hpc'\n", "site.toml: module: should be a table ([module]), got 'uv-hpc'"),
    ],
)
def test_errors_suggest_the_key_and_quote_the_value(text: str, expected: str) -> None:
    assert _errors(text) == [expected]


def test_all_problems_are_reported_at_once() -> None:
    errors = _errors("[module]\nname = 'a b'\nversion = ''\n[paths]\ncache = 'x'\n")
    assert [e.split(":")[1].strip() for e in errors] == [
        "module.name",
        "module.version",
        "paths.cache",
    ]


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (
            b'[wheelhouse]\nroot = "/w"\n[wheelhouse.arch]\navx2 = ["gentoo2020/avx2", "/abs"]\n',
            [],
            "{bad}: wheelhouse.arch.avx2[1]: '/abs' is not a directory name",
        ),
        (b"[module\nname = 'x'\n", [], "{bad}: not valid TOML"),
        (b"\xff[module]\n", [], "{bad}: not UTF-8 text"),
        (b"[paths]\ncache = 'relative'\n[arch.flags]\n", [], "{bad}: paths.cache: "),
        # Valid config, bad --uv: refused after parsing, still before any write.
        (b'[paths]\ncache = "/other/uv"\n', ["--uv", "bin/uv"], "--uv: 'bin/uv' is not an"),
    ],
)
def test_bad_config_exits_2_and_leaves_the_tree_untouched(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    extra: list[str],
    message: str,
) -> None:
    prefix = tmp_path / "prefix"
    assert main(["build-modulefiles", "--prefix", str(prefix), "--uv", "/usr/bin/true"]) == 0
    # Byte and mtime of every entry; a directory's mtime would move if an entry were added.
    before = {p: (p.read_bytes() if p.is_file() else b"") for p in prefix.rglob("*")}
    stamps = {p: p.stat().st_mtime_ns for p in [prefix, *before]}
    bad = tmp_path / "site.toml"
    bad.write_bytes(content)
    capsys.readouterr()
    code = main(["build-modulefiles", "--config", str(bad), "--prefix", str(prefix), *extra])
    err = capsys.readouterr().err
    assert code == 2
    assert f"uvmod: error: {message.format(bad=bad)}" in err
    assert "Traceback" not in err
    after = {p: (p.read_bytes() if p.is_file() else b"") for p in prefix.rglob("*")}
    assert after == before
    assert {p: p.stat().st_mtime_ns for p in [prefix, *after]} == stamps


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[module\n", "not valid TOML"),
        (b"\xff\xfe[module]\n", "not UTF-8 text"),
    ],
)
def test_unreadable_config_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    bad = tmp_path / "site.toml"
    bad.write_bytes(content)
    assert main(["build-modulefiles", "--config", str(bad), "--prefix", str(tmp_path / "p")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_missing_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["build-modulefiles", "--config", str(tmp_path / "nope.toml"), "--prefix", "p"])
    assert code == 2
    assert "nope.toml: cannot read: No such file or directory" in capsys.readouterr().err


def test_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build-modulefiles"]) == 2
    assert "--prefix" in capsys.readouterr().err
