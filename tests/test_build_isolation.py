"""Raw uv: `[extra-build-variables]` in a system uv.toml shards built wheels per cache key.

This is the uv behaviour the wrapper builds on (docs/design.md#per-key-builds), checked without
the wrapper: a hand-written uv.toml found through XDG_CONFIG_DIRS, rewritten for each key the way
the wrapper does. With the key and a per-key DIST_EXTRA_CONFIG, across mpich -> openmpi -> mpich
`uv run` sees the MPI loaded at that moment, the third step is served from the cache (no build),
and a pure-Python dependency is unpacked once for all keys. With the key alone, the second key's
build runs in the source tree the first build left behind and packs its object (the `fake`
back-end keeps a build directory as setuptools does; tests/test_real_mpi.py shows the same with
the real mpi4py). Without any setting, uv hands the mpich build to openmpi: the problem of
https://github.com/astral-sh/uv/issues/7642 that the key exists for.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.support import tools
from tests.support.fakesdist import write_fake_sdist
from tests.support.wheels import write_wheel

STEPS = [
    ("mpich/4.1.2", "mpich-4.1.2"),
    ("openmpi/4.1.5", "openmpi-4.1.5"),
    ("mpich/4.1.2", "mpich-4.1.2"),
]


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    links = tmp_path / "links"
    write_fake_sdist(links)
    write_wheel(links, "plain", "1.0", {"plain/__init__.py": "X = 1\n"})
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "project"\nversion = "0"\nrequires-python = ">=3.10"\n'
        'dependencies = ["fake", "plain"]\n'
    )
    return links, project


def _uv_run(
    tmp_path: Path,
    project: Path,
    links: Path,
    key: str | None,
    fake_mpi: str,
    build_dir_per_key: bool = True,
) -> str:
    etc = tmp_path / "etc"
    (etc / "uv").mkdir(parents=True, exist_ok=True)
    policy = f'no-index = true\nfind-links = ["{links}"]\n'
    if key is not None:
        variables = f'UVMOD_CACHE_KEY = "{key}"'
        if build_dir_per_key:
            setup_cfg = tmp_path / f"setup-{key.replace('/', '@')}.cfg"
            setup_cfg.write_text(f"[build]\nbuild_base = build/uvmod-k-{key.replace('/', '@')}\n")
            variables += f', DIST_EXTRA_CONFIG = "{setup_cfg}"'
        policy += f"\n[extra-build-variables]\nfake = {{ {variables} }}\n"
    (etc / "uv" / "uv.toml").write_text(policy)
    env = {
        "HOME": os.environ["HOME"],
        "PATH": "/usr/bin:/bin",
        "XDG_CONFIG_DIRS": str(etc),
        "UV_CACHE_DIR": str(tmp_path / "cache"),
        "UV_PROJECT_ENVIRONMENT": str(tmp_path / "env"),
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_NO_PROGRESS": "1",
        "FAKE_MPI": fake_mpi,
        "FAKE_BUILD_LOG": str(tmp_path / "builds.log"),
    }
    proc = subprocess.run(
        [tools.real_uv(), "run", "python", "-c", "import fake; print(fake.BUILT_AGAINST)"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def _builds(tmp_path: Path) -> list[str]:
    log = tmp_path / "builds.log"
    return log.read_text().splitlines() if log.exists() else []


def test_builds_are_sharded_per_key_and_reused(tmp_path: Path) -> None:
    links, project = _setup(tmp_path)
    seen = [_uv_run(tmp_path, project, links, key, mpi) for key, mpi in STEPS]
    assert seen == ["mpich-4.1.2", "openmpi-4.1.5", "mpich-4.1.2"]
    # Two builds for three steps: back on mpich, the cached mpich wheel was used.
    assert _builds(tmp_path) == ["mpich-4.1.2", "openmpi-4.1.5"]
    built = sorted((tmp_path / "cache").glob("sdists-v*/**/fake-1.0-py3-none-any.whl"))
    assert len(built) == 2, built
    # One source tree for both keys, one build directory per key inside it.
    (source,) = (tmp_path / "cache").glob("sdists-v*/**/fake/1.0/*/src")
    assert sorted(p.name for p in (source / "build").iterdir()) == [
        "uvmod-k-mpich@4.1.2",
        "uvmod-k-openmpi@4.1.5",
    ]
    # The pure-Python wheel is shared by all keys: unpacked once.
    unpacked = list((tmp_path / "cache").glob("archive-v*/*/plain-1.0.dist-info"))
    assert len(unpacked) == 1, unpacked


def test_key_alone_lets_the_second_key_pack_the_first_keys_object(tmp_path: Path) -> None:
    """uv builds in the one source tree it unpacked, which keeps the first build's directory:
    the second key gets a wheel of its own, built from the first key's object."""
    links, project = _setup(tmp_path)
    seen = [
        _uv_run(tmp_path, project, links, key, mpi, build_dir_per_key=False)
        for key, mpi in STEPS[:2]
    ]
    assert seen == ["mpich-4.1.2", "mpich-4.1.2"]
    assert _builds(tmp_path) == [
        "mpich-4.1.2",
        "openmpi-4.1.5 (compiled nothing: packed mpich-4.1.2 from build)",
    ]
    built = sorted((tmp_path / "cache").glob("sdists-v*/**/fake-1.0-py3-none-any.whl"))
    assert len(built) == 2, built  # two shards, as with the fix: the shards are not the problem


def test_without_the_setting_uv_reuses_the_wrong_build(tmp_path: Path) -> None:
    """The control: with no key, the openmpi step gets the mpich wheel from the cache."""
    links, project = _setup(tmp_path)
    seen = [_uv_run(tmp_path, project, links, None, mpi) for _, mpi in STEPS[:2]]
    assert seen == ["mpich-4.1.2", "mpich-4.1.2"]
    assert _builds(tmp_path) == ["mpich-4.1.2"]


def test_fake_sdist_is_a_valid_sdist(tmp_path: Path) -> None:
    """uv accepts the sdist on its own (offline, no build requirements to fetch)."""
    links, _ = _setup(tmp_path)
    out = tmp_path / "wheels"
    proc = subprocess.run(
        [
            tools.real_uv(),
            "build",
            "--wheel",
            "--out-dir",
            str(out),
            str(links / "fake-1.0.tar.gz"),
        ],
        env={
            "HOME": os.environ["HOME"],
            "PATH": "/usr/bin:/bin",
            "UV_OFFLINE": "1",
            "UV_CACHE_DIR": str(tmp_path / "cache"),
            "UV_PYTHON": sys.executable,
            "FAKE_MPI": "cuda-test",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    (wheel,) = out.glob("fake-1.0-*.whl")
    module = zipfile.ZipFile(wheel).read("fake/__init__.py")
    assert module == b"BUILT_AGAINST = 'cuda-test'\nBUILD_KEY = None\n"
