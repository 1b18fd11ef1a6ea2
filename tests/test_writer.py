"""build-modulefiles output: deterministic, atomic, --check, and never clobbers foreign files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from uvmod.cli import main

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_ARGS = [
    "--prefix",
    "/opt/uvmod",
    "--uv",
    "/opt/uv/0.13.8/bin/uv",
    "--uvmod",
    "/opt/uvmod/bin/uvmod",
]


def _build(prefix: Path, *extra: str) -> int:
    return main(["build-modulefiles", "--prefix", str(prefix), "--uv", "/usr/bin/true", *extra])


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_input_gives_byte_identical_output(tmp_path: Path) -> None:
    assert _build(tmp_path / "p") == 0
    first = _snapshot(tmp_path / "p")
    assert _build(tmp_path / "p") == 0
    assert _snapshot(tmp_path / "p") == first
    assert "modulefiles/uv-hpc/1.0.lua" in first
    assert "uv-hpc/1.0/bin/uv" in first
    assert os.access(tmp_path / "p/uv-hpc/1.0/bin/uv", os.X_OK)


def test_check_reports_differences_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = tmp_path / "p"
    assert _build(prefix, "--check") == 1
    assert not prefix.exists()
    assert "missing:" in capsys.readouterr().out
    assert _build(prefix) == 0
    assert _build(prefix, "--check") == 0
    modulefile = prefix / "modulefiles/uv-hpc/1.0.lua"
    modulefile.write_text(modulefile.read_text() + "-- edited by hand\n")
    capsys.readouterr()
    assert _build(prefix, "--check") == 1
    assert f"differs: {modulefile}" in capsys.readouterr().out
    assert modulefile.read_text().endswith("-- edited by hand\n")


def _stamps(root: Path) -> dict[Path, tuple[bytes, int]]:
    """Content and mtime of every entry (a directory's mtime moves when an entry is added)."""
    return {
        p: (b"" if p.is_dir() else p.read_bytes(), p.lstat().st_mtime_ns) for p in root.rglob("*")
    }


TREE = [
    "modulefiles/uv-hpc/1.0.lua",
    "modulefiles/uv-hpc/1.0",  # the Tcl modulefile (Environment Modules)
    "lmod/SitePackage.lua",
    "lmod/uvmod_hooks.lua",
    "uv-hpc/1.0/bin/uv",
    "uv-hpc/1.0/etc/generic/uv/uv.toml",
]


@pytest.mark.parametrize("target", TREE)
def test_a_file_without_the_marker_is_never_overwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    prefix = tmp_path / "p"
    foreign = prefix / target
    foreign.parent.mkdir(parents=True)
    foreign.write_text("-- the site's own hand-written file\n")
    assert _build(prefix) == 1
    assert "was not written by uvmod" in capsys.readouterr().err
    assert foreign.read_text() == "-- the site's own hand-written file\n"
    # Nothing else was written either: the check happens before any write.
    assert [p for p in prefix.rglob("*") if p.is_file()] == [foreign]


@pytest.mark.parametrize("target", TREE)
def test_a_rebuild_over_a_foreign_file_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    """A tree uvmod wrote, one file of which the site replaced by its own (or a symlink to
    its own): a rebuild with another config refuses, and changes no file, not even the ours."""
    prefix = tmp_path / "p"
    assert _build(prefix) == 0
    foreign = prefix / target
    foreign.unlink()
    if target.endswith(".toml"):
        (tmp_path / "own.toml").write_text("# the site's own\n")
        foreign.symlink_to(tmp_path / "own.toml")
    else:
        foreign.write_text("# the site's own\n")
    before = _stamps(prefix)
    config = tmp_path / "site.toml"
    config.write_text('[paths]\ncache = "/elsewhere/uv"\n[cache_key]\nmodules = ["x"]\n')
    capsys.readouterr()
    assert _build(prefix, "--config", str(config)) == 1
    assert f"{foreign}: exists and was not written by uvmod" in capsys.readouterr().err
    assert _stamps(prefix) == before


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    assert _build(tmp_path / "p") == 0
    assert _build(tmp_path / "p") == 0
    assert not [p for p in (tmp_path / "p").rglob("*uvmod-tmp*")]


def test_destdir_stages_the_tree_with_prefix_paths_inside(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    assert main(["build-modulefiles", *EXAMPLE_ARGS, "--destdir", str(stage)]) == 0
    modulefile = (stage / "modulefiles/uv-hpc/1.0.lua").read_text()
    assert '"/opt/uvmod/uv-hpc/1.0/bin"' in modulefile
    assert "UVMOD_REAL_UV='/opt/uv/0.13.8/bin/uv'" in (stage / "uv-hpc/1.0/bin/uv").read_text()
    assert not Path("/opt/uvmod").exists()


def _as_git_stores(root: Path) -> dict[str, tuple[bytes, bool]]:
    """Every file below root with its bytes and whether it is executable: all that git records
    of a file, so the comparison holds in a checkout made under any umask."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), bool(p.stat().st_mode & 0o100))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_committed_example_tree_matches_the_embedded_default(tmp_path: Path) -> None:
    """modulefiles/ in the repository is the output for the embedded default config; it is
    checked here so it can never drift. Regenerate with:
    uvmod build-modulefiles --prefix /opt/uvmod --uv /opt/uv/0.13.8/bin/uv \
        --uvmod /opt/uvmod/bin/uvmod --destdir modulefiles
    """
    assert main(["build-modulefiles", *EXAMPLE_ARGS, "--destdir", str(tmp_path / "built")]) == 0
    committed = _as_git_stores(REPO / "modulefiles")
    assert committed.pop("README.md")  # the directory's own explanation, not build output
    assert committed == _as_git_stores(tmp_path / "built")


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077], ids=["022", "002", "077"])
def test_modes_are_the_plans_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    """Files get their planned mode and the directories the build creates 0755, so every user
    can read a tree built from a shell with any umask; an existing prefix keeps its own mode,
    and the tree passes --check under another umask."""
    prefix = tmp_path / "p"
    prefix.mkdir()
    prefix.chmod(0o750)
    old = os.umask(umask)
    try:
        assert _build(prefix) == 0
    finally:
        os.umask(old)
    modes = {
        str(p.relative_to(prefix)): p.stat().st_mode & 0o777 for p in sorted(prefix.rglob("*"))
    }
    scripts = {"uv-hpc/1.0/bin/uv", "uv-hpc/1.0/bin/uvx", "uv-hpc/1.0/bin/uvmod"}
    scripts.add("uv-hpc/1.0/libexec/uvmod-kernel")
    for relative, mode in modes.items():
        if (prefix / relative).is_dir():
            assert mode == 0o755, relative
        else:
            assert mode == (0o755 if relative in scripts else 0o644), relative
    assert scripts <= set(modes)
    assert prefix.stat().st_mode & 0o777 == 0o750
    other = os.umask(0o077 if umask != 0o077 else 0o002)
    try:
        assert _build(prefix, "--check") == 0
    finally:
        os.umask(other)


def test_check_prints_a_unified_diff_of_each_differing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = tmp_path / "p"
    assert _build(prefix) == 0
    config = tmp_path / "site.toml"
    config.write_text('[paths]\ncache = "/elsewhere/uv"\n')
    capsys.readouterr()
    assert _build(prefix, "--config", str(config), "--check") == 1
    out = capsys.readouterr().out
    modulefile = prefix / "modulefiles/uv-hpc/1.0.lua"
    assert f"differs: {modulefile}\n--- {modulefile} (installed)\n" in out
    assert f"+++ {modulefile} (from the configuration)\n" in out
    assert '\n+          text = "/elsewhere/uv",\n' in out
    assert '\n-          name = "SCRATCH",\n' in out  # ${SCRATCH:-${HOME}/.cache}/uv, as data
    (prefix / "uv-hpc/1.0/bin/uv").chmod(0o700)
    capsys.readouterr()
    assert _build(prefix, "--check") == 1
    assert f"mode of {prefix}/uv-hpc/1.0/bin/uv: 0700 -> 0755\n" in capsys.readouterr().out


THREE_ARCHS = '[arch.flags]\navx512 = ["avx512f"]\navx2 = ["avx2"]\ngeneric = []\n'
TWO_ARCHS = '[arch.flags]\navx2 = ["avx2"]\ngeneric = []\n'


def test_files_of_a_removed_architecture_are_stale_and_removed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = tmp_path / "p"
    config = tmp_path / "site.toml"
    config.write_text(THREE_ARCHS)
    assert _build(prefix, "--config", str(config)) == 0
    etc = prefix / "uv-hpc/1.0/etc"
    (etc / "avx512/notes.txt").write_text("the site's own notes, no marker\n")
    (etc / "avx512/uv/README").write_text("hand-written\n")
    config.write_text(TWO_ARCHS)
    capsys.readouterr()
    assert _build(prefix, "--config", str(config), "--check") == 1
    out = capsys.readouterr().out
    assert f"stale: {etc}/avx512/uv/uv.toml (written by uvmod, no longer produced" in out
    assert "notes.txt" not in out and "README" not in out
    assert (etc / "avx512/uv/uv.toml").is_file()  # --check changes nothing
    assert _build(prefix, "--config", str(config)) == 0
    out = capsys.readouterr().out
    assert f"removed: {etc}/avx512/uv/uv.toml (no longer produced by the configuration)" in out
    assert not (etc / "avx512/uv/uv.toml").exists()
    # Files without the marker are never touched, and keep their directories.
    assert (etc / "avx512/notes.txt").read_text() == "the site's own notes, no marker\n"
    assert (etc / "avx512/uv/README").read_text() == "hand-written\n"
    assert _build(prefix, "--config", str(config), "--check") == 0
    # Without them, the directories the removed files leave empty go too.
    (etc / "avx512/notes.txt").unlink()
    (etc / "avx512/uv/README").unlink()
    config.write_text(THREE_ARCHS)
    assert _build(prefix, "--config", str(config)) == 0
    config.write_text(TWO_ARCHS)
    assert _build(prefix, "--config", str(config)) == 0
    assert sorted(p.name for p in etc.iterdir()) == ["avx2", "generic", "uvmod-site.json"]


def test_only_the_install_directory_is_swept(tmp_path: Path) -> None:
    """Another version's files in a shared prefix are that build's: never stale for this one."""
    prefix = tmp_path / "p"
    assert _build(prefix) == 0
    config = tmp_path / "site.toml"
    config.write_text('[module]\nversion = "2.0"\n')
    assert _build(prefix, "--config", str(config)) == 0
    assert (prefix / "modulefiles/uv-hpc/1.0.lua").is_file()
    assert (prefix / "uv-hpc/1.0/etc/generic/uv/uv.toml").is_file()
    assert _build(prefix, "--check") == 0


def test_the_summary_names_every_step_for_the_administrator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prefix = tmp_path / "my prefix"
    assert _build(prefix) == 0
    out = capsys.readouterr().out
    assert f"module use '{prefix}/modulefiles'" in out
    assert f"export LMOD_PACKAGE_PATH='{prefix}/lmod'" in out
    assert f'dofile("{prefix}/lmod/uvmod_hooks.lua")' in out
    assert "Environment Modules: nothing to install" in out
    assert "users: module load uv-hpc" in out
    # With --destdir the steps still name the prefix the tree is installed at.
    assert main(["build-modulefiles", *EXAMPLE_ARGS, "--destdir", str(tmp_path / "stage")]) == 0
    out = capsys.readouterr().out
    assert "module use /opt/uvmod/modulefiles" in out
    assert 'dofile("/opt/uvmod/lmod/uvmod_hooks.lua")' in out
