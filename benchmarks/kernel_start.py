"""What a `uvmod kernel install` kernel costs at start, and what copying a tool costs.

    python benchmarks/kernel_start.py [--runs N] [--uv /path/to/uv]

Builds a throw-away uv-hpc tree whose site wheelhouse holds jupyter_client's and ipykernel's
wheels ($UVMOD_JUPYTER_WHEELS, else jupyter-wheels in $UVMOD_CI_CACHE or ~/.cache/uvmod-ci:
`.ci/run` downloads them), a project depending on ipykernel, and times with jupyter_client,
from the start of the kernel to its reply to kernel_info (what a notebook waits for):
  - ipykernel from the project's environment, as `ipykernel install` writes it (the baseline)
  - the uvmod kernel (real Lmod: init, module load, then `uv run` through the wrapper)
  - the uvmod kernel after its environment was deleted (recreated from the warm cache)
and `uv tool install ipython` from the same wheelhouse with `--link-mode hardlink` (tools and
cache on one filesystem) against `--link-mode copy` (what uv does across filesystems), with the
files and bytes of the tool's environment. Prints a Markdown table; no network.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LMOD_PKG = Path("/usr/share/lmod/lmod")
WHEELS = Path(
    os.environ.get("UVMOD_JUPYTER_WHEELS")
    or Path(
        os.environ.get("UVMOD_CI_CACHE")
        or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "uvmod-ci"
    )
    / "jupyter-wheels"
)
PROJECT = """\
[project]
name = "bench"
version = "0"
requires-python = ">={major}.{minor}"
dependencies = ["ipykernel"]

[tool.uv]
environments = ["sys_platform == 'linux' and implementation_name == 'cpython'"]
"""


def _site(root: Path, real_uv: str) -> Path:
    from uvmod.cli import main as uvmod_main

    generic = root / "wheelhouse" / "generic"
    generic.mkdir(parents=True)
    for wheel in WHEELS.glob("*.whl"):
        (generic / wheel.name).symlink_to(wheel)
    config = root / "site.toml"
    config.write_text(
        f'[wheelhouse]\nroot = "{root / "wheelhouse"}"\npypi = false\n'
        '[wheelhouse.arch]\navx512 = ["generic"]\navx2 = ["generic"]\ngeneric = ["generic"]\n'
        '[python]\ndownloads = "never"\n'
    )
    prefix = root / "prefix"
    argv = ["build-modulefiles", "--config", str(config), "--prefix", str(prefix)]
    with open(os.devnull, "w") as quiet:
        saved, sys.stdout = sys.stdout, quiet
        try:
            status = uvmod_main([*argv, "--uv", real_uv])
        finally:
            sys.stdout = saved
    if status != 0:
        sys.exit("building the tree failed")
    return prefix


def _python_module(root: Path) -> Path:
    """python/X.Y putting this interpreter first on PATH, as a site's Python module does."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    interpreter = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    bin_dir = root / "python-bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(interpreter)
    modules = root / "python-modules" / "python"
    modules.mkdir(parents=True)
    (modules / f"{version}.lua").write_text(f'prepend_path("PATH", "{bin_dir}")\n')
    return root / "python-modules"


def _start(name: str, env: dict[str, str], log: Path) -> float:
    from jupyter_client.manager import start_new_kernel

    started = time.perf_counter()
    with log.open("a") as err:
        km, kc = start_new_kernel(kernel_name=name, startup_timeout=300, env=env, stderr=err)
    elapsed = time.perf_counter() - started
    kc.stop_channels()
    km.shutdown_kernel()
    return elapsed


def _tool_install(uv: str, root: Path, mode: str, wheelhouse: Path) -> tuple[float, int, int, int]:
    """Seconds, files, files with an inode of their own (not hardlinked from the cache), and
    their bytes."""
    tools = root / f"tools-{mode}"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(root / "home"),
        "UV_CACHE_DIR": str(root / "cache"),
        "UV_TOOL_DIR": str(tools),
        "UV_TOOL_BIN_DIR": str(root / f"bin-{mode}"),
    }
    argv = [uv, "tool", "install", "--offline", "--no-index", "--find-links", str(wheelhouse)]
    argv += ["--python", sys.executable, "--link-mode", mode, "ipython"]
    started = time.perf_counter()
    subprocess.run(argv, env=env, check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    files = own = size = 0
    for dirpath, _, filenames in os.walk(tools):
        for name in filenames:
            stat = os.lstat(os.path.join(dirpath, name))
            files += 1
            if stat.st_nlink == 1:  # hardlinks from the cache cost no new inode or block
                own += 1
                size += stat.st_size
    shutil.rmtree(tools)
    shutil.rmtree(root / f"bin-{mode}")
    return elapsed, files, own, size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--uv", help="the real uv (default: the one next to this Python)")
    args = parser.parse_args(argv)
    if not any(WHEELS.glob("ipykernel-*.whl")) or not LMOD_PKG.is_dir():
        print(f"skipped: needs Lmod ({LMOD_PKG}) and the jupyter wheels in {WHEELS} (.ci/run)")
        return 0
    real_uv = args.uv or str(Path(sys.executable).parent / "uv")
    from uvmod import depot
    from uvmod.archdetect import detect
    from uvmod.commands.kernel import InstallRequest, install
    from uvmod.config import parse_config
    from uvmod.moduledesc import arch_detection

    with tempfile.TemporaryDirectory(prefix="uvmod-kernel-bench-") as tmp_text:
        root = Path(tmp_text)
        prefix = _site(root, real_uv)
        python_modules = _python_module(root)
        project = root / "work" / "bench"
        project.mkdir(parents=True)
        (project / "pyproject.toml").write_text(
            PROJECT.format(major=sys.version_info.major, minor=sys.version_info.minor)
        )
        os.environ["JUPYTER_DATA_DIR"] = str(root / "jupyter")
        os.environ["JUPYTER_RUNTIME_DIR"] = str(root / "runtime")
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        loaded = {
            "UVMOD_HOME": str(prefix / "uv-hpc" / "1.0"),
            "MODULEPATH": f"{prefix}/modulefiles:{python_modules}",
            "LMOD_PKG": str(LMOD_PKG),
            "JUPYTER_DATA_DIR": str(root / "jupyter"),
        }
        request = InstallRequest("nb", None, project, [f"python/{version}"], None, None)
        with open(os.devnull, "w") as quiet:
            saved, sys.stdout = sys.stdout, quiet
            try:
                install(loaded, request)
            finally:
                sys.stdout = saved
        scratch = root / "scratch"
        env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "SCRATCH": str(scratch)}
        log = root / "kernel.log"
        # The node type the kernel's `module load uv-hpc` detects here (default site rules).
        found = detect(arch_detection(parse_config("", "site.toml")), env)
        node = depot.Node(found.arch, found.machine)
        venv = scratch / "uv-venvs" / depot.env_name(project, "", node)
        _start("nb", env, log)  # creates the environment, warms the page cache
        baseline = root / "jupyter" / "kernels" / "plain"
        baseline.mkdir()
        plain = [f"{venv}/bin/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        spec = {"argv": plain, "display_name": "plain", "language": "python"}
        (baseline / "kernel.json").write_text(json.dumps(spec))
        _start("plain", env, log)

        times: dict[str, list[float]] = {"plain": [], "uvmod": [], "recreated": []}
        for _ in range(args.runs):
            times["plain"].append(_start("plain", env, log))
            times["uvmod"].append(_start("nb", env, log))
            shutil.rmtree(venv)
            times["recreated"].append(_start("nb", env, log))
        packages = len(list(venv.glob("lib/python*/site-packages/*.dist-info")))
        wheelhouse = prefix.parent / "wheelhouse" / "generic"
        _tool_install(real_uv, root, "hardlink", wheelhouse)  # fills the cache
        tool = {
            mode: _tool_install(real_uv, root, mode, wheelhouse) for mode in ("hardlink", "copy")
        }

    median = {k: statistics.median(v) * 1000 for k, v in times.items()}
    print(f"# kernel start to kernel_info reply, {args.runs} runs (median)")
    print(
        f"{platform.node()} · {platform.platform()} · Python {platform.python_version()} · "
        f"load {os.getloadavg()[0]:.2f}"
    )
    print()
    print("| kernel | start | vs plain |")
    print("| --- | ---: | ---: |")
    print(
        f"| ipykernel from the environment (`ipykernel install`) | {median['plain']:.0f} ms | - |"
    )
    for key, label in [
        ("uvmod", "uvmod kernel (Lmod, module load, uv run)"),
        ("recreated", f"uvmod kernel, environment deleted ({packages} packages recreated)"),
    ]:
        extra = median[key] - median["plain"]
        print(f"| {label} | {median[key]:.0f} ms | {extra:+.0f} ms |")
    print()
    print("| `uv tool install ipython` | time | files | new inodes | new bytes |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for mode, (elapsed, files, own, size) in tool.items():
        print(
            f"| `--link-mode {mode}` | {elapsed * 1000:.0f} ms | {files} | {own} "
            f"| {size / 1e6:.1f} MB |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
