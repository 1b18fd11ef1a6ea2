"""`uvx` and `uvmod` in the module's bin/: on PATH once the module is loaded, in both tools.

uvx goes through the uv wrapper (the site policy and the per-key uv.toml), and never gets a
project environment; uvmod is the uvmod that built the tree, or module.uvmod.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import BuildPrefix
from tests.support.modules import ModuleTool, base_env
from tests.support.standin import make_standin, run_wrapper
from tests.support.wheels import write_wheel

KEY = "cuda/12.2,mpich/4.1.2"


def _project(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "0"\n')
    return path


def test_uvx_is_uv_tool_uvx_through_the_wrapper_with_the_per_key_policy(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix = build_prefix(uv=str(make_standin(tmp_path / "fake")))
    bin_dir = prefix / "uv-hpc" / "1.0" / "bin"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "UVMOD_VENV_DEPOT": str(tmp_path / "depot"),
        "UVMOD_ARCH": "generic",
        "UVMOD_KEY_SOURCE": "hook",
        "UVMOD_CACHE_KEY": KEY,
        "XDG_CONFIG_DIRS": "/site/etc",
    }
    root = _project(tmp_path / "w" / "p")  # inside a project: still no project environment
    for command, argv in [
        (bin_dir / "uvx", ["ruff", "--version"]),
        (bin_dir / "uv", ["tool", "run", "ruff"]),
    ]:
        seen = run_wrapper(command, argv, cwd=root, env=env)
        assert seen.returncode == 0, seen.stderr
        assert seen.argv == (["tool", "uvx", *argv] if command.name == "uvx" else argv)
        first, rest = seen.env["XDG_CONFIG_DIRS"].split(":", 1)
        assert rest == "/site/etc"
        assert Path(first).name == "k-cuda@12.2,mpich@4.1.2"
        assert (Path(first) / "uv" / "uv.toml").is_file()
        assert "UV_PROJECT_ENVIRONMENT" not in seen.env and "VIRTUAL_ENV" not in seen.env
    # Without the module, plain uv.
    bare = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home")}
    seen = run_wrapper(bin_dir / "uvx", ["ruff"], cwd=root, env=bare)
    assert seen.argv == ["tool", "uvx", "ruff"] and "XDG_CONFIG_DIRS" not in seen.env


def test_uvmod_runs_the_uvmod_that_built_the_tree(
    tmp_path: Path, build_prefix: BuildPrefix
) -> None:
    prefix = build_prefix()
    command = prefix / "uv-hpc" / "1.0" / "bin" / "uvmod"
    assert f"UVMOD_PYTHON='{sys.executable}'" in command.read_text()
    # -I: a `uvmod` directory where the user stands does not shadow the installed package.
    decoy = tmp_path / "work"
    (decoy / "uvmod").mkdir(parents=True)
    (decoy / "uvmod" / "__main__.py").write_text("raise SystemExit('the decoy ran')\n")
    proc = subprocess.run(
        [str(command), "--version"],
        cwd=decoy,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(decoy)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("uvmod ")


def test_uvmod_can_be_set_by_the_site(tmp_path: Path, build_prefix: BuildPrefix) -> None:
    site_uvmod = tmp_path / "opt" / "uvmod"
    site_uvmod.parent.mkdir()
    site_uvmod.write_text('#!/bin/sh\necho "site uvmod: $*"\n')
    site_uvmod.chmod(0o755)
    prefix = build_prefix(f'[module]\nuvmod = "{site_uvmod}"\n')
    command = prefix / "uv-hpc" / "1.0" / "bin" / "uvmod"
    proc = subprocess.run(
        [str(command), "venv", "path"], capture_output=True, text=True, check=True
    )
    assert proc.stdout == "site uvmod: venv path\n"
    # A Python that is gone on this node: a clear message, not "not found".
    prefix = build_prefix(prefix=tmp_path / "other")
    command = prefix / "uv-hpc" / "1.0" / "bin" / "uvmod"
    command.write_text(command.read_text().replace(sys.executable, "/gone/python3"))
    proc = subprocess.run([str(command), "key"], capture_output=True, text=True, check=False)
    assert proc.returncode == 127
    assert "uv-hpc: /gone/python3, the Python uvmod was installed with, is not on this node;" in (
        " ".join(proc.stderr.split())
    )


def test_after_module_load_uvmod_and_uvx_run(
    tmp_path: Path, build_prefix: BuildPrefix, module_tool: ModuleTool
) -> None:
    """The user guide's commands, as a user types them, with nothing on PATH but the system
    and the module; uvx runs a tool from the site wheelhouse, offline."""
    wheelhouse = tmp_path / "wheelhouse"
    write_wheel(
        wheelhouse / "generic",
        "tinytool",
        "1.0",
        {
            "tinytool.py": "def main():\n    print('tinytool ran')\n",
            "tinytool-1.0.dist-info/entry_points.txt": "[console_scripts]\n"
            "tinytool = tinytool:main\n",
        },
    )
    prefix = build_prefix(
        f'[wheelhouse]\nroot = "{wheelhouse}"\npypi = false\n'
        '[wheelhouse.arch]\navx512 = ["generic"]\navx2 = ["generic"]\ngeneric = ["generic"]\n'
        '[python]\ndownloads = "never"\n'
    )
    project = _project(tmp_path / "work" / "proj")
    env = base_env(tmp_path, {"SCRATCH": str(tmp_path / "scratch"), "RSNT_ARCH": "generic"})
    result = module_tool.run(
        [
            "module load uv-hpc",
            "command -v uvmod uvx",
            "uvmod venv path",
            "uvmod doctor --json > doctor.json; echo doctor=$?",
            f"uvx --offline --python {sys.executable} tinytool",
        ],
        env,
        modulepath=[prefix / "modulefiles"],
        cwd=project,
        timeout=300,
    )
    bin_dir = prefix / "uv-hpc" / "1.0" / "bin"
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"{bin_dir}/uvmod", f"{bin_dir}/uvx"]
    assert lines[2].startswith(f"{tmp_path}/scratch/uv-venvs/proj-")
    report = json.loads((project / "doctor.json").read_text())
    statuses = {c["check"]: c["status"] for c in report["checks"]}
    assert statuses["module.loaded"] == "ok" and statuses["module.wrapper"] == "ok"
    assert lines[3] == f"doctor={0 if report['ok'] else 1}"
    assert lines[4] == "tinytool ran"
    assert not (project / ".venv").exists()
    assert os.listdir(tmp_path / "scratch" / "uv")  # uvx used the site's cache
