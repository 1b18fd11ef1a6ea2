"""A site whose wheelhouse serves ipykernel offline, a `python` module, and kernels started the
way Jupyter starts them (jupyter_client's KernelManager, in this suite's own environment)."""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support import tools

# uv locks a project for every platform unless told otherwise, and the wheelhouse holds this
# platform's wheels only (appnope is for macOS, cffi for PyPy): an HPC project says where it
# runs (docs/user-guide.md#jupyter).
PROJECT_TOML = """\
[project]
name = "notebooks"
version = "0"
requires-python = ">={major}.{minor}"
dependencies = ["ipykernel"]

[tool.uv]
environments = ["sys_platform == 'linux' and implementation_name == 'cpython'"]
"""


def site_toml(wheelhouse: Path) -> str:
    """Wheelhouse only (`pypi = false`), every architecture on one directory, no downloads of
    Python: nothing can reach the network."""
    return (
        f'[wheelhouse]\nroot = "{wheelhouse}"\npypi = false\n'
        '[wheelhouse.arch]\navx512 = ["generic"]\navx2 = ["generic"]\ngeneric = ["generic"]\n'
        '[python]\npreference = "only-system"\ndownloads = "never"\n'
    )


def make_wheelhouse(root: Path) -> Path:
    """root/generic holding (links to) the downloaded jupyter wheels."""
    generic = root / "generic"
    generic.mkdir(parents=True)
    for wheel in sorted(tools.jupyter_wheels().glob("*.whl")):
        (generic / wheel.name).symlink_to(wheel)
    return root


def python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def make_python_modules(root: Path) -> Path:
    """A modulepath with `python/X.Y` (Lua and Tcl), like a site's Python module: it puts this
    suite's base interpreter first on PATH, the one the wheels were downloaded for."""
    version = python_version()
    interpreter = os.path.realpath(getattr(sys, "_base_executable", sys.executable))
    bin_dir = root / "python-bin"
    bin_dir.mkdir(parents=True)
    for name in ("python3", f"python{version}"):
        (bin_dir / name).symlink_to(interpreter)
    lua = root / "lua" / "python"
    lua.mkdir(parents=True)
    (lua / f"{version}.lua").write_text(f'prepend_path("PATH", "{bin_dir}")\n')
    tcl = root / "tcl" / "python"
    tcl.mkdir(parents=True)
    (tcl / version).write_text(f'#%Module\nprepend-path PATH "{bin_dir}"\n')
    return root


def write_project(directory: Path) -> Path:
    directory.mkdir(parents=True)
    (directory / "pyproject.toml").write_text(
        PROJECT_TOML.format(major=sys.version_info.major, minor=sys.version_info.minor)
    )
    return directory


def minimal_env(home: Path, scratch: Path) -> dict[str, str]:
    """What a kernel inherits from a Jupyter server started without a login shell: no module
    function, no MODULEPATH, no loaded module."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "SCRATCH": str(scratch), "LANG": "C.UTF-8"}


def em_init_script(path: Path, version: str) -> Path:
    """Environment Modules' own init/sh from the unpacked package, with its two install paths
    (tclsh, modulecmd.tcl) pointed at where they are here: the file a site's kernel sources."""
    modulecmd = tools.modulecmd_tcl(version)
    tclsh = tools.program("tclsh")
    init = tools.EM_ROOTS[version] / "usr" / "share" / "modules" / "init" / "sh"
    tools.need(init.is_file(), f"no {init} in the unpacked Environment Modules")
    text = init.read_text()
    for installed, here in [
        ("/usr/bin/tclsh8.6", tclsh),
        ("/usr/lib/x86_64-linux-gnu/modulecmd.tcl", str(modulecmd)),
    ]:
        assert installed in text, installed
        text = text.replace(installed, here)
    path.write_text(text)
    return path


@contextmanager
def running_kernel(name: str, env: dict[str, str], stderr: Path) -> Iterator[tuple[Any, Any]]:
    """A kernel started and shut down by jupyter_client, as a Jupyter server does; yields its
    manager and client. Its stderr (what Jupyter logs) is appended to `stderr`."""
    from jupyter_client.manager import start_new_kernel

    with stderr.open("a") as err:
        km, kc = start_new_kernel(kernel_name=name, startup_timeout=240, env=env, stderr=err)
    try:
        yield km, kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel()


def evaluate(kc: Any, expression: str, setup: str = "") -> Any:
    """The value of `expression` in the kernel, after running `setup`: read from the execute
    reply's user_expressions, which arrive with the reply (stream output may trail it)."""
    msg_id = kc.execute(setup, user_expressions={"value": expression}, silent=False)
    while True:
        reply = kc.get_shell_msg(timeout=120)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    content = reply["content"]
    assert content["status"] == "ok", content
    result = content["user_expressions"]["value"]
    assert result["status"] == "ok", result
    return ast.literal_eval(result["data"]["text/plain"])
