"""The Python a wheel must suit: the `python3` on PATH (the loaded python module), or X.Y.

`uvmod wheels` answers "can I install this here?", so the tags are those of the interpreter uv
would use (`[python] preference = only-system` picks the first Python on PATH), not those of the
interpreter uvmod itself runs on. The loaded interpreter is asked once for its version and ABI
flags; for `--python X.Y` nothing is run. In both cases `packaging.tags` computes the tag list
from that version and this machine's platform tags, the same order of preference pip uses.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packaging import markers, tags

from uvmod.errors import ConfigError

# -I -S: the user's PYTHONPATH, site-packages or a sitecustomize must not change the answer.
_QUERY = (
    "import json, sys; print(json.dumps({'implementation': sys.implementation.name, "
    "'version': list(sys.version_info[:3]), 'abiflags': getattr(sys, 'abiflags', ''), "
    "'executable': sys.executable}))"
)
_VERSION_OPTION = re.compile(r"([0-9]+)\.([0-9]+)")


@dataclass(frozen=True)
class TargetPython:
    major: int
    minor: int
    micro: int | None  # None for --python X.Y
    abiflags: str  # sys.abiflags: "" for a default build, "t" free-threaded, "d" debug
    source: str  # the interpreter's path, or "--python"

    @property
    def version(self) -> str:
        return f"{self.major}.{self.minor}"

    @property
    def abi(self) -> str:
        return f"cp{self.major}{self.minor}{self.abiflags}"

    def name(self) -> str:
        """`CPython 3.11.2`, `CPython 3.13.1 (free-threaded)`, `CPython 3.10`."""
        full = self.version if self.micro is None else f"{self.version}.{self.micro}"
        build = {"": "", "t": " (free-threaded)", "d": " (debug)"}.get(self.abiflags, "")
        return f"CPython {full}{build}"

    def describe(self) -> str:
        return f"{self.name()} ({self.source})"

    def supported_tags(self, platforms: Sequence[str]) -> list[tags.Tag]:
        """Most preferred first: cpXY-cpXY-<platform> … abi3 … py3-none-any."""
        version = (self.major, self.minor)
        return [
            *tags.cpython_tags(python_version=version, abis=[self.abi], platforms=platforms),
            *tags.compatible_tags(
                python_version=version,
                interpreter=f"cp{self.major}{self.minor}",
                platforms=platforms,
            ),
        ]

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker values for this Python on this machine."""
        env = {key: str(value) for key, value in markers.default_environment().items()}
        full = f"{self.version}.{0 if self.micro is None else self.micro}"
        env.update(
            implementation_name="cpython",
            implementation_version=full,
            platform_python_implementation="CPython",
            python_version=self.version,
            python_full_version=full,
        )
        return env


def machine_platforms() -> list[str]:
    """This machine's platform tags in uv's order of preference: manylinux_2_36 …
    manylinux1, then linux_x86_64.

    uv 0.13.8 prefers any manylinux wheel to a linux_x86_64 one of the same version
    (docs/design.md#which-file-uv-takes); packaging 26 yields linux_x86_64 first.
    """
    found = list(tags.platform_tags())
    bare = [p for p in found if p.startswith("linux_")]
    return [p for p in found if not p.startswith("linux_")] + bare


def from_option(text: str) -> TargetPython:
    match = _VERSION_OPTION.fullmatch(text)
    if match is None or match.group(1) != "3":
        raise ConfigError(f"--python {text!r}: expected a CPython 3 version X.Y, such as 3.11")
    return TargetPython(3, int(match.group(2)), None, "", "--python")


def from_path(environ: Mapping[str, str]) -> TargetPython:
    """Ask the first `python3` on $PATH for its version and ABI flags."""
    found = shutil.which("python3", path=environ.get("PATH", os.defpath))
    if found is None:
        raise ConfigError(
            "no python3 on PATH: load a python module, or name the version with --python X.Y"
        )
    try:
        proc = subprocess.run(
            [found, "-I", "-S", "-c", _QUERY],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=dict(environ),
        )
        data = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError) as exc:
        raise ConfigError(
            f"{found}: cannot ask it for its version ({exc}); use --python X.Y"
        ) from None
    if not isinstance(data, dict):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ConfigError(f"{found}: cannot ask it for its version ({tail}); use --python X.Y")
    if data.get("implementation") != "cpython":
        raise ConfigError(
            f"{found} is {data.get('implementation')!r}, not CPython: uvmod wheels computes "
            "CPython tags only; name the version with --python X.Y"
        )
    major, minor, micro = (int(part) for part in data["version"])
    return TargetPython(major, minor, micro, str(data.get("abiflags") or ""), found)
