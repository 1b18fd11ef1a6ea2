"""The one wheel factory of the tests: wheelhouses they build themselves, so uv works offline.

- `write_wheel`: any wheel, from a mapping of its files (dist-info, RECORD and tags written here);
- `tiny_wheel`: a one-module wheel that knows its name and version;
- `reversioned_copy`: an installed distribution of the test environment (setuptools, wheel, pip
  from the pinned test extra) packed again under a site label such as `75.1.0+computecanada`,
  so the build back-end that runs is real code while the names match the site wheelhouses of
  https://github.com/astral-sh/uv/issues/16216.

The one test sdist is in tests/support/fakesdist.py.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
import zipfile
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name)


def cpython_tag() -> str:
    """The `cpXY-cpXY-linux_x86_64`-style tag of the running interpreter (a compiled wheel)."""
    import sysconfig

    version = f"cp{sys.version_info.major}{sys.version_info.minor}"
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"{version}-{version}-{platform}"


def write_wheel(
    dest: Path,
    name: str,
    version: str,
    files: Mapping[str, bytes | str],
    *,
    tag: str = "py3-none-any",
    requires: Sequence[str] = (),
    extra_metadata: Sequence[str] = (),
    dist_info_files: Mapping[str, bytes | str] | None = None,
) -> Path:
    """Write `<name>-<version>-<tag>.whl` into `dest` and return its path."""
    dest.mkdir(parents=True, exist_ok=True)
    dist_info = f"{_normalise(name)}-{version}.dist-info"
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    meta += [f"Requires-Dist: {req}" for req in requires]
    meta += list(extra_metadata)
    python, abi, platform = tag.split("-")
    entries: dict[str, bytes] = {
        path: (data.encode() if isinstance(data, str) else data) for path, data in files.items()
    }
    for extra_name, data in (dist_info_files or {}).items():
        entries[f"{dist_info}/{extra_name}"] = data.encode() if isinstance(data, str) else data
    entries[f"{dist_info}/METADATA"] = ("\n".join(meta) + "\n").encode()
    entries[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: uvmod-tests\n"
        f"Root-Is-Purelib: {'true' if abi == 'none' else 'false'}\nTag: {tag}\n"
    ).encode()
    record = [_record_line(path, data) for path, data in entries.items()]
    record.append(f"{dist_info}/RECORD,,")
    entries[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = dest / f"{_normalise(name)}-{version}-{python}-{abi}-{platform}.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in entries.items():
            archive.writestr(path, data)
    return wheel


def tiny_wheel(
    dest: Path,
    name: str,
    version: str,
    *,
    compiled: bool = False,
    requires: Sequence[str] = (),
) -> Path:
    """A wheel holding one module `<name>.py` that knows its version (`__version__`) and says
    which wheel it came from (`VALUE = "<name> <version>"`); `compiled` tags it for the running
    CPython and platform instead of `py3-none-any`."""
    module = _normalise(name).lower()
    files = {f"{module}.py": f"__version__ = {version!r}\nVALUE = {name + ' ' + version!r}\n"}
    tag = cpython_tag() if compiled else "py3-none-any"
    return write_wheel(dest, name, version, files, tag=tag, requires=requires)


_DROPPED_DIST_INFO = {"INSTALLER", "REQUESTED", "direct_url.json", "RECORD", "METADATA", "WHEEL"}


def reversioned_copy(dist_name: str, new_version: str, dest: Path) -> Path:
    """Pack the installed distribution `dist_name` again as a wheel labelled `new_version`."""
    dist = metadata.distribution(dist_name)
    files: dict[str, bytes] = {}
    dist_info_files: dict[str, bytes] = {}
    for entry in dist.files or []:
        posix = entry.as_posix()
        if posix.startswith("..") or "__pycache__" in posix or posix.endswith(".pyc"):
            continue
        location = Path(str(entry.locate()))
        if not location.is_file():
            continue
        top = posix.split("/", 1)[0]
        if top.endswith(".dist-info"):
            leaf = posix.split("/", 1)[1]
            if leaf not in _DROPPED_DIST_INFO:
                dist_info_files[leaf] = location.read_bytes()
            continue
        files[posix] = location.read_bytes()
    original = dist.metadata
    kept = [
        f"{key}: {value}"
        for key, value in original.items()
        if key not in {"Metadata-Version", "Name", "Version", "Requires-Dist"} and "\n" not in value
    ]
    return write_wheel(
        dest,
        original["Name"],
        new_version,
        files,
        requires=original.get_all("Requires-Dist") or [],
        extra_metadata=kept,
        dist_info_files=dist_info_files,
    )


def simple_index(root: Path, wheels: Sequence[Path]) -> str:
    """A PyPI stand-in: a PEP 503 simple index under `root` (`root/<name>/index.html` linking
    each wheel, copied into `root/files/`) for uv to read through file://; returns its URL."""
    import shutil

    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    projects: dict[str, list[str]] = {}
    for wheel in wheels:
        shutil.copy2(wheel, files / wheel.name)
        project = re.sub(r"[-_.]+", "-", wheel.name.split("-", 1)[0]).lower()
        projects.setdefault(project, []).append(wheel.name)
    for project, names in projects.items():
        links = "".join(f'<a href="../files/{name}">{name}</a>\n' for name in names)
        (root / project).mkdir(exist_ok=True)
        (root / project / "index.html").write_text(f"<html><body>\n{links}</body></html>\n")
    (root / "index.html").write_text(
        "<html><body>\n"
        + "".join(f'<a href="{p}/">{p}</a>\n' for p in sorted(projects))
        + "</body></html>\n"
    )
    return root.as_uri()
