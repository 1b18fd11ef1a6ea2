"""Tiny wheels and sdists built by the tests themselves, so uv works offline from a flat
wheelhouse directory (no network, no build backend download)."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Mapping
from pathlib import Path


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def make_wheel(
    wheelhouse: Path,
    name: str,
    version: str,
    files: Mapping[str, str] | None = None,
    requires: tuple[str, ...] = (),
) -> Path:
    """A pure-Python wheel `<name>-<version>-py3-none-any.whl`; by default one module
    `<name>.py` with `VALUE = "<name> <version>"`."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    files = files if files is not None else {f"{name}.py": f"VALUE = {name + ' ' + version!r}\n"}
    dist_info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {r}\n" for r in requires)
    contents = {path: text.encode() for path, text in files.items()}
    contents[f"{dist_info}/METADATA"] = metadata.encode()
    contents[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: uvmod-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [_record_line(path, data) for path, data in contents.items()]
    record.append(f"{dist_info}/RECORD,,")
    contents[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    target = wheelhouse / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w") as archive:
        for path, data in contents.items():
            archive.writestr(path, data)
    return target


# An in-tree PEP 517 backend (build-system.requires = []), so building needs nothing from an
# index. The wheel's module records the environment variables of the build: a stand-in for a
# package such as mpi4py that links against whatever `mpicc` the loaded module provides.
_BACKEND = """
import base64, hashlib, os, zipfile

NAME, VERSION = {name!r}, {version!r}


def get_requires_for_build_wheel(config_settings=None):
    return []


def _line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{{path}},sha256={{digest}},{{len(data)}}"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    info = f"{{NAME}}-{{VERSION}}.dist-info"
    module = "BUILT_AGAINST = %r\\nBUILD_KEY = %r\\n" % (
        os.environ.get({variable!r}), os.environ.get("UVMOD_CACHE_KEY"))
    files = {{
        f"{{NAME}}.py": module.encode(),
        f"{{info}}/METADATA": (
            f"Metadata-Version: 2.1\\nName: {{NAME}}\\nVersion: {{VERSION}}\\n"
        ).encode(),
        f"{{info}}/WHEEL": (
            b"Wheel-Version: 1.0\\nGenerator: t\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
        ),
    }}
    record = [_line(p, d) for p, d in files.items()] + [f"{{info}}/RECORD,,"]
    files[f"{{info}}/RECORD"] = ("\\n".join(record) + "\\n").encode()
    name = f"{{NAME}}-{{VERSION}}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return name
"""


def make_sdist(wheelhouse: Path, name: str, version: str, variable: str = "FAKE_MPI") -> Path:
    """An sdist whose build bakes `$variable` (and $UVMOD_CACHE_KEY) into `<name>.BUILT_AGAINST`
    (and `.BUILD_KEY`)."""
    wheelhouse.mkdir(parents=True, exist_ok=True)
    base = f"{name}-{version}"
    pyproject = (
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n'
    )
    files = {
        "pyproject.toml": pyproject,
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        "backend.py": _BACKEND.format(name=name, version=version, variable=variable),
    }
    target = wheelhouse / f"{base}.tar.gz"
    with tarfile.open(target, "w:gz") as archive:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{base}/{path}")
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return target
