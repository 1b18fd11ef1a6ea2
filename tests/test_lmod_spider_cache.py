"""Lmod's system spider cache over a modulepath holding uv-hpc, on each Lmod of the matrix.

Large sites build the cache with `update_lmod_system_cache_files` (from the cron job of the lmod
package) and point Lmod at it with an lmodrc.lua `scDescriptT` entry; `module avail` (not its
terse form) and `module spider` then read the cache instead of the directories, and so do loads
with LMOD_CACHED_LOADS=yes. The modulefile is evaluated in Lmod's spider mode while the cache is
built, in the cron job's environment: it must read no cpuinfo there and need no user variable.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BuildPrefix
from tests.support import tools
from tests.support.cpuprobe import CpuinfoProbe
from tests.support.keysteps import SITES, read_states, record_line, source_key_check
from tests.support.modules import ModuleTool, base_env, user_visible

TEST_MODULES = Path(__file__).parent / "data" / "modulefiles"
# A path without default: set for users by the site's profile, never in the cron job's
# environment (and not in `module spider`'s of a user who has not set it either).
SITE = SITES["by-family"].toml + '[paths]\ncache = "${PROJECT_SCRATCH}/uv"\n'


class SpiderCache:
    """A modulepath (uv-hpc's prefix and a copy of the stand-ins) and its system cache."""

    def __init__(self, tmp_path: Path, prefix: Path, tool: ModuleTool) -> None:
        self.tmp = tmp_path
        self.tool = tool
        self.standins = tmp_path / "standins"
        shutil.copytree(TEST_MODULES, self.standins)
        self.modulepath = [prefix / "modulefiles", self.standins]
        self.dir = tmp_path / "lmod-cache"
        self.timestamp = self.dir / "timestamp"
        self.lmodrc = tmp_path / "lmodrc.lua"
        self.lmodrc.write_text(
            f'scDescriptT = {{ {{ dir = "{self.dir}", timestamp = "{self.timestamp}" }} }}\n'
        )

    def update(self, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run the Lmod's own update_lmod_system_cache_files as a cron job would (a small
        environment, no HOME, no module loaded)."""
        script = tools.lmod_libexec(self.tool.version) / "update_lmod_system_cache_files"
        return subprocess.run(
            [
                "bash",
                str(script),
                "-d",
                str(self.dir),
                "-t",
                str(self.timestamp),
                ":".join(str(p) for p in self.modulepath),
            ],
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def env(self, *, cached: bool, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = base_env(self.tmp, {"PROJECT_SCRATCH": str(self.tmp / "project"), **(extra or {})})
        del env["LMOD_IGNORE_CACHE"]
        if cached:
            env["LMOD_RC"] = str(self.lmodrc)
        else:
            env["LMOD_IGNORE_CACHE"] = "1"
        return env

    def add_canary(self) -> None:
        """A module that appears after the cache was built: the cache does not know it."""
        (self.standins / "canary").mkdir()
        (self.standins / "canary" / "1.0.lua").write_text('whatis("Name: canary")\n')


@pytest.fixture
def cache(tmp_path: Path, build_prefix: BuildPrefix, lmod_tool: ModuleTool) -> SpiderCache:
    return SpiderCache(tmp_path, build_prefix(SITE), lmod_tool)


def test_the_cache_builds_without_output_and_reads_no_cpuinfo(
    cache: SpiderCache, tmp_path: Path
) -> None:
    with CpuinfoProbe(tmp_path) as probe:
        result = cache.update({"UVMOD_CPUINFO": str(probe.path)})
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert not probe.opened
    spider_t = (cache.dir / "spiderT.lua").read_text()
    assert "uv-hpc/1.0" in spider_t
    assert "uv, the Python package and project manager" in spider_t
    # The literal PATH entry is still recorded for Lmod's reverse map.
    assert f'"{cache.modulepath[0].parent}/uv-hpc/1.0/bin"' in spider_t


def test_avail_and_spider_read_the_cache_and_show_uv_hpc(
    cache: SpiderCache, tmp_path: Path
) -> None:
    assert cache.update().returncode == 0
    cache.add_canary()
    with CpuinfoProbe(tmp_path) as probe:
        env = cache.env(cached=True, extra={"UVMOD_CPUINFO": str(probe.path)})
        env.pop("PROJECT_SCRATCH")  # `module spider` needs nothing of the user's environment
        result = cache.tool.run(
            [
                "module avail 2> avail.txt",
                "module spider uv-hpc 2> spider.txt",
                "module spider uv-hpc/1.0 2> spider-full.txt",
            ],
            env,
            modulepath=cache.modulepath,
            cwd=tmp_path,
        )
    assert not probe.opened
    avail = (tmp_path / "avail.txt").read_text()
    assert "uv-hpc/1.0" in avail and "mpich/4.1.2" in avail
    assert "canary" not in avail  # the listing came from the cache, not from the directories
    spider = (tmp_path / "spider.txt").read_text()
    assert "uv-hpc/1.0" in spider
    assert "uv, the Python package and project manager, set up for this cluster" in spider
    spider_full = (tmp_path / "spider-full.txt").read_text()
    assert "module load uv-hpc/1.0" in spider_full
    for text in (avail, spider, spider_full, result.stderr):
        assert "PROJECT_SCRATCH" not in text and "error" not in text.lower(), text
    assert result.stdout == ""
    # Without the cache the same command walks the directories and sees the canary.
    walked = cache.tool.run(
        ["module avail 2> walked.txt"],
        cache.env(cached=False),
        modulepath=cache.modulepath,
        cwd=tmp_path,
    )
    assert walked.returncode == 0 and "canary" in (tmp_path / "walked.txt").read_text()


STEPS = [
    "module load mpich/4.1.2 uv-hpc",
    "module swap mpich openmpi",
    "module load cuda/12.2",
    "module unload cuda",
    "module load mpich/4.1.2",
    "module unload uv-hpc",
]


@pytest.mark.parametrize("cached_loads", ["no", "yes"])
def test_loading_with_the_cache_behaves_as_without(
    cache: SpiderCache, tmp_path: Path, build_prefix: BuildPrefix, cached_loads: str
) -> None:
    """With LMOD_CACHED_LOADS=yes Lmod finds the modulefiles through the cache too."""
    assert cache.update().returncode == 0
    prefix = cache.modulepath[0].parent
    runs = []
    for cached in (False, True):
        script = [source_key_check(tmp_path)]
        for command in STEPS:
            script += [f"{command} || exit 3", record_line(tmp_path, SITES["by-family"])]
        (tmp_path / "trace").unlink(missing_ok=True)
        result = cache.tool.run(
            script,
            cache.env(cached=cached, extra={"LMOD_CACHED_LOADS": cached_loads}),
            modulepath=cache.modulepath,
            package_path=prefix / "lmod",
        )
        environ = {
            k: v for k, v in user_visible(result.environ).items() if not k.startswith("LMOD_")
        }
        runs.append((read_states(tmp_path), environ, result.stdout))
    (plain_states, plain_env, _), (cached_states, cached_env, stdout) = runs
    assert cached_states == plain_states
    assert [s.key for s in cached_states] == [
        "mpich/4.1.2",
        "openmpi/4.1.5",
        "cuda/12.2,openmpi/4.1.5",
        "openmpi/4.1.5",
        "mpich/4.1.2",
        None,
    ]
    assert cached_env == plain_env
    assert stdout == ""
