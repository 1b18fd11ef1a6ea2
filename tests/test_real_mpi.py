"""The real thing: the mpi4py 3.1.6 sdist built against Debian's MPICH and Open MPI.

The promise under test (docs/design.md#per-key-builds): a wheel compiled under one MPI is never
used under another, and the uv cache stays shared. The set-up is a site's: two MPI modules
(`mpich/4.0.2`, `openmpi/4.1.4`, tests/data/real-mpi) each with `family("mpi")`, their own
`mpicc` first on PATH and `MPICC` set; uv-hpc with `cache_key.packages = ["mpi4py"]`; the
mpi4py sdist and its build requirements in an offline wheelhouse that `.ci/run` fills with
`pip download`. In one shell per module tool: MPICH -> Open MPI -> MPICH in one project, then a
fresh project under each key. At each step `MPI.Get_library_version()`, the `DT_NEEDED` of the
installed `MPI.*.so` (read with binutils' readelf, independently of doctor's ELF reader) and the
builds uv ran. Then the cache: two built wheels, each linking its own MPI; every wheel unpacked
once. Then `uvmod doctor` on an environment whose mpi4py links the other MPI.

Cost: each build is a real compile of the real sdist against the real MPI, unoptimised
(`CFLAGS=-O0`, set by the test MPI modules): about 10 s instead of about 55 s here. Each key is
built once per module tool of the matrix (a session fixture: Lmod 8.6.19 and 8.7.60,
Environment Modules 5.2.0 and 5.5.0, about 20 s each here), and every test reads the results of
that one run.
"""

from __future__ import annotations

import collections
import json
import os
import shlex
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import tools
from tests.support.fakesdist import mpi_site_toml
from tests.support.modules import MODULE_TOOLS, ModuleTool, ShellResult, base_env
from tests.support.nodes import node
from uvmod import depot

REAL_MPI = Path(__file__).parent / "data" / "real-mpi"
MPICH = "mpich/4.0.2"
OPENMPI = "openmpi/4.1.4"
# How each MPI's Get_library_version() starts, and the library mpi4py's MPI.so links.
LIBRARY = {MPICH: "MPICH Version:\t4.0.2", OPENMPI: "Open MPI v4.1.4"}
NEEDED = {MPICH: "libmpich.so.12", OPENMPI: "libmpi.so.40"}

PROBE = """\
import json, sys
import mpi4py
from mpi4py import MPI

# Open MPI ends its version string with a NUL.
library = MPI.Get_library_version().split("\\0")[0].splitlines()[0].strip()
config = mpi4py.get_config()
print(json.dumps({"library": library, "extension": MPI.__file__, "prefix": sys.prefix,
                  "mpicc": config.get("mpicc")}))
"""

PYPROJECT = """\
[project]
name = "{name}"
version = "0.1"
requires-python = ">=3.10"
dependencies = ["mpi4py"]

[tool.uv]
package = false
"""


@dataclass(frozen=True)
class MpiShell:
    """A module tool of the matrix with the real MPI modules in its language, and uvmod's Lmod
    hook on LMOD_PACKAGE_PATH under Lmod."""

    tool: ModuleTool

    @property
    def name(self) -> str:
        return self.tool.id

    def run(self, script: Sequence[str], env: dict[str, str], prefix: Path) -> ShellResult:
        self.tool.require()
        modulefiles = REAL_MPI / ("lmod" if self.tool.is_lmod else "tcl")
        return self.tool.run(
            script,
            env,
            modulepath=[prefix / "modulefiles", modulefiles],
            package_path=prefix / "lmod" if self.tool.is_lmod else None,
            timeout=900,
        )


# Every module tool of the matrix (tests/support/modules.py). The same commands work in each
# (`module switch`; MPI loaded before uv-hpc, which Environment Modules needs to follow a
# switch: docs/design.md). The tests that build outside a swap sequence use the first.
MPI_SHELLS = {tool.id: MpiShell(tool) for tool in MODULE_TOOLS}
FIRST = MPI_SHELLS[MODULE_TOOLS[0].id]


@dataclass(frozen=True)
class Step:
    label: str
    project: str
    command: str | None  # the module command before `uv run`
    key: str  # the MPI loaded during the step


STEPS = (
    Step("mpich", "first", f"module load {MPICH} uv-hpc", MPICH),
    Step("swap to openmpi", "first", f"module switch mpich {OPENMPI}", OPENMPI),
    Step("swap back to mpich", "first", f"module switch openmpi {MPICH}", MPICH),
    Step("fresh project under mpich", "second", None, MPICH),
    Step("fresh project under openmpi", "second", f"module switch mpich {OPENMPI}", OPENMPI),
)


def readelf_needed(path: Path) -> list[str]:
    """DT_NEEDED entries by binutils (not by uvmod's reader, which doctor uses)."""
    out = subprocess.run(
        [tools.program("readelf"), "-d", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return [line.split("[", 1)[1].rstrip("]") for line in out.splitlines() if "(NEEDED)" in line]


def mpi_needed(path: Path) -> list[str]:
    return [lib for lib in readelf_needed(path) if lib.startswith("libmpi")]


@dataclass(frozen=True)
class Site:
    root: Path
    prefix: Path
    env: dict[str, str]

    @property
    def cache(self) -> Path:
        return self.root / "scratch" / "uv"

    @property
    def depot(self) -> Path:
        return self.root / "scratch" / "uv-venvs"

    def project(self, name: str) -> Path:
        path = self.root / "work" / name
        path.mkdir(parents=True, exist_ok=True)
        (path / "pyproject.toml").write_text(PYPROJECT.format(name=name))
        return path

    def environment(self, project: Path, key: str) -> Path:
        return self.depot / depot.env_name(os.path.realpath(project), key, node())


def make_site(root: Path) -> Site:
    """A module tree whose wheelhouse is the mpi4py one, and a clean environment for it."""
    tools.real_mpi()
    wheelhouse = tools.mpi4py_wheelhouse()
    root.mkdir(parents=True, exist_ok=True)
    (root / "wheelhouse").mkdir()
    (root / "wheelhouse" / "generic").symlink_to(wheelhouse)
    config = root / "site.toml"
    config.write_text(
        mpi_site_toml(root / "wheelhouse", '[python]\ndownloads = "never"', package="mpi4py")
    )
    prefix = root / "prefix"
    build = ["build-modulefiles", "--config", str(config), "--prefix", str(prefix)]
    subprocess.run(
        [sys.executable, "-m", "uvmod", *build, "--uv", tools.real_uv()],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root)},
        check=True,
        capture_output=True,
    )
    (root / "probe.py").write_text(PROBE)
    env = base_env(
        root,
        {
            "SCRATCH": str(root / "scratch"),
            "RSNT_ARCH": "generic",
            "UV_PYTHON": sys.executable,
            "UV_OFFLINE": "1",
            "UV_NO_PROGRESS": "1",
        },
    )
    return Site(root, prefix, env)


def uv_run_line(site: Site, name: str) -> str:
    """`uv run` of the probe; its output, stderr, exit status and seconds go to out/<name>.*"""
    out = shlex.quote(str(site.root / "out" / name))
    probe = shlex.quote(str(site.root / "probe.py"))
    return (
        f"_t=$EPOCHREALTIME; uv run python {probe} >{out}.json 2>{out}.err; "
        f'echo "$? $_t $EPOCHREALTIME" >{out}.rc'
    )


@dataclass(frozen=True)
class StepResult:
    step: Step
    probe: dict[str, str]
    stderr: str
    seconds: float

    @property
    def builds(self) -> int:
        return self.stderr.count("Built mpi4py")

    @property
    def needed(self) -> list[str]:
        return mpi_needed(Path(self.probe["extension"]))


def read_step(site: Site, name: str, step: Step) -> StepResult:
    base = site.root / "out" / name
    stderr = Path(f"{base}.err").read_text()
    code, start, end = Path(f"{base}.rc").read_text().split()
    assert code == "0", f"{step.label}: uv run failed:\n{stderr}"
    probe = json.loads(Path(f"{base}.json").read_text().splitlines()[-1])
    return StepResult(step, probe, stderr, float(end) - float(start))


@dataclass(frozen=True)
class SwapRun:
    tool: MpiShell
    site: Site
    projects: dict[str, Path]
    steps: list[StepResult]
    doctor_other: tuple[int, dict[str, object]]  # the mpich environment under openmpi
    doctor_own: tuple[int, dict[str, object]]  # the openmpi environment under openmpi


def _doctor(site: Site, name: str) -> tuple[int, dict[str, object]]:
    base = site.root / "out" / name
    return int(Path(f"{base}.rc").read_text()), json.loads(Path(f"{base}.json").read_text())


@pytest.fixture(scope="session", params=list(MPI_SHELLS))
def swap_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SwapRun:
    tool = MPI_SHELLS[request.param]
    site = make_site(tmp_path_factory.mktemp(f"real-mpi-{tool.name}"))
    (site.root / "out").mkdir()
    projects = {name: site.project(name) for name in ("first", "second")}
    lines = []
    for n, step in enumerate(STEPS):
        lines.append(f"cd {shlex.quote(str(projects[step.project]))}")
        if step.command:
            lines.append(step.command)
        lines.append(uv_run_line(site, str(n)))
    # The first project's MPICH environment, looked at while Open MPI is loaded.
    doctor = shlex.join([sys.executable, "-m", "uvmod", "doctor", "--json"])
    out = site.root / "out"
    other = site.environment(projects["first"], MPICH)
    lines += [
        f"cd {shlex.quote(str(projects['first']))}",
        f"UV_PROJECT_ENVIRONMENT={shlex.quote(str(other))} {doctor} >{out}/doctor-other.json; "
        f"echo $? >{out}/doctor-other.rc",
        f"{doctor} >{out}/doctor-own.json; echo $? >{out}/doctor-own.rc",
    ]
    tool.run(lines, site.env, site.prefix)
    steps = [read_step(site, str(n), step) for n, step in enumerate(STEPS)]
    return SwapRun(
        tool,
        site,
        projects,
        steps,
        _doctor(site, "doctor-other"),
        _doctor(site, "doctor-own"),
    )


def test_each_step_runs_the_loaded_mpi(swap_run: SwapRun) -> None:
    seen = [(s.step.label, s.probe["library"]) for s in swap_run.steps]
    assert [(label, LIBRARY[s.key]) for (label, _), s in zip(seen, STEPS, strict=True)] == [
        (label, library[: len(LIBRARY[s.key])])
        for (label, library), s in zip(seen, STEPS, strict=True)
    ], seen


def test_the_installed_extension_links_the_loaded_mpi(swap_run: SwapRun) -> None:
    for result in swap_run.steps:
        assert result.needed == [NEEDED[result.step.key]], result.step.label
        # mpi4py records the compiler it was built with: the loaded module's own mpicc.
        family = result.step.key.split("/")[0]
        assert result.probe["mpicc"] == str(REAL_MPI / "bin" / family / "mpicc")


def test_two_real_builds_and_the_swap_back_served_from_the_cache(swap_run: SwapRun) -> None:
    assert [s.builds for s in swap_run.steps] == [1, 1, 0, 0, 0], [s.stderr for s in swap_run.steps]
    # Both builds compiled: one source tree for the sdist, one build directory per key in it,
    # each with the extension compiled against its MPI.
    (source,) = swap_run.site.cache.glob("sdists-v*/*/*/mpi4py/3.1.6/*/src")
    build_dirs = sorted(p.name for p in (source / "build").iterdir())
    assert build_dirs == ["uvmod-k-mpich@4.0.2", "uvmod-k-openmpi@4.1.4"]
    for key in (MPICH, OPENMPI):
        built = source / "build" / f"uvmod-k-{key.replace('/', '@')}"
        (extension,) = built.glob("lib.*/mpi4py/MPI.*.so")
        assert mpi_needed(extension) == [NEEDED[key]]
        assert list(built.glob("temp.*/src/MPI.o")), f"nothing compiled in {built}"


def test_a_fresh_project_gets_each_keys_wheel_from_the_cache(swap_run: SwapRun) -> None:
    fresh = swap_run.steps[3:]
    assert [(s.builds, s.needed) for s in fresh] == [(0, [NEEDED[MPICH]]), (0, [NEEDED[OPENMPI]])]
    # In the fresh project's own environments, not the first project's.
    for result in fresh:
        expected = swap_run.site.environment(swap_run.projects["second"], result.step.key)
        assert result.probe["prefix"] == str(expected)


def test_both_cached_wheels_link_their_own_mpi(swap_run: SwapRun, tmp_path: Path) -> None:
    wheels = sorted(swap_run.site.cache.glob("sdists-v*/**/mpi4py-3.1.6-*.whl"))
    assert len(wheels) == 2, wheels
    linked = []
    for n, wheel in enumerate(wheels):
        with zipfile.ZipFile(wheel) as archive:
            (member,) = [m for m in archive.namelist() if m.startswith("mpi4py/MPI.c")]
            target = tmp_path / str(n) / "MPI.so"
            target.parent.mkdir()
            target.write_bytes(archive.read(member))
        linked.append(mpi_needed(target))
    assert sorted(linked) == sorted([[NEEDED[MPICH]], [NEEDED[OPENMPI]]])


def test_one_shared_cache_unpacks_each_wheel_once(swap_run: SwapRun) -> None:
    names = collections.Counter(
        p.name.split("-")[0] for p in swap_run.site.cache.glob("archive-v*/*/*.dist-info")
    )
    # The two mpi4py wheels (one per key), and the build requirements once for both builds.
    assert names == {"mpi4py": 2, "setuptools": 1, "wheel": 1, "packaging": 1}
    # Nothing else made a cache of its own.
    assert sorted(p.name for p in (swap_run.site.root / "scratch").iterdir()) == [
        "uv",
        "uv-venvs",
    ]


def _check(report: dict[str, object], check_id: str) -> dict[str, str]:
    checks = report["checks"]
    assert isinstance(checks, list)
    (found,) = [c for c in checks if c["check"] == check_id]
    return dict(found)


def test_doctor_flags_an_environment_linking_the_other_mpi(swap_run: SwapRun) -> None:
    code, report = swap_run.doctor_other
    assert code == 1
    linked = _check(report, "cache_key.linked")
    assert linked["status"] == "fail"
    assert (
        f"mpi4py 3.1.6 in this environment links {NEEDED[MPICH]} but the loaded MPI is {OPENMPI} "
        f"(its mpicc links {NEEDED[OPENMPI]})"
    ) in linked["finding"]
    assert linked["doc"] == (
        "docs/troubleshooting.md#a-package-links-another-mpi-or-cuda-than-the-one-loaded"
    )
    # The environment Open MPI's key selects links Open MPI: nothing to report.
    _, own = swap_run.doctor_own
    assert _check(own, "cache_key.linked")["status"] == "ok"


def test_two_keys_building_one_sdist_at_once(tmp_path: Path) -> None:
    """Two shells, one under each MPI, start the first build of the sdist at the same moment,
    in one cache. uv builds one sdist at a time (it locks the sdist's cache entry), each in its
    key's build directory: both get a wheel linking their own MPI."""
    site = make_site(tmp_path / "site")
    (site.root / "out").mkdir()
    one, two = site.project("one"), site.project("two")
    FIRST.run(
        [
            f"module load {MPICH} uv-hpc",
            f"(cd {shlex.quote(str(one))} && {uv_run_line(site, 'one')}) &",
            f"module switch mpich {OPENMPI}",
            f"(cd {shlex.quote(str(two))} && {uv_run_line(site, 'two')}) &",
            "wait",
        ],
        site.env,
        site.prefix,
    )
    first = read_step(site, "one", STEPS[0])
    second = read_step(site, "two", STEPS[1])
    assert first.probe["library"].startswith(LIBRARY[MPICH]) and first.needed == [NEEDED[MPICH]]
    assert second.probe["library"].startswith(LIBRARY[OPENMPI])
    assert second.needed == [NEEDED[OPENMPI]]
    assert (first.builds, second.builds) == (1, 1)


def test_without_a_build_directory_per_key_uv_packs_the_first_mpi(tmp_path: Path) -> None:
    """The upstream problem, with plain uv and the key alone in [extra-build-variables]
    (https://github.com/astral-sh/uv/issues/16850): the Open MPI key's build finds MPICH's
    objects in the shared source tree and compiles nothing. Its environment records the right
    key but links MPICH: what only doctor's look at the linked libraries catches."""
    site = make_site(tmp_path / "site")
    project = site.project("plain")
    probe = str(site.root / "probe.py")
    envs = {}
    for key in (MPICH, OPENMPI):
        family = key.split("/")[0]
        etc = site.root / f"etc-{family}"
        (etc / "uv").mkdir(parents=True)
        (etc / "uv" / "uv.toml").write_text(
            f'no-index = true\nfind-links = ["{site.root / "wheelhouse" / "generic"}"]\n'
            f'[extra-build-variables]\nmpi4py = {{ UVMOD_CACHE_KEY = "{key}" }}\n'
        )
        bin_dir = REAL_MPI / "bin" / family
        envs[key] = site.root / f"env-{family}"
        proc = subprocess.run(
            [tools.real_uv(), "run", "python", probe],
            cwd=project,
            env={
                **site.env,
                "PATH": f"{bin_dir}:/usr/bin:/bin",
                "MPICC": str(bin_dir / "mpicc"),
                "CFLAGS": "-O0",
                "OMPI_ALLOW_RUN_AS_ROOT": "1",
                "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                "XDG_CONFIG_DIRS": str(etc),
                "UV_CACHE_DIR": str(site.cache),
                "UV_PROJECT_ENVIRONMENT": str(envs[key]),
            },
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
        assert "Built mpi4py" in proc.stderr
        assert json.loads(proc.stdout.splitlines()[-1])["library"].startswith(LIBRARY[MPICH])
    (extension,) = envs[OPENMPI].glob("lib/python*/site-packages/mpi4py/MPI.*.so")
    assert mpi_needed(extension) == [NEEDED[MPICH]]
    # doctor, in Lmod with Open MPI loaded, on the environment built under Open MPI's key.
    doctor = shlex.join([sys.executable, "-m", "uvmod", "doctor", "--json"])
    result = FIRST.run(
        [
            f"module load {OPENMPI} uv-hpc",
            f"cd {shlex.quote(str(project))}",
            f"UV_PROJECT_ENVIRONMENT={shlex.quote(str(envs[OPENMPI]))} {doctor}; echo rc=$?",
        ],
        site.env,
        site.prefix,
    )
    text, _, code = result.stdout.rpartition("rc=")
    assert code.strip() == "1"
    report = json.loads(text)
    assert _check(report, "cache_key.builds")["status"] == "ok"  # the recorded key is right
    linked = _check(report, "cache_key.linked")
    assert linked["status"] == "fail"
    assert f"links {NEEDED[MPICH]} but the loaded MPI is {OPENMPI}" in linked["finding"]
