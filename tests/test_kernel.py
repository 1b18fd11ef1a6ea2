"""Jupyter kernels of `uvmod kernel install`, started by the real jupyter_client from a minimal
environment, running ipykernel from the site wheelhouse through the real uv, offline.

The kernel is installed as a researcher would: in a shell with the modules loaded (real Lmod, or
Environment Modules), by the module's own `uvmod`. It is then started the way Jupyter (and Open
OnDemand's Jupyter app) starts it: jupyter_client's KernelManager with an environment holding no
module function, no MODULEPATH and no loaded module.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import jupyter
from tests.support.jupyter import evaluate, running_kernel
from tests.support.modules import LMOD_8_6, ModuleTool, ShellResult, base_env
from tests.support.nodes import detected_node
from tests.support.tools import real_uv
from uvmod import depot
from uvmod.cli import main

PYTHON = f"python/{jupyter.python_version()}"


@dataclass(frozen=True)
class Site:
    prefix: Path
    python_modules: Path
    scratch: Path  # one cache for the whole file: the wheels are unpacked once


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    root = tmp_path_factory.mktemp("kernel-site")
    wheelhouse = jupyter.make_wheelhouse(root / "wheelhouse")
    config = root / "site.toml"
    config.write_text(jupyter.site_toml(wheelhouse))
    prefix = root / "prefix"
    argv = ["build-modulefiles", "--config", str(config), "--prefix", str(prefix)]
    assert main([*argv, "--uv", real_uv()]) == 0
    return Site(prefix, jupyter.make_python_modules(root / "python-modules"), root / "scratch")


@pytest.fixture
def jupyter_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where this test's Jupyter (the KernelManager below) finds kernels and connection files."""
    data = tmp_path / "jupyter"
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(data))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    return data


Shell = Callable[..., ShellResult]


def _shell(site: Site, tmp_path: Path, tool: ModuleTool = LMOD_8_6) -> Shell:
    """Run lines in a login-like shell of `tool`, with the site, python and MPI modules."""
    env = base_env(
        tmp_path, {"SCRATCH": str(site.scratch), "JUPYTER_DATA_DIR": str(tmp_path / "jupyter")}
    )
    python = site.python_modules / ("lua" if tool.is_lmod else "tcl")

    def run(lines: list[str], cwd: Path, check: bool = True) -> ShellResult:
        return tool.run(
            lines,
            env,
            modulepath=[site.prefix / "modulefiles", python, tool.standins],
            package_path=site.prefix / "lmod" if tool.is_lmod else None,
            cwd=cwd,
            check=check,
        )

    return run


def _kernel_env(site: Site, tmp_path: Path) -> dict[str, str]:
    return jupyter.minimal_env(tmp_path / "home", site.scratch)


def _install_and_locate(
    shell: Shell, project: Path, modules: list[str], extra: str = ""
) -> tuple[ShellResult, Path]:
    """`uvmod kernel install` as the user runs it, then `uvmod venv path` in the same shell."""
    loaded = " ".join(modules)
    result = shell(
        [
            f"module load {loaded} uv-hpc",
            f"uvmod kernel install --name nb --module {loaded} {extra}",
            "uvmod venv path",
        ],
        project,
    )
    return result, Path(result.stdout.splitlines()[-1])


def _gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except FileNotFoundError:
            return True
        if status == "Z":
            return True
        time.sleep(0.1)
    return False


def test_kernel_from_a_minimal_environment_runs_in_the_project_environment(
    site: Site, tmp_path: Path, jupyter_dirs: Path
) -> None:
    project = jupyter.write_project(tmp_path / "work" / "notebooks")
    shell = _shell(site, tmp_path)
    result, venv = _install_and_locate(shell, project, [PYTHON])
    assert f"installed kernel 'nb' (notebooks (uv-hpc, {PYTHON})) in {jupyter_dirs}/kernels/nb" in (
        result.stdout
    )
    assert venv.parent == site.scratch / "uv-venvs"
    # The site wheelhouse offers everything the project needs, for this node and Python.
    wheels = shell(
        [f"module load {PYTHON} uv-hpc", "uvmod wheels --project ."], project, check=False
    )
    assert wheels.returncode == 0, wheels.stdout + wheels.stderr

    stderr = tmp_path / "kernel.log"
    from jupyter_client.manager import start_new_kernel

    with stderr.open("w") as err:
        km, kc = start_new_kernel(
            kernel_name="nb", startup_timeout=240, env=_kernel_env(site, tmp_path), stderr=err
        )
    try:
        assert evaluate(kc, "sys.prefix", "import sys") == str(venv)
        assert evaluate(kc, "sys.executable", "import sys").startswith(f"{venv}/bin/python")
        assert evaluate(kc, "os.environ.get('UVMOD_CACHE_KEY')", "import os") is None
        assert evaluate(kc, "ipykernel.__file__", "import ipykernel").startswith(f"{venv}/lib/")
        kernel_pid = evaluate(kc, "os.getpid()", "import os")
        # An interrupt reaches the kernel, not only uv: jupyter_client signals the process group.
        # stop_on_error=False: else ipykernel aborts requests arriving just after the error.
        msg_id = kc.execute("import time; time.sleep(120)", stop_on_error=False)
        time.sleep(1)
        started = time.monotonic()
        km.interrupt_kernel()
        while True:
            reply = kc.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        assert time.monotonic() - started < 20
        assert evaluate(kc, "1 + 1") == 2
    finally:
        kc.stop_channels()
        km.shutdown_kernel()
    assert _gone(kernel_pid), "the kernel's Python outlived its shutdown"
    assert not (project / ".venv").exists()
    assert f"Creating virtual environment at: {venv}" in stderr.read_text()


def test_kernel_recreates_its_environment_after_a_purge(
    site: Site, tmp_path: Path, jupyter_dirs: Path
) -> None:
    project = jupyter.write_project(tmp_path / "work" / "proj")
    shell = _shell(site, tmp_path)
    _, venv = _install_and_locate(shell, project, [PYTHON])
    env = _kernel_env(site, tmp_path)
    log = tmp_path / "kernel.log"
    with running_kernel("nb", env, log) as (_, kc):
        assert evaluate(kc, "sys.prefix", "import sys") == str(venv)
    # The user runs the project from a terminal too: the wrapper marks the environment.
    shell([f"module load {PYTHON} uv-hpc", "uv run python -c pass"], project)
    assert (venv / depot.MARKER).is_file()

    # An age-based purge: the marker and part of site-packages gone.
    (venv / depot.MARKER).unlink()
    (site_packages,) = venv.glob("lib/python*/site-packages")
    shutil.rmtree(site_packages / "ipykernel")
    with running_kernel("nb", env, log) as (_, kc):
        assert evaluate(kc, "sys.prefix", "import sys") == str(venv)
        assert evaluate(kc, "ipykernel.__file__", "import ipykernel").startswith(str(venv))
    assert f"{venv} was partly deleted (most likely by the scratch purge)" in log.read_text()

    # The whole environment gone.
    shutil.rmtree(venv)
    with running_kernel("nb", env, log) as (_, kc):
        assert evaluate(kc, "sys.prefix", "import sys") == str(venv)
    assert (venv / "pyvenv.cfg").is_file()
    assert log.read_text().count(f"Creating virtual environment at: {venv}") == 3


def test_kernel_with_an_mpi_module_runs_in_that_keys_environment(
    site: Site, tmp_path: Path, jupyter_dirs: Path, module_tool: ModuleTool
) -> None:
    project = jupyter.write_project(tmp_path / "work" / "mpiproj")
    shell = _shell(site, tmp_path, module_tool)
    extra = ""
    if not module_tool.is_lmod:
        # The harness's `module` has no init script behind it: the site's is named explicitly.
        init = jupyter.em_init_script(tmp_path / "modules-init.sh", module_tool.version)
        extra = f"--module-init {init}"
    _, venv = _install_and_locate(shell, project, [PYTHON, "mpich/4.1.2"], extra)
    assert venv.name == depot.env_name(project, "mpich/4.1.2", detected_node())
    assert venv.name != depot.env_name(project, "", detected_node())

    with running_kernel("nb", _kernel_env(site, tmp_path), tmp_path / "kernel.log") as (_, kc):
        assert evaluate(kc, "sys.prefix", "import sys") == str(venv)
        assert evaluate(kc, "os.environ['UVMOD_CACHE_KEY']", "import os") == "mpich/4.1.2"
        assert evaluate(kc, "os.environ['FAKE_MPI']", "import os") == "mpich-4.1.2"
        loaded = evaluate(kc, "os.environ['LOADEDMODULES'].split(':')", "import os")
        assert loaded == [PYTHON, "mpich/4.1.2", "uv-hpc/1.0"]


def _start_failing(name: str, env: dict[str, str], stderr: Path) -> tuple[int | None, float]:
    """Start a kernel that must die: (its exit status, seconds until jupyter_client gave up)."""
    from jupyter_client import KernelManager

    km = KernelManager(kernel_name=name)
    started = time.monotonic()
    with stderr.open("w") as err:
        km.start_kernel(env=env, stderr=err)
    kc = km.client()
    kc.start_channels()
    try:
        with pytest.raises(RuntimeError, match="Kernel died before replying to kernel_info"):
            kc.wait_for_ready(timeout=120)
        elapsed = time.monotonic() - started
        process = km.provisioner.process  # type: ignore[union-attr]
        return process.wait(timeout=10), elapsed
    finally:
        kc.stop_channels()
        km.cleanup_resources()


def test_kernel_whose_project_is_gone_fails_with_a_message(
    site: Site, tmp_path: Path, jupyter_dirs: Path
) -> None:
    project = jupyter.write_project(tmp_path / "work" / "deleted")
    _, venv = _install_and_locate(_shell(site, tmp_path), project, [PYTHON])
    shutil.rmtree(project)
    stderr = tmp_path / "kernel.log"
    status, elapsed = _start_failing("nb", _kernel_env(site, tmp_path), stderr)
    assert status == 1
    assert elapsed < 30
    message = " ".join(stderr.read_text().split())
    assert f"uv-hpc kernel 'nb': the project {project} does not exist on " in message
    assert "Remove this kernel with 'uvmod kernel remove nb'" in message
    assert not venv.exists()  # nothing was started for it


def test_kernel_whose_module_does_not_load_fails_with_lmods_message(
    site: Site, tmp_path: Path, jupyter_dirs: Path
) -> None:
    project = jupyter.write_project(tmp_path / "work" / "p")
    shell = _shell(site, tmp_path)
    shell(
        [f"module load {PYTHON} uv-hpc", "uvmod kernel install --name nb --module nosuch/1.0"],
        project,
    )
    stderr = tmp_path / "kernel.log"
    status, _ = _start_failing("nb", _kernel_env(site, tmp_path), stderr)
    assert status == 1
    text = stderr.read_text()
    assert "nosuch/1.0" in text.split("uv-hpc kernel")[0]  # Lmod's own message first
    assert "uv-hpc kernel 'nb': 'module load nosuch/1.0 uv-hpc/1.0' failed" in text


def test_kernel_list_and_remove_under_the_module(
    site: Site, tmp_path: Path, jupyter_dirs: Path
) -> None:
    project = jupyter.write_project(tmp_path / "work" / "listed")
    shell = _shell(site, tmp_path)
    result = shell(
        [
            "module load uv-hpc",
            "uvmod kernel install --name one",
            "uvmod kernel install --name two --module mpich/4.1.2",
            "uvmod kernel list",
            "uvmod kernel remove one",
            "uvmod kernel list --json",
        ],
        project,
    )
    lines = result.stdout.splitlines()
    assert any(line.split()[:1] == ["one"] and line.rstrip().endswith("ok") for line in lines)
    assert any(line.split()[:1] == ["two"] and "mpich/4.1.2 uv-hpc/1.0" in line for line in lines)
    assert "removed kernel 'one'" in result.stdout
    listing = json.loads(result.stdout[result.stdout.index('{\n  "kernels_dir"') :])
    assert [k["name"] for k in listing["kernels"]] == ["two"]
    assert sorted(os.listdir(jupyter_dirs / "kernels")) == ["two"]
