"""A tree rebuilt under users' feet, or killed mid-build, always loads.

Two configs that differ in every value a file of the tree carries (cache and depot paths, the
only-binary list, the key modules) are built alternately in a loop by a separate process, while
each Lmod and Environment Modules of the matrix load the module; and that loop is SIGKILLed at
random points (the seed is in the report of a failure: tests/support/seeds.py), and before each
step of the writer in turn. Figures are in docs/reliability.md#atomic-regeneration.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.modules import MODULE_TOOLS, ModuleTool, ShellResult, base_env
from uvmod.cli import main

CONFIG = """\
[paths]
cache = "/scratch-{tag}/uv"
venv_depot = "/scratch-{tag}/uv-venvs"
[wheelhouse]
only_binary = ["only{tag}"]
[cache_key]
modules = ["mod{tag}"]
"""

# How many kills the slow test makes; read at import, since tests/conftest.py clears UVMOD_*
# variables around each test.
KILLS = int(os.environ.get("UVMOD_KILLS", "200"))

# Builds A, B, A, B, ... until killed or until the stop file appears; counts builds in `done`.
LOOP = """\
import contextlib, io, sys
from pathlib import Path
from uvmod.cli import main
prefix, a, b, uv, ready, stop, done = sys.argv[1:]
Path(ready).touch()
n = 0
while not Path(stop).exists():
    for config in (a, b):
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["build-modulefiles", "--config", config, "--prefix", prefix, "--uv", uv])
        if code != 0:
            sys.exit(code)
        n += 1
Path(done).write_text(str(n))
"""

# Loads per shell while the tree is rebuilt, in each tool (and each Lmod with and without the hook).
LOOPS = 8
LOAD_LOOP = """\
for i in $(seq {n}); do
  module load uv-hpc || echo "LOADFAIL $i"
  echo "LOAD $UV_CACHE_DIR $UVMOD_VENV_DEPOT"
  uv --version >/dev/null || echo "UVFAIL $i"
  module unload uv-hpc
done
"""


@dataclass
class Tree:
    tmp: Path
    prefix: Path
    configs: dict[str, Path]
    states: dict[str, dict[str, bytes]]  # "a"/"b" -> relative path -> content

    def build(self, tag: str, *extra: str) -> int:
        argv = ["build-modulefiles", "--config", str(self.configs[tag]), "--prefix"]
        return main([*argv, str(self.prefix), "--uv", "/usr/bin/true", *extra])

    @contextmanager
    def rebuilding(self) -> Iterator[Path]:
        """Run the A/B rebuild loop in another process; yields the file it counts builds in."""
        ready, stop, done = (self.tmp / n for n in ("ready", "stop", "done"))
        for path in (ready, stop, done):
            path.unlink(missing_ok=True)
        proc = self.start_loop()
        try:
            yield done
        finally:
            stop.touch()
            assert proc.wait(timeout=60) == 0

    def start_loop(self, name: str = "") -> subprocess.Popen[bytes]:
        ready = self.tmp / f"ready{name}"
        ready.unlink(missing_ok=True)
        args = [str(self.prefix), str(self.configs["a"]), str(self.configs["b"]), "/usr/bin/true"]
        args += [str(ready), str(self.tmp / "stop"), str(self.tmp / f"done{name}")]
        proc = subprocess.Popen([sys.executable, "-c", LOOP, *args])
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.002)
        return proc


def _snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _temporaries(root: Path) -> list[Path]:
    return sorted(root.rglob("*uvmod-tmp*"))


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    configs = {}
    for tag in ("a", "b"):
        configs[tag] = tmp_path / f"{tag}.toml"
        configs[tag].write_text(CONFIG.format(tag=tag))
    t = Tree(tmp_path, tmp_path / "prefix", configs, {})
    for tag in ("b", "a"):  # ends on A
        assert t.build(tag) == 0
        t.states[tag] = _snapshot(t.prefix)
    changed = [p for p in t.states["a"] if t.states["a"][p] != t.states["b"][p]]
    # Every file differs between the two but SitePackage.lua, which only names the hooks file,
    # bin/uvx and bin/uvmod, which only name the wrapper and the Python running uvmod, and the
    # kernel launcher, which names the module only.
    assert sorted(set(t.states["a"]) - set(changed)) == [
        "lmod/SitePackage.lua",
        "uv-hpc/1.0/bin/uvmod",
        "uv-hpc/1.0/bin/uvx",
        "uv-hpc/1.0/libexec/uvmod-kernel",
    ]
    return t


EXPECTED = {f"/scratch-{tag}/uv /scratch-{tag}/uv-venvs" for tag in ("a", "b")}


def _loads(result: ShellResult) -> list[str]:
    assert "FAIL" not in result.stdout, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("LOAD ")]
    seen = {line.removeprefix("LOAD ") for line in lines}
    # One load sets both variables from one modulefile: never A's cache with B's depot.
    assert seen <= EXPECTED, seen
    return lines


def _env(tree: Tree) -> dict[str, str]:
    return base_env(tree.tmp, {"RSNT_ARCH": "generic"})


def test_loads_during_a_rebuild_loop_see_one_complete_state(tree: Tree) -> None:
    modulefiles = tree.prefix / "modulefiles"
    env = _env(tree)
    with tree.rebuilding() as done, ThreadPoolExecutor(6) as pool:
        jobs = []
        for tool in MODULE_TOOLS:
            tool.require()
            # Lmod with and without the hook (SitePackage.lua and the hooks are rewritten too).
            hooks: list[Path | None] = [None, tree.prefix / "lmod"] if tool.is_lmod else [None]
            for package_path in hooks:
                script = LOAD_LOOP.format(n=LOOPS)
                jobs.append(
                    pool.submit(
                        tool.run, script, env, modulepath=[modulefiles], package_path=package_path
                    )
                )
        results = [job.result() for job in jobs]
    loads = [line for result in results for line in _loads(result)]
    assert len(loads) == LOOPS * len(jobs) == LOOPS * 6
    builds = int(done.read_text())
    assert builds >= 4, "the rebuild loop hardly ran while the modules were loaded"
    assert _temporaries(tree.prefix) == []
    assert tree.build("a", "--check") == 0 or tree.build("b", "--check") == 0


def _kill_midway(tree: Tree, rng: random.Random, kills: int) -> tuple[int, int]:
    """SIGKILL the rebuild loop `kills` times; after each kill every file is A's or B's whole,
    and the tree loads (checked in real Lmod every few kills). Returns (kills that left a
    temporary file, temporaries left at the end)."""
    with_temporaries = 0
    for n in range(kills):
        proc = tree.start_loop()
        time.sleep(rng.uniform(0, 0.04))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        with_temporaries += bool(_temporaries(tree.prefix))
        now = {p: c for p, c in _snapshot(tree.prefix).items() if "uvmod-tmp" not in p}
        assert set(now) == set(tree.states["a"]), n
        for path, content in now.items():
            assert content in (tree.states["a"][path], tree.states["b"][path]), (n, path)
        if n % 5 == 0:  # in each tool of the matrix in turn
            tool = MODULE_TOOLS[n // 5 % len(MODULE_TOOLS)]
            tool.require()
            loaded = tool.run(
                ["module load uv-hpc"], _env(tree), modulepath=[tree.prefix / "modulefiles"]
            )
            assert (
                f"{loaded.environ['UV_CACHE_DIR']} {loaded.environ['UVMOD_VENV_DEPOT']}" in EXPECTED
            )
    return with_temporaries, len(_temporaries(tree.prefix))


def _one_more_build_repairs(tree: Tree, tools: Sequence[ModuleTool] = MODULE_TOOLS) -> None:
    assert tree.build("a") == 0
    assert _temporaries(tree.prefix) == []
    assert tree.build("a", "--check") == 0
    assert _snapshot(tree.prefix) == tree.states["a"]
    modulefiles = [tree.prefix / "modulefiles"]
    for tool in tools:
        tool.require()
        out = tool.run(["module load uv-hpc"], _env(tree), modulepath=modulefiles).environ
        assert out["UV_CACHE_DIR"] == "/scratch-a/uv"


def test_sigkill_at_random_points_leaves_a_tree_that_loads(tree: Tree, rng: random.Random) -> None:
    _kill_midway(tree, rng, 12)
    _one_more_build_repairs(tree)


@pytest.mark.slow
def test_many_sigkills(tree: Tree, rng: random.Random) -> None:
    with_temporaries, left = _kill_midway(tree, rng, KILLS)
    print(f"{KILLS} kills, {with_temporaries} left temporaries ({left} at the end)")
    _one_more_build_repairs(tree)


def _build_killed_at(tree: Tree, tag: str, point: int) -> bool:
    """Build `tag` in a forked child that SIGKILLs itself just before its `point`-th writer step
    (mkstemp, fsync, chmod, os.replace of any file); False when the build has fewer steps."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            steps = iter(range(1, 1_000_000))

            def kill_before(function: Any) -> Any:
                def step(*args: Any, **kwargs: Any) -> Any:
                    if next(steps) == point:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return function(*args, **kwargs)

                return step

            for name in ("fsync", "chmod", "replace"):
                setattr(os, name, kill_before(getattr(os, name)))
            tempfile.mkstemp = kill_before(tempfile.mkstemp)
            with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
                tree.build(tag)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def test_sigkill_at_every_step_of_the_writer(tree: Tree) -> None:
    """Random-time kills mostly land outside the few milliseconds of writing; this kills the
    build before each of its writer steps in turn, from the same starting tree (A, rebuilding
    to B), and repairs with one more build each time."""
    points = with_beside = 0
    while _build_killed_at(tree, "b", points + 1):
        points += 1
        now = _snapshot(tree.prefix)
        for path, content in now.items():
            if "uvmod-tmp" in path:
                continue
            assert content in (tree.states["a"][path], tree.states["b"][path]), (points, path)
        assert {p for p in now if "uvmod-tmp" not in p} == set(tree.states["a"])
        # A modulefile's temporary (a dot file, with the #%Module header for the Tcl one) sits
        # next to it: both tools must still load the real one. Elsewhere, every 4th point.
        beside = _temporaries(tree.prefix / "modulefiles")
        # Every tool of the matrix where a temporary sits beside a modulefile; elsewhere one tool
        # in turn, every 4th point.
        turn = MODULE_TOOLS[points % len(MODULE_TOOLS)]
        for tool in MODULE_TOOLS if beside else (turn,) * (points % 4 == 1):
            tool.require()
            modulefiles = [tree.prefix / "modulefiles"]
            loaded = tool.run(["module load uv-hpc"], _env(tree), modulepath=modulefiles).environ
            assert f"{loaded['UV_CACHE_DIR']} {loaded['UVMOD_VENV_DEPOT']}" in EXPECTED, beside
            assert loaded["LOADEDMODULES"] == "uv-hpc/1.0", beside
            with_beside += bool(beside)
        _one_more_build_repairs(tree, (turn,))
    # 9 of the 13 files change (not SitePackage.lua, bin/uvx, bin/uvmod, the kernel launcher):
    # 4 steps each.
    assert points == 9 * 4
    # 3 points each for the Lua and the Tcl modulefile, each loaded in every tool.
    assert with_beside == len(MODULE_TOOLS) * 6


def test_two_builds_of_one_tree_at_once_take_turns(tree: Tree) -> None:
    """Each build removes stale temporaries of its targets; the flock on the tree keeps it from
    removing the one another build is about to rename (which would fail that build)."""
    loops = [tree.start_loop("1"), tree.start_loop("2")]
    time.sleep(1)
    (tree.tmp / "stop").touch()
    assert [loop.wait(timeout=60) for loop in loops] == [0, 0]
    assert int((tree.tmp / "done1").read_text()) + int((tree.tmp / "done2").read_text()) >= 4
    assert _temporaries(tree.prefix) == []
    assert tree.build("a", "--check") == 0 or tree.build("b", "--check") == 0


def test_temporaries_of_a_killed_build_are_removed_and_no_others(tree: Tree) -> None:
    modulefile = tree.prefix / "modulefiles/uv-hpc/1.0.lua"
    stale = modulefile.parent / ".1.0.lua.k1ll3d.uvmod-tmp"
    stale.write_text("-- half a modulefile")
    other = modulefile.parent / ".site-notes.uvmod-tmp"  # not a temporary of our targets
    other.write_text("kept")
    assert tree.build("b") == 0
    assert not stale.exists() and other.read_text() == "kept"
