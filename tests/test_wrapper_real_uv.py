"""The wrapper in real Lmod with the real uv, from a test wheelhouse, offline: environments in
the depot, the per-key policy and builds, `uv pip` in a project, concurrent first calls."""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support.fakesdist import mpi_site_toml, write_fake_sdist
from tests.support.modules import ModuleTool, ShellResult, base_env, run_lmod
from tests.support.nodes import node
from tests.support.projects import PYPROJECT
from tests.support.wheels import tiny_wheel
from uvmod import depot


@dataclass
class Site:
    prefix: Path
    tmp: Path
    env: dict[str, str]

    @property
    def depot(self) -> Path:
        return self.tmp / "scratch" / "uv-venvs"

    def project(self, path: Path, *deps: str) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        quoted = ", ".join(f'"{d}"' for d in deps)
        (path / "pyproject.toml").write_text(PYPROJECT.format(name=path.name, deps=quoted))
        return path

    def run(self, *lines: str, check: bool = True, **extra_env: str) -> ShellResult:
        return run_lmod(
            ["module load uv-hpc", *lines],
            {**self.env, **extra_env},
            modulepath=[self.prefix / "modulefiles"],
            check=check,
            timeout=300,
        )

    def expected_env(self, root: Path, key: str = "") -> Path:
        return self.depot / depot.env_name(os.path.realpath(root), key, node())


def key(value: str) -> str:
    """Set the key as the Lmod hook would (source `hook`): taken as current by the wrapper,
    which otherwise recomputes a key that does not match the loaded modules."""
    return f"export UVMOD_CACHE_KEY={shlex.quote(value)} UVMOD_KEY_SOURCE=hook"


def uvmod(*args: str) -> str:
    return shlex.join([sys.executable, "-m", "uvmod", *args])


@pytest.fixture
def site(tmp_path: Path, build_prefix: BuildPrefix) -> Site:
    wheelhouse = tmp_path / "wheelhouse"
    tiny_wheel(wheelhouse / "generic", "tinyone", "1.0")
    tiny_wheel(wheelhouse / "generic", "tinytwo", "2.0")
    write_fake_sdist(wheelhouse / "generic")
    prefix = build_prefix(mpi_site_toml(wheelhouse, '[python]\ndownloads = "never"'))
    env = base_env(
        tmp_path,
        {
            "SCRATCH": str(tmp_path / "scratch"),
            "RSNT_ARCH": "generic",
            "UV_PYTHON": sys.executable,
            "UV_OFFLINE": "1",
        },
    )
    return Site(prefix, tmp_path, env)


def test_sync_and_run_offline_leave_only_uv_lock_in_the_project(site: Site) -> None:
    proj = site.project(site.tmp / "WORK" / "demo", "tinyone")
    result = site.run(
        f"cd {shlex.quote(str(proj))}",
        "uv sync",
        "uv run python -c 'import sys, tinyone; print(tinyone.VALUE); print(sys.prefix)'",
    )
    value, prefix = result.stdout.splitlines()[-2:]
    venv = site.expected_env(proj)
    assert value == "tinyone 1.0"
    assert prefix == str(venv)
    assert sorted(p.name for p in proj.iterdir()) == ["pyproject.toml", "uv.lock"]
    assert (venv / "pyvenv.cfg").is_file()
    # The second call found the environment uv made and wrote the back-pointer.
    assert depot.read_marker(venv) == depot.Marker(proj, "", node())
    path = site.run(f"cd {shlex.quote(str(proj))}", uvmod("venv", "path")).stdout.strip()
    assert path == str(venv)


def test_two_similar_projects_list_and_gc(site: Site) -> None:
    one = site.project(site.tmp / "W" / "a" / "b_c", "tinyone")
    two = site.project(site.tmp / "W" / "a_b" / "c", "tinyone")
    for proj in (one, two):
        site.run(f"cd {shlex.quote(str(proj))}", "uv sync", "uv run python -c pass")
    listing = json.loads(site.run(uvmod("venv", "list", "--json")).stdout)
    by_project = {e["project"]: e for e in listing["environments"]}
    assert set(by_project) == {str(one), str(two)}
    assert by_project[str(one)]["path"] != by_project[str(two)]["path"]
    for proj in (one, two):
        entry = by_project[str(proj)]
        assert entry["path"] == str(site.expected_env(proj))
        assert entry["project_exists"] is True and entry["state"] == "ok"
        assert entry["files"] > 5 and entry["size"] > 0 and entry["last_used"]

    import shutil

    # W/a keeps another directory: its filesystem is visibly there, so b_c is gone (an emptied
    # directory looks like an unmounted mount point: docs/design.md#gone-or-unreachable).
    (site.tmp / "W" / "a" / "notes").mkdir()
    shutil.rmtree(site.tmp / "W" / "a" / "b_c")
    dry = site.run(uvmod("venv", "gc")).stdout
    assert f"would remove {site.expected_env(one)}" in dry
    assert site.expected_env(one).is_dir()
    site.run(uvmod("venv", "gc", "--yes"))
    assert not site.expected_env(one).exists()
    assert site.expected_env(two).is_dir()
    human = site.run(uvmod("venv", "list"), COLUMNS="300").stdout
    (row,) = [line for line in human.splitlines() if site.expected_env(two).name in line]
    assert str(two) in row and "ok" in row


def test_environment_deleted_by_a_purge_is_recreated(site: Site) -> None:
    import shutil

    proj = site.project(site.tmp / "WORK" / "p", "tinyone")
    cd = f"cd {shlex.quote(str(proj))}"
    site.run(cd, "uv sync", "uv run python -c pass")
    venv = site.expected_env(proj)
    shutil.rmtree(venv)
    result = site.run(cd, "uv run python -c 'import sys, tinyone; print(sys.prefix)'")
    assert result.stdout.splitlines()[-1] == str(venv)
    assert (venv / "pyvenv.cfg").is_file()


def test_a_recreated_environment_knows_its_project_and_gc_takes_it(site: Site) -> None:
    """`rm -rf $(uvmod venv path)` (or a purge), one `uv run`: uv makes the environment again
    after the wrapper ran, so it has no back-pointer yet; the wrapper's index names the project
    anyway, and once the project is deleted gc removes it. `uvmod` is the module's bin/uvmod."""
    import shutil

    proj = site.project(site.tmp / "WORK" / "p", "tinyone")
    cd = f"cd {shlex.quote(str(proj))}"
    site.run(cd, "uv sync", "uv run python -c pass")
    site.run(cd, 'rm -rf "$(uvmod venv path)"', "uv run python -c 'import tinyone'")
    venv = site.expected_env(proj)
    assert (venv / "pyvenv.cfg").is_file() and not (venv / depot.MARKER).exists()
    (entry,) = json.loads(site.run("uvmod venv list --json").stdout)["environments"]
    assert (entry["path"], entry["project"]) == (str(venv), str(proj))
    assert (entry["state"], entry["project_from"]) == ("ok", "index")
    (proj.parent / "other").mkdir()  # WORK is visibly mounted: docs/design.md#gone-or-unreachable
    shutil.rmtree(proj)
    result = site.run("uvmod venv gc --yes")
    assert f"removed {venv} (project {proj} is gone)" in result.stdout
    assert not venv.exists()
    assert json.loads(site.run("uvmod venv list --json").stdout)["environments"] == []


def test_partly_purged_environment_is_reported_and_replaced(site: Site) -> None:
    proj = site.project(site.tmp / "WORK" / "p", "tinyone")
    cd = f"cd {shlex.quote(str(proj))}"
    site.run(cd, "uv sync", "uv run python -c pass")
    venv = site.expected_env(proj)
    # An age-based purge: the marker (old, never read) and a module file go.
    (venv / depot.MARKER).unlink()
    (module,) = venv.glob("lib/python*/site-packages/tinyone.py")
    module.unlink()
    listing = json.loads(site.run(uvmod("venv", "list", "--json")).stdout)
    (entry,) = listing["environments"]
    assert entry["state"] == "damaged" and entry["missing_files"] == 1
    result = site.run(cd, "uv run python -c 'import tinyone; print(tinyone.VALUE)'")
    assert result.stdout.splitlines()[-1] == "tinyone 1.0"
    assert "partly deleted" in result.stderr
    assert (venv / "pyvenv.cfg").is_file()
    gc = site.run(uvmod("venv", "gc", "--yes")).stdout
    assert "damaged copy" in gc
    assert not any((site.depot / depot.TRASH).iterdir())


def test_sixteen_concurrent_runs_on_a_fresh_project(site: Site) -> None:
    proj = site.project(site.tmp / "WORK" / "busy", "tinyone")
    out = site.tmp / "out"
    out.mkdir()
    result = site.run(
        f"cd {shlex.quote(str(proj))}",
        "for i in $(seq 16); do",
        "  ( uv run python -c 'import tinyone, sys; print(sys.prefix)' "
        f">{out}/o$i 2>{out}/e$i; echo $? >{out}/rc$i ) &",
        "done",
        "wait",
        # Exit 1 if the environment left behind is not exactly what the lockfile says.
        "uv sync --locked --check",
    )
    venv = site.expected_env(proj)
    for i in range(1, 17):
        rc = (out / f"rc{i}").read_text().strip()
        assert rc == "0", (out / f"e{i}").read_text()
        assert (out / f"o{i}").read_text().strip() == str(venv)
    entries = [p for p in site.depot.iterdir() if not p.name.startswith(".")]
    assert entries == [venv]
    assert not (site.depot / depot.TRASH).exists()
    assert depot.read_marker(venv) == depot.Marker(proj, "", node())
    assert result.returncode == 0


def test_eight_concurrent_first_uses_of_a_new_key(site: Site) -> None:
    """The real-uv companion of tests/test_wrapper.py::test_eight_simultaneous_first_uses_of_a
    _new_key: 8 `uv run` of a project needing the sdist `fake` start together under a key no
    call used before; each may write the per-key uv.toml, all succeed, all get the wheel built
    for that key, and one per-key uv.toml results."""
    proj = site.project(site.tmp / "WORK" / "keyed", "fake", "tinyone")
    out = site.tmp / "out"
    out.mkdir()
    site.run(
        f"cd {shlex.quote(str(proj))}",
        key("mpich/4.1.2"),
        "for i in $(seq 8); do",
        "  ( uv run python -c 'import fake; print(fake.BUILT_AGAINST, fake.BUILD_KEY)' "
        f">{out}/o$i 2>{out}/e$i; echo $? >{out}/rc$i ) &",
        "done",
        "wait",
        FAKE_MPI="mpich",
    )
    for i in range(1, 9):
        assert (out / f"rc{i}").read_text().strip() == "0", (out / f"e{i}").read_text()
        assert (out / f"o{i}").read_text().split("\n")[-2] == "mpich mpich/4.1.2"
    configs = [p for p in (site.depot / ".uvmod-config").rglob("*") if p.is_file()]
    assert [p.relative_to(p.parents[3]) for p in configs] == [
        Path("generic/k-mpich@4.1.2/uv/uv.toml")
    ]
    assert "extra-build-variables" in configs[0].read_text()
    entries = [p for p in site.depot.iterdir() if not p.name.startswith(".")]
    assert entries == [site.expected_env(proj, "mpich/4.1.2")]


def test_cache_key_isolates_built_wheels_and_environments(site: Site) -> None:
    """[extra-build-variables] in the wrapper's per-key system uv.toml changes the built-wheel
    cache shard (docs/design.md#per-key-builds): mpich build, openmpi build, then mpich again
    served from cache."""
    proj = site.project(site.tmp / "WORK" / "mpiapp", "fake", "tinyone")
    show = "uv run python -c 'import fake; print(fake.BUILT_AGAINST, fake.BUILD_KEY)'"
    cd = f"cd {shlex.quote(str(proj))}"
    # The key is set by hand after `module load` (which computes it from the loaded modules, none
    # here); tests/test_key_end_to_end.py drives the same through real MPI modules and the hook.
    first = site.run(cd, key("mpich/4.1.2"), show, FAKE_MPI="mpich")
    assert first.stdout.splitlines()[-1] == "mpich mpich/4.1.2"
    second = site.run(cd, key("openmpi/4.1.5"), show, FAKE_MPI="openmpi")
    assert second.stdout.splitlines()[-1] == "openmpi openmpi/4.1.5"
    assert "Built fake" in second.stderr
    third = site.run(cd, key("mpich/4.1.2"), show, FAKE_MPI="changed")
    assert third.stdout.splitlines()[-1] == "mpich mpich/4.1.2"
    assert "Built fake" not in third.stderr
    # The uv cache holds two builds of fake (one per key) but unpacked tinyone only once: only
    # the packages of [cache_key].packages are isolated per key.
    archives = site.tmp / "scratch" / "uv" / "archive-v0"
    assert len(list(archives.glob("*/fake/__init__.py"))) == 2
    assert len(list(archives.glob("*/tinyone.py"))) == 1
    mpich_env = site.expected_env(proj, "mpich/4.1.2")
    openmpi_env = site.expected_env(proj, "openmpi/4.1.5")
    assert mpich_env != openmpi_env and mpich_env.is_dir() and openmpi_env.is_dir()
    assert depot.read_marker(mpich_env) == depot.Marker(proj, "mpich/4.1.2", node())
    # The back-pointer is written by the first call that finds the environment uv made.
    assert depot.read_marker(openmpi_env) is None
    site.run(cd, key("openmpi/4.1.5"), "uv run python -c pass")
    assert depot.read_marker(openmpi_env) == depot.Marker(proj, "openmpi/4.1.5", node())


def test_uv_pip_in_a_project_installs_into_the_depot_environment(site: Site) -> None:
    proj = site.project(site.tmp / "WORK" / "pipper", "tinyone")
    # UV_PYTHON (like --python) would make `uv pip` target that interpreter instead.
    result = site.run(
        f"cd {shlex.quote(str(proj))}",
        "uv sync",
        "UV_PYTHON= uv pip install tinytwo",
        "uv run python -c 'import tinytwo; print(tinytwo.VALUE)'",
    )
    venv = site.expected_env(proj)
    assert result.stdout.splitlines()[-1] == "tinytwo 2.0"
    assert list(venv.glob("lib/python*/site-packages/tinytwo.py"))
    assert not (proj / ".venv").exists()


@pytest.mark.parametrize("hook", [False, True])
def test_wrapper_reports_a_key_left_stale_by_module_swap(
    site: Site, hook: bool, lmod_tool: ModuleTool
) -> None:
    proj = site.project(site.tmp / "WORK" / "swapper", "tinyone")
    run = "uv run python -c pass"
    result = lmod_tool.run(
        [
            f"cd {shlex.quote(str(proj))}",
            "module load mpich/4.1.2 uv-hpc",
            f"{run} 2> {site.tmp}/before",
            "module swap mpich openmpi",
            f"{run} 2> {site.tmp}/after",
            "echo $UVMOD_CACHE_KEY",
        ],
        site.env,
        modulepath=[site.prefix / "modulefiles", lmod_tool.standins],
        package_path=site.prefix / "lmod" if hook else None,
        timeout=300,
    )
    before = (site.tmp / "before").read_text()
    after = (site.tmp / "after").read_text()
    assert "does not match" not in before
    if hook:  # the hook moved the key along: nothing to report
        assert result.stdout.strip() == "openmpi/4.1.5"
        assert "does not match" not in after
    else:  # the key computed at load still says mpich: the wrapper says so, and uv ran
        assert result.stdout.strip() == "mpich/4.1.2"
        assert "UVMOD_CACHE_KEY='mpich/4.1.2' does not match" in after
        assert "this command uses 'openmpi/4.1.5'" in after
        assert "module reload uv-hpc" in after
    # Either way the run after the swap used openmpi's environment, never mpich's.
    assert site.expected_env(proj, "openmpi/4.1.5").is_dir()
