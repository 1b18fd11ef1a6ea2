"""The README's first line on a bare machine, as a newcomer runs it.

A copy of this tree (what `git clone` of it would give: tracked and untracked files, nothing
ignored, so no .venv and no build/) with PATH stripped to the system directories, as under
`env -i`: no uv anywhere but the one the line itself installs into .venv. pip gets no index,
only the wheels .ci/run downloaded (tests never reach the network), so what is installed is
exactly what the line asks for. The tree it builds then loads in real Lmod, and `uv`, `uvx` and
`uvmod` run through it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.support import tools
from tests.support.modules import base_env, run_lmod

REPO = Path(__file__).resolve().parent.parent
SYSTEM_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def readme_line(n: int) -> str:
    """The Nth line of the README's first ```sh block (what .ci/run runs)."""
    block = re.search(r"^```sh\n(.*?)^```$", (REPO / "README.md").read_text(), re.M | re.S)
    assert block is not None
    return block.group(1).splitlines()[n - 1]


def copy_of_the_tree(dest: Path) -> Path:
    if not (REPO / ".git").exists():
        ignore = shutil.ignore_patterns(".venv", "build", "*.egg-info", ".*cache", "__pycache__")
        shutil.copytree(REPO, dest, symlinks=True, ignore=ignore)
        return dest
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listed.split(b"\0")):
        source = REPO / os.fsdecode(name)
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the working tree, not yet committed
        target = dest / os.fsdecode(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)
    return dest


def test_the_readme_first_line_works_on_a_bare_machine(tmp_path: Path) -> None:
    wheels = tools.pip_wheels()
    lmod = tools.lmod_init()
    tree = copy_of_the_tree(tmp_path / "uvmod")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": SYSTEM_PATH,
        "LANG": "C.UTF-8",
        # No index, no site pip.conf: only the downloaded wheels.
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    proc = subprocess.run(
        ["bash", "-c", readme_line(1)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    prefix = tree / "build" / "uvmod"
    wrapper = (prefix / "uv-hpc" / "1.0" / "bin" / "uv").read_text()
    system_uv = shutil.which("uv", path=SYSTEM_PATH)
    expected = system_uv or str(tree / ".venv" / "bin" / "uv")
    assert f"UVMOD_REAL_UV='{expected}'" in wrapper
    if system_uv is None:  # the bare machine of the README: the uv the line installed
        assert f"the wrapper runs {expected} (installed with uvmod)" in proc.stdout

    assert lmod.is_file()
    result = run_lmod(
        [
            f"module use {prefix}/modulefiles",
            "module load uv-hpc",
            "command -v uv uvx uvmod",
            "uv --version",
            "uvx --version",
            "uvmod --version",
        ],
        base_env(tmp_path, {"PATH": SYSTEM_PATH}),
    )
    bin_dir = prefix / "uv-hpc" / "1.0" / "bin"
    lines = result.stdout.splitlines()
    assert lines[:3] == [f"{bin_dir}/uv", f"{bin_dir}/uvx", f"{bin_dir}/uvmod"]
    assert lines[3].startswith("uv 0.13.8 ")
    assert lines[4].startswith("uvx 0.13.8 ")
    assert lines[5].startswith("uvmod ")
