"""Jupyter kernelspecs that start a project's kernel through the uv-hpc module.

A kernelspec is a directory `<kernels>/<name>/` holding `kernel.json`
(https://jupyter-client.readthedocs.io/en/stable/kernels.html#kernel-specs). Its `argv` runs the
module's launcher (sh/uvmod-kernel.sh) with everything the launcher needs as separate arguments,
and `metadata.uvmod` records the same values: it is the marker that `uvmod kernel list` and
`remove` look for, so they never touch a kernel they did not write (docs/design.md#jupyter-kernels).

Where the kernels directory is follows jupyter_core's `jupyter_data_dir()` on Linux
(jupyter_core/paths.py): `$JUPYTER_DATA_DIR`, else `$XDG_DATA_HOME/jupyter`, else
`~/.local/share/jupyter`, with `kernels/` below; `--prefix P` is `P/share/jupyter/kernels`, as
`jupyter kernelspec install --prefix`. tests/test_kernelspec.py compares them with jupyter_core.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uvmod import __version__
from uvmod.errors import ConfigError

FORMAT = 1  # the launcher's `--format` (it gets this value from the build: render/wrapper.py)
MARKER_KEY = "uvmod"
KERNEL_JSON = "kernel.json"

# jupyter_client's kernel name rule (kernelspec._kernel_name_pat), in the lower case it stores.
_KERNEL_NAME = re.compile(r"[a-z0-9._-]+")
# jupyter_client's format_kernel_cmd replaces `{name}` in every argv element when `name` is one
# of its launch values (connection_file, prefix, resource_dir, and the keyword arguments of
# start_kernel, such as cwd or env), so such text could not arrive intact.
_JUPYTER_FIELD = re.compile(r"\{[A-Za-z0-9_]+\}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A module's full name as users type it: `mpich/4.1.2`, `python/3.11`, `gcc/12.3`, `StdEnv/2023`.
_MODULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*(/[A-Za-z0-9._+-]+)*")


@dataclass(frozen=True)
class Kernel:
    """What a uvmod kernel records: `argv()` and `metadata()` are both built from it."""

    name: str
    display_name: str
    project: str  # absolute: the directory holding pyproject.toml
    modules: tuple[str, ...]  # the user's, loaded before uv_module
    uv_module: str  # uv-hpc's full name, `uv-hpc/1.0`
    module_init: str  # the module system's sh init script
    modulepath: tuple[str, ...]  # MODULEPATH entries to add when missing
    launcher: str  # <prefix>/<name>/<version>/libexec/uvmod-kernel

    def argv(self) -> list[str]:
        """The kernel's argv: flags and values as separate elements, never one shell string."""
        argv = [
            self.launcher,
            "--format",
            str(FORMAT),
            "--kernel",
            self.name,
            "--project",
            self.project,
            "--module-init",
            self.module_init,
        ]
        for directory in self.modulepath:
            argv += ["--modulepath", directory]
        argv += ["--connection-file", "{connection_file}", "--load", *self.modules, self.uv_module]
        return argv

    def metadata(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "written_by": f"uvmod {__version__}",
            "project": self.project,
            "modules": list(self.modules),
            "uv_module": self.uv_module,
            "module_init": self.module_init,
            "modulepath": list(self.modulepath),
            "launcher": self.launcher,
        }

    def kernel_json(self) -> str:
        data = {
            "argv": self.argv(),
            "display_name": self.display_name,
            "language": "python",
            # jupyter_client signals the kernel's process group (its provisioner's send_signal),
            # which holds uv and the Python that uv run started (docs/design.md#jupyter-kernels).
            "interrupt_mode": "signal",
            "env": {},
            "metadata": {"debugger": True, MARKER_KEY: self.metadata()},
        }
        return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def kernels_dir(environ: Mapping[str, str], prefix: Path | None = None) -> Path:
    """Where `jupyter kernelspec install --user` (or `--prefix`) puts kernels."""
    if prefix is not None:
        return Path(os.path.abspath(prefix)) / "share" / "jupyter" / "kernels"
    data = environ.get("JUPYTER_DATA_DIR")
    if not data:
        xdg = environ.get("XDG_DATA_HOME")
        if not xdg:
            # jupyter_core's get_home_dir(): the real path of ~.
            home = environ.get("HOME") or os.path.expanduser("~")
            xdg = os.path.join(os.path.realpath(home), ".local", "share")
        data = os.path.join(xdg, "jupyter")
    return Path(data) / "kernels"


def check_name(name: str) -> str:
    """The kernel name as Jupyter stores it (lower case); ConfigError when Jupyter rejects it."""
    lowered = name.lower()
    if not _KERNEL_NAME.fullmatch(lowered):
        raise ConfigError(
            f"--name {name!r}: a Jupyter kernel name has only letters, digits and '._-'"
        )
    return lowered


def default_name(project: str, modules: Sequence[str]) -> str:
    """`proj`, or `proj-mpich-4.1.2` with modules: one kernel per project and module set."""
    text = "-".join([Path(project).name, *modules]).lower()
    text = re.sub(r"[^a-z0-9._-]+", "-", text).strip("-.")
    return text or "project"


def check_module(name: str) -> str:
    if not _MODULE.fullmatch(name):
        raise ConfigError(
            f"--module {name!r}: not a module name (letters, digits, '._+-', versions after '/')"
        )
    return name


def check_display_name(value: str) -> str:
    bad = _CONTROL.search(value)
    if bad:
        raise ConfigError(
            f"--display-name {value!r}: contains the control character {bad.group()!r}"
        )
    return value


def check_carried(what: str, value: str) -> str:
    """A value that goes into kernel.json's argv: no control character (the module tools' shell
    `eval` cannot carry one), nothing Jupyter would substitute, nothing it would expand as `~`."""
    bad = _CONTROL.search(value)
    if bad:
        raise ConfigError(f"{what} {value!r}: contains the control character {bad.group()!r}")
    field = _JUPYTER_FIELD.search(value)
    if field:
        raise ConfigError(
            f"{what} {value!r}: Jupyter replaces {field.group()} in a kernel's arguments "
            "(jupyter_client's format_kernel_cmd), so it would not reach the kernel intact"
        )
    if not value.startswith("/"):
        raise ConfigError(f"{what} {value!r}: not an absolute path")
    return value


def read_kernel(directory: Path) -> dict[str, Any] | None:
    """kernel.json of a kernel uvmod wrote, or None: no kernel.json, not JSON, or no marker."""
    try:
        data = json.loads((directory / KERNEL_JSON).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    metadata = data.get("metadata")
    if not isinstance(metadata, dict) or not isinstance(metadata.get(MARKER_KEY), dict):
        return None
    return data
