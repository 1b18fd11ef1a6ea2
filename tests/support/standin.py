"""A stand-in for the real uv: it records its argv and environment, so tests can see exactly
what the wrapper hands over without running uv."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_SCRIPT = """\
import json, os, sys
json.dump(
    {"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()},
    sys.stdout,
)
"""


def make_standin(directory: Path) -> Path:
    """Write an executable `uv` that prints {"argv", "env", "cwd"} as JSON."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "uv"
    path.write_text(f"#!{sys.executable}\n{_SCRIPT}")
    path.chmod(0o755)
    return path


@dataclass
class Seen:
    returncode: int
    argv: list[str]
    env: dict[str, str]
    cwd: str
    stderr: str


def wrapper_path(prefix: Path, name: str = "uv-hpc", version: str = "1.0") -> Path:
    return prefix / name / version / "bin" / "uv"


def run_wrapper(
    wrapper: Path,
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    shell: str = "sh",
) -> Seen:
    """Run the generated wrapper (through `shell`, default dash) in front of the stand-in."""
    proc = subprocess.run(
        [shell, str(wrapper), *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        timeout=60,
        check=False,
    )
    stderr = proc.stderr.decode("utf-8", "replace")
    if not proc.stdout:
        return Seen(proc.returncode, [], {}, "", stderr)
    data = json.loads(proc.stdout)
    return Seen(proc.returncode, data["argv"], data["env"], data["cwd"], stderr)
