"""Per-key builds over time: module tree rebuilds, purges and `uv cache clean`.

Real Lmod with the hook, the wrapper and real uv, offline, building the test sdist `fake`, which
keeps a build directory in uv's shared source tree the way setuptools does
(tests/support/fakesdist.py; tests/test_real_mpi.py does the same with the real mpi4py). What
must hold (docs/design.md#per-key-builds): a rebuilt module tree (a new build id) reuses every
keyed wheel; a purge of the wrapper's per-key files, or of the whole cache, never lets a build
run in another key's build directory.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import BuildPrefix
from tests.support.fakesdist import mpi_site_toml, write_fake_sdist
from tests.support.modules import base_env, run_lmod
from tests.support.wheels import write_wheel
from uvmod import depot

TEST_MODULES = Path(__file__).parent / "data" / "modulefiles"
SHOW = "uv run python -c 'import fake; print(fake.BUILT_AGAINST)'"


class Site:
    def __init__(self, tmp_path: Path, build_prefix: BuildPrefix) -> None:
        self.tmp = tmp_path
        self.wheelhouse = tmp_path / "wheelhouse"
        write_fake_sdist(self.wheelhouse / "generic")
        write_wheel(self.wheelhouse / "generic", "plain", "1.0", {"plain/__init__.py": "X = 1\n"})
        self.build_prefix = build_prefix
        self.prefix = build_prefix(mpi_site_toml(self.wheelhouse), prefix=tmp_path / "prefix")
        self.project = self.new_project("app")
        self.log = tmp_path / "builds.log"
        self.depot = tmp_path / "scratch" / "uv-venvs"
        self.env = base_env(
            tmp_path,
            {
                "SCRATCH": str(tmp_path / "scratch"),
                "RSNT_ARCH": "generic",
                "UV_PYTHON": sys.executable,
                "UV_OFFLINE": "1",
                "FAKE_BUILD_LOG": str(self.log),
            },
        )

    def new_project(self, name: str) -> Path:
        path = self.tmp / "work" / name
        path.mkdir(parents=True)
        (path / "pyproject.toml").write_text(
            f'[project]\nname = "{name}"\nversion = "0"\nrequires-python = ">=3.10"\n'
            'dependencies = ["fake", "plain"]\n'
        )
        return path

    def show(self, *module_commands: str, project: Path | None = None) -> str:
        """What `uv run` imports after the module commands, in a new login shell."""
        result = run_lmod(
            [*module_commands, f"cd {project or self.project}", SHOW],
            self.env,
            modulepath=[self.prefix / "modulefiles", TEST_MODULES],
            package_path=self.prefix / "lmod",
        )
        return result.stdout.strip().splitlines()[-1]

    def builds(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []

    def build_id(self) -> str:
        wrapper = (self.prefix / "uv-hpc" / "1.0" / "bin" / "uv").read_text()
        (line,) = [x for x in wrapper.splitlines() if x.startswith("UVMOD_BUILD_ID=")]
        return line.split("=", 1)[1].strip("'")


MPICH = "module load uv-hpc mpich/4.1.2"
OPENMPI = "module load uv-hpc openmpi/4.1.5"


def test_a_rebuilt_module_tree_reuses_every_keyed_build(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    site = Site(tmp_path, build_prefix)
    assert site.show(MPICH) == "mpich-4.1.2"
    before = site.build_id()
    # The admin changes the site policy and rebuilds the tree in place: a new build id, new
    # per-key uv.toml files; the setup.cfg path, and so uv's shard, stay the same.
    changed = mpi_site_toml(site.wheelhouse).replace(
        "pypi = false", 'pypi = false\nonly_binary = ["plain"]'
    )
    build_prefix(changed, prefix=site.prefix)
    assert site.build_id() != before
    assert site.show(MPICH) == "mpich-4.1.2"
    assert site.builds() == ["mpich-4.1.2"]  # served from the cache: no second build
    configs = sorted(p.parts[-5] for p in (site.depot / depot.CONFIG).rglob("uv.toml"))
    assert configs == sorted([before, site.build_id()])
    assert site.show(OPENMPI) == "openmpi-4.1.5"
    assert site.builds() == ["mpich-4.1.2", "openmpi-4.1.5"]


def test_purged_per_key_files_and_a_cleaned_cache_keep_builds_apart(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    site = Site(tmp_path, build_prefix)
    assert site.show(MPICH) == "mpich-4.1.2"
    # The purge takes the setup.cfg files: the next key's build still gets its own directory.
    setup_dir = site.depot / depot.SETUPTOOLS
    for path in setup_dir.iterdir():
        path.unlink()
    assert site.show(OPENMPI) == "openmpi-4.1.5"
    assert [p.name for p in setup_dir.iterdir()] == ["k-openmpi@4.1.5.cfg"]
    # Everything the wrapper wrote, and the whole uv cache: a new project under each key
    # builds afresh, each against its own MPI.
    for path in sorted(site.depot.glob(".uvmod-*/**/*"), reverse=True):
        if path.is_file():
            path.unlink()
    run_lmod(
        ["module load uv-hpc", "uv cache clean -q"],
        site.env,
        modulepath=[site.prefix / "modulefiles"],
    )
    assert not (tmp_path / "scratch" / "uv").exists() or not any(
        (tmp_path / "scratch" / "uv").glob("sdists-v*/**/*.whl")
    )
    second = site.new_project("second")
    assert site.show(OPENMPI, project=second) == "openmpi-4.1.5"
    assert site.show(MPICH, project=second) == "mpich-4.1.2"
    assert site.builds() == ["mpich-4.1.2", "openmpi-4.1.5", "openmpi-4.1.5", "mpich-4.1.2"]
