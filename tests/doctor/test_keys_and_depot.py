"""Cache key, keyed builds, depot environments and purge risk, made for real: real Lmod (with
and without the hook), the uv wrapper, real uv building the test sdist `fake` (standing in for
mpi4py) offline from a test wheelhouse."""

from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.doctor.support import Report, make_project, run_doctor
from tests.support.fakesdist import mpi_site_toml, write_fake_sdist
from tests.support.modules import LMOD_8_6, ModuleTool, ShellResult, base_env
from tests.support.nodes import node
from tests.support.wheels import write_wheel
from uvmod import depot
from uvmod.commands.venv import venv_gc, venv_list

TEST_MODULES = Path(__file__).parent.parent / "data" / "modulefiles"
DAY = 86400


class Site:
    def __init__(self, tmp_path: Path, prefix: Path, tool: ModuleTool = LMOD_8_6) -> None:
        self.tmp = tmp_path
        self.prefix = prefix
        self.tool = tool
        self.scratch = tmp_path / "scratch"
        self.env = base_env(
            tmp_path,
            {
                "SCRATCH": str(self.scratch),
                "RSNT_ARCH": "generic",
                "UV_PYTHON": sys.executable,
                "UV_OFFLINE": "1",
            },
        )

    def shell(self, *lines: str, hook: bool = True) -> ShellResult:
        return self.tool.run(
            list(lines),
            self.env,
            modulepath=[self.prefix / "modulefiles", TEST_MODULES],
            package_path=self.prefix / "lmod" if hook else None,
            timeout=300,
        )

    def project(self, name: str, *deps: str) -> Path:
        quoted = ", ".join(f'"{d}"' for d in deps)
        path = self.tmp / "work" / name
        path.mkdir(parents=True)
        (path / "pyproject.toml").write_text(
            f'[project]\nname = "{name}"\nversion = "0"\nrequires-python = ">=3.10"\n'
            f"dependencies = [{quoted}]\n"
        )
        return path

    def env_of(self, project: Path, key: str = "") -> Path:
        return self.scratch / "uv-venvs" / depot.env_name(os.path.realpath(project), key, node())


def site_toml(wheelhouse: Path, extra: str = "") -> str:
    return mpi_site_toml(wheelhouse, extra)


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    root = tmp_path / "wheelhouse"
    write_fake_sdist(root / "generic")
    write_wheel(root / "generic", "plain", "1.0", {"plain/__init__.py": "X = 1\n"})
    return root


@pytest.fixture
def site(tmp_path: Path, build_prefix: BuildPrefix, wheelhouse: Path) -> Site:
    return Site(tmp_path, build_prefix(site_toml(wheelhouse)))


@pytest.fixture
def lmod_site(
    tmp_path: Path, build_prefix: BuildPrefix, wheelhouse: Path, lmod_tool: ModuleTool
) -> Site:
    """The site under each Lmod of the matrix, for the checks that depend on what Lmod did."""
    return Site(tmp_path, build_prefix(site_toml(wheelhouse)), lmod_tool)


def test_stale_key_after_a_swap_without_the_hook(lmod_site: Site) -> None:
    site = lmod_site
    steps = ["module load mpich/4.1.2 uv-hpc", "module swap mpich openmpi"]
    env = site.shell(*steps, hook=False).environ
    assert env["UVMOD_CACHE_KEY"] == "mpich/4.1.2"  # computed at load, left behind by the swap
    report = run_doctor(env, cwd=site.tmp)
    assert report.code == 0  # the wrapper copes (see below), so a warning
    report.assert_found(
        "cache_key.current",
        "warn",
        "the cache key is stale: UVMOD_CACHE_KEY is 'mpich/4.1.2', the loaded modules give "
        "'openmpi/4.1.5'; the wrapper uses the loaded modules' key for each uv call and warns "
        "every time: your site has not installed the uvmod Lmod hook",
        "module reload uv-hpc",
    )
    # The fix, applied: the key follows again.
    fixed = site.shell(*steps, "module reload uv-hpc", hook=False).environ
    result = run_doctor(fixed, cwd=site.tmp).check("cache_key.current")
    assert result["status"] == "ok"
    assert result["finding"].startswith("UVMOD_CACHE_KEY=openmpi/4.1.5 matches the loaded modules")


def test_key_kept_current_by_the_hook(lmod_site: Site) -> None:
    env = lmod_site.shell(
        "module load mpich/4.1.2 cuda/12.2 uv-hpc",
        "module swap mpich openmpi",
        "module unload cuda",  # re-evaluated by Lmod 8.7 (docs/design.md#lmod-87-re-evaluation)
    ).environ
    result = run_doctor(env, cwd=lmod_site.tmp).check("cache_key.current")
    assert result["status"] == "ok"
    assert result["finding"] == (
        "UVMOD_CACHE_KEY=openmpi/4.1.5 matches the loaded modules; kept current by the Lmod hook"
    )


def test_package_built_under_another_key(site: Site) -> None:
    """A fixed UV_PROJECT_ENVIRONMENT (the user's opt-out of the depot) is shared by every key:
    `fake` built under mpich stays there after the swap to openmpi."""
    project = site.project("mpiapp", "fake")
    fixed_env = site.tmp / "myenv"
    site.env["UV_PROJECT_ENVIRONMENT"] = str(fixed_env)
    steps = [f"cd {project}", "module load uv-hpc mpich/4.1.2", "uv sync -q"]
    env = site.shell(*steps, "module swap mpich openmpi").environ
    assert env["UVMOD_CACHE_KEY"] == "openmpi/4.1.5"
    report = run_doctor(env, cwd=project)
    assert report.code == 1
    assert report.check("cache_key.current")["status"] == "ok"
    report.assert_found(
        "cache_key.builds",
        "fail",
        "a package was built with another cache key: fake 1.0 was built with "
        f"UVMOD_CACHE_KEY='mpich/4.1.2' in {fixed_env}; the loaded modules give 'openmpi/4.1.5'",
        "uv sync --reinstall-package fake",
    )
    # The fix, applied: rebuilt under openmpi.
    fixed = site.shell(
        *steps, "module swap mpich openmpi", "uv sync -q --reinstall-package fake"
    ).environ
    result = run_doctor(fixed, cwd=project).check("cache_key.builds")
    assert result["status"] == "ok"
    assert result["finding"] == (
        f"1 package(s) built from source in {fixed_env}, all with the current key"
    )


def test_with_a_stale_key_doctor_looks_where_the_wrapper_goes(lmod_site: Site) -> None:
    """Without the hook, after a swap the exported key is stale; the wrapper then uses the key of
    the modules loaded now for its environment and builds. Doctor reports the stale variable and
    looks at that same environment, which `uv sync` then really creates."""
    site = lmod_site
    project = site.project("mpiapp", "fake")
    steps = [f"cd {project}", "module load mpich/4.1.2 uv-hpc", "uv sync -q"]
    steps.append("module swap mpich openmpi")
    env = site.shell(*steps, hook=False).environ
    assert env["UVMOD_CACHE_KEY"] == "mpich/4.1.2"
    report = run_doctor(env, cwd=project)
    assert report.check("cache_key.current")["status"] == "warn"
    openmpi_env = site.env_of(project, "openmpi/4.1.5")
    assert report.check("depot.project")["finding"] == (
        f"no environment yet; `uv sync` creates {openmpi_env}"
    )
    synced = site.shell(*steps, "uv sync -q", hook=False)
    assert "does not match the MPI/CUDA modules loaded now" in synced.stderr
    report = run_doctor(synced.environ, cwd=project)
    assert report.check("cache_key.builds")["finding"] == (
        f"1 package(s) built from source in {openmpi_env}, all with the current key"
    )
    assert report.check("depot.project")["status"] == "ok"


def test_activated_environment_built_under_another_key(site: Site) -> None:
    """The seed's own workflow: an environment of one's own on scratch, `uv pip install` into
    it, then a swap. `uv pip` never notices; doctor looks at $VIRTUAL_ENV as at a depot
    environment, names the package and both keys, and exits 1."""
    venv = site.scratch / "envs" / "x"
    steps = [
        "module load uv-hpc mpich/4.1.2",
        f"uv venv -q {venv}",
        # UV_PYTHON (set for the site) would make `uv pip` install into that interpreter.
        f"unset UV_PYTHON; export VIRTUAL_ENV={venv}",
        "uv pip install -q fake",
        "module swap mpich openmpi",
    ]
    env = site.shell(*steps).environ
    assert env["UVMOD_CACHE_KEY"] == "openmpi/4.1.5" and env["VIRTUAL_ENV"] == str(venv)
    report = run_doctor(env, cwd=site.tmp)  # not in a project
    assert report.code == 1
    report.assert_found(
        "cache_key.active_builds",
        "fail",
        "a package was built with another cache key: fake 1.0 was built with "
        f"UVMOD_CACHE_KEY='mpich/4.1.2' in {venv}; the loaded modules give 'openmpi/4.1.5'",
        "uv pip install --reinstall-package fake fake==1.0",
    )
    assert report.check("venv.active")["status"] == "ok"
    # The fix, applied: rebuilt under openmpi.
    fixed = site.shell(*steps, "uv pip install -q --reinstall-package fake fake==1.0").environ
    result = run_doctor(fixed, cwd=site.tmp).check("cache_key.active_builds")
    assert result["status"] == "ok"
    assert (
        result["finding"] == f"1 package(s) built from source in {venv}, all with the current key"
    )


def test_activated_environment_with_files_deleted(site: Site) -> None:
    venv = site.scratch / "envs" / "x"
    steps = [
        "module load uv-hpc",
        f"uv venv -q {venv}",
        f"unset UV_PYTHON; export VIRTUAL_ENV={venv}",
        "uv pip install -q plain",
    ]
    env = site.shell(*steps).environ
    assert run_doctor(env, cwd=site.tmp).check("venv.active")["status"] == "ok"
    site_packages = next(venv.glob("lib/python*/site-packages"))
    (site_packages / "plain" / "__init__.py").unlink()  # what an age-based purge does
    report = run_doctor(env, cwd=site.tmp)
    assert report.code == 1
    result = report.assert_found(
        "venv.active",
        "fail",
        f"the activated environment is missing files: 1 files listed in RECORD are gone from "
        f"{venv} (plain 1), most likely deleted by the scratch purge",
        "uv pip install --reinstall-package plain plain==1.0",
    )
    site.shell(*steps, result["fix"])
    assert run_doctor(env, cwd=site.tmp).check("venv.active")["status"] == "ok"
    # Purged entirely: `uv pip` would fail on it.
    for path in sorted(venv.rglob("*"), reverse=True):
        path.unlink() if not path.is_dir() or path.is_symlink() else path.rmdir()
    venv.rmdir()
    run_doctor(env, cwd=site.tmp).assert_found(
        "venv.active",
        "fail",
        f"the activated environment does not exist: VIRTUAL_ENV={venv}",
        "or `deactivate`",
    )


def test_the_project_environment_activated_is_looked_at_once(site: Site) -> None:
    project = site.project("analysis", "plain")
    env = site.shell(f"cd {project}", "module load uv-hpc", "uv sync -q").environ
    report = run_doctor({**env, "VIRTUAL_ENV": str(site.env_of(project))}, cwd=project)
    assert report.check("depot.project")["status"] == "ok"
    assert report.check("venv.active")["finding"] == "no other environment activated (VIRTUAL_ENV)"


def test_tool_environments_in_the_cache_are_not_damage(site: Site, wheelhouse: Path) -> None:
    """uvx and `uv tool run` keep their environments in the cache's archive buckets, with no
    .dist-info of their own: complete ones are no finding, purged ones are."""
    write_wheel(
        wheelhouse / "generic",
        "tinytool",
        "1.0",
        {"tinytool.py": "def main():\n    print('tinytool ran')\n"},
        dist_info_files={"entry_points.txt": "[console_scripts]\ntinytool = tinytool:main\n"},
    )
    result = site.shell("module load uv-hpc", "uvx tinytool", "uv tool run tinytool")
    assert result.stdout.splitlines() == ["tinytool ran", "tinytool ran"]
    report = run_doctor(result.environ, cwd=site.tmp)
    check = report.check("purge.cache_damage")
    assert check["status"] == "ok", check
    assert report.code == 0 and report.data["failed"] == 0, report.text
    cache = site.scratch / "uv"
    (tool_env,) = [e for e in cache.glob("archive-v*/*") if (e / "pyvenv.cfg").is_file()]
    next(tool_env.glob("lib/python*/site-packages/tinytool.py")).unlink()
    run_doctor(result.environ, cwd=site.tmp).assert_found(
        "purge.cache_damage",
        "fail",
        f"unpacked wheels in the cache are missing files: tool environments with tinytool in "
        f"{cache} are missing files",
        f"rm -rf {tool_env}",
    )


def test_wheel_installs_are_not_keyed(site: Site, tmp_path: Path) -> None:
    # `plain` is a wheel, and not in [cache_key].packages either: only built packages count.
    project = site.project("plainapp", "plain")
    env = site.shell(f"cd {project}", "module load uv-hpc mpich/4.1.2", "uv sync -q").environ
    result = run_doctor(env, cwd=project).check("cache_key.builds")
    assert result["finding"] == (
        f"0 package(s) built from source in {site.env_of(project, 'mpich/4.1.2')}, "
        "all with the current key"
    )


def test_depot_environment_with_files_deleted(site: Site) -> None:
    project = site.project("analysis", "plain", "fake")
    steps = [f"cd {project}", "module load uv-hpc", "uv sync -q"]
    env = site.shell(*steps).environ
    venv = site.env_of(project)
    site_packages = next(venv.glob("lib/python*/site-packages"))
    assert run_doctor(env, cwd=project).check("depot.project")["status"] == "ok"
    (site_packages / "plain" / "__init__.py").unlink()  # what an age-based purge does
    for path in (site_packages / "fake").iterdir():
        path.unlink()
    report = run_doctor(env, cwd=project)
    assert report.code == 1
    result = report.assert_found(
        "depot.project",
        "fail",
        f"the project environment is missing files: 2 files listed in RECORD are gone from "
        f"{venv} (fake 1, plain 1), most likely deleted by the scratch purge",
        f"rm -rf {venv} && uv sync",
    )
    # `uvmod venv list` applies the same rule (uvmod/envscan.py) and counts the same files.
    assert _listed(env, venv) == ("damaged", 2)
    # The fix, applied in the same shell session.
    site.shell(*steps, result["fix"])
    assert run_doctor(env, cwd=project).check("depot.project")["status"] == "ok"
    assert _listed(env, venv) == ("ok", 0)


def _listed(env: dict[str, str], venv: Path) -> tuple[str, int]:
    out = io.StringIO()
    assert venv_list(True, env, out) == 0
    (entry,) = [e for e in json.loads(out.getvalue())["environments"] if e["path"] == str(venv)]
    return entry["state"], entry["missing_files"]


def test_orphaned_environments_and_gc(site: Site) -> None:
    gone = site.project("old-thesis", "plain")
    kept = site.project("current", "plain")
    env = site.shell(
        "module load uv-hpc",
        # Twice: the wrapper writes the back-pointer when it first finds the environment uv made.
        f"cd {gone} && uv sync -q && uv sync -q",
        f"cd {kept} && uv sync -q && uv sync -q",
    ).environ
    for path in sorted(gone.rglob("*"), reverse=True):
        path.unlink() if not path.is_dir() else path.rmdir()
    gone.rmdir()
    report = run_doctor(env, cwd=kept)
    depot_path = site.scratch / "uv-venvs"
    result = report.assert_found(
        "depot.orphans",
        "warn",
        f"environments of deleted projects take space: 1 in {depot_path}, ",
        "uvmod venv gc --yes",
    )
    assert f"{site.env_of(gone).name} ({gone} is gone)" in result["finding"]
    assert venv_gc(False, env) == 0  # the fix
    assert not site.env_of(gone).exists() and site.env_of(kept).exists()
    assert run_doctor(env, cwd=kept).check("depot.orphans")["status"] == "ok"


def test_purge_risk_lists_old_environments_and_cache_entries(
    tmp_path: Path, build_prefix: BuildPrefix, wheelhouse: Path
) -> None:
    site = Site(tmp_path, build_prefix(site_toml(wheelhouse, "[paths]\npurge_days = 60\n")))
    old = site.project("old", "plain")
    fresh = site.project("fresh", "fake")
    env = site.shell(
        "module load uv-hpc",
        f"cd {old} && uv sync -q && uv sync -q",
        f"cd {fresh} && uv sync -q && uv sync -q",
    ).environ
    now = time.time()
    ninety_days_ago = now - 90 * DAY
    os.utime(site.env_of(old) / depot.LAST_USED, (ninety_days_ago, ninety_days_ago))
    cache = site.scratch / "uv"
    plain_entry = next(cache.glob("archive-v*/*/plain-1.0.dist-info")).parent
    os.utime(plain_entry, (ninety_days_ago, ninety_days_ago))
    report = run_doctor(env, cwd=fresh, now=now)
    result = report.assert_found(
        "purge.environments",
        "warn",
        f"environments not used within the purge age: 1 of 2 in {site.scratch}/uv-venvs not "
        f"used for more than 60 days: {site.env_of(old).name} ({old}, 90 days)",
        "`uv sync` rebuilds a purged one",
    )
    assert "fresh" not in result["finding"]
    entries = len(list(cache.glob("archive-v*/*")))
    report.assert_found(
        "purge.cache",
        "warn",
        f"cache entries not used within the purge age: 1 of {entries} unpacked wheels in {cache} (",
        "uv cache prune",
    )
    # Seen from 30 days after the old uses, nothing is past the age yet; and measuring the old
    # cache entry (a directory walk) did not make it look used.
    earlier = run_doctor(env, cwd=fresh, now=ninety_days_ago + 30 * DAY)
    assert earlier.check("purge.environments")["status"] == "ok"
    assert earlier.check("purge.cache")["status"] == "ok"
    assert os.stat(plain_entry).st_atime == ninety_days_ago


def test_no_purge_age_configured(site: Site) -> None:
    env = site.shell("module load uv-hpc").environ
    report: Report = run_doctor(env, cwd=site.tmp)
    for name in ("purge.environments", "purge.cache"):
        assert report.check(name)["finding"] == "no purge age configured (paths.purge_days)"


def test_purge_days_is_validated(tmp_path: Path) -> None:
    from uvmod.config import parse_config
    from uvmod.errors import ConfigError

    assert parse_config("[paths]\npurge_days = 60\n", "s.toml").paths.purge_days == 60
    assert parse_config("", "s.toml").paths.purge_days is None
    for bad, message, given in [
        ("0", "greater than or equal to 1", "0"),
        ('"60"', "a valid integer", "'60'"),
        ("true", "a valid integer", "true"),
    ]:
        with pytest.raises(ConfigError) as info:
            parse_config(f"[paths]\npurge_days = {bad}\n", "s.toml")
        assert info.value.messages == (
            f"s.toml: paths.purge_days: Input should be {message}, got {given}",
        )


def test_not_in_a_project(site: Site) -> None:
    env = site.shell("module load uv-hpc").environ
    outside = site.tmp / "nowhere"
    outside.mkdir()
    report = run_doctor(env, cwd=outside)
    assert report.check("depot.project")["finding"] == "not in a project"
    assert report.data["project"] is None
    make_project(outside / "p")
    assert (
        run_doctor(env, cwd=outside / "p")
        .check("depot.project")["finding"]
        .startswith("no environment yet; `uv sync` creates ")
    )


def test_stale_key_under_environment_modules(
    tmp_path: Path, build_prefix: BuildPrefix, em_tool: ModuleTool
) -> None:
    """Environment Modules cannot follow an MPI module loaded after uv-hpc, and `module reload`
    keeps the order: doctor gives `module switch uv-hpc`, which works."""
    prefix = build_prefix()
    env = base_env(tmp_path, {"SCRATCH": str(tmp_path / "scratch"), "RSNT_ARCH": "avx2"})
    steps = ["module load uv-hpc", "module load mpich"]

    def shell(*lines: str) -> dict[str, str]:
        return em_tool.run(
            list(lines), env, modulepath=[prefix / "modulefiles", em_tool.standins]
        ).environ

    report = run_doctor(shell(*steps), cwd=tmp_path)
    assert report.check("module.loaded")["finding"].startswith("uv-hpc/1.0 is loaded from")
    report.assert_found(
        "cache_key.current",
        "warn",
        "the cache key is stale: UVMOD_CACHE_KEY is unset, the loaded modules give "
        "'mpich/4.1.2'; the wrapper uses the loaded modules' key for each uv call and warns "
        "every time: Environment Modules follows only the MPI/CUDA modules loaded before uv-hpc",
        "module switch uv-hpc",
    )
    reloaded = run_doctor(shell(*steps, "module reload"), cwd=tmp_path)
    assert reloaded.check("cache_key.current")["status"] == "warn"  # why not reload
    fixed = run_doctor(shell(*steps, "module switch uv-hpc"), cwd=tmp_path)
    assert fixed.check("cache_key.current")["status"] == "ok"
    assert fixed.code == 0, fixed.text


def test_stale_key_under_the_hook_marker_fails(site: Site) -> None:
    """With the hook, the wrapper trusts the exported key: a key changed behind Lmod's back
    would make builds follow it, so that is a failure."""
    env = site.shell("module load mpich/4.1.2 uv-hpc").environ
    assert env["UVMOD_KEY_SOURCE"] == "hook"
    env["UVMOD_CACHE_KEY"] = "openmpi/4.1.5"
    report = run_doctor(env, cwd=site.tmp)
    assert report.code == 1
    report.assert_found(
        "cache_key.current",
        "fail",
        "UVMOD_CACHE_KEY is 'openmpi/4.1.5', the loaded modules give 'mpich/4.1.2'; uv builds "
        "follow the wrong key: the key was changed outside a module command",
        "module reload uv-hpc",
    )
