"""The one test sdist, `fake`, standing in for mpi4py: its build bakes the MPI it sees into it.

`fake` has an in-tree PEP 517 back-end (`backend-path`, `requires = []`), so uv builds it offline
with nothing to download. The back-end reads `FAKE_MPI` (set by the test MPI modulefiles, the way
a real build finds `mpicc` through the loaded module) and writes `fake.BUILT_AGAINST`, and the
cache key the build saw (`UVMOD_CACHE_KEY`, from the wrapper's `[extra-build-variables]`) as
`fake.BUILD_KEY`; every build appends one line to `$FAKE_BUILD_LOG` when set, so a test can
count the builds uv ran. The back-end is self-contained (it runs in uv's isolated build
environment), hence its own few lines of RECORD code beside tests/support/wheels.py.

It keeps its "object file" in a build directory of the source tree and reuses it when present,
as setuptools does: uv unpacks an sdist once for every build of it, so a second key's build
packs the first key's object unless the build directory moves per key
(https://github.com/astral-sh/uv/issues/16850, docs/design.md#per-key-builds). Like setuptools,
it reads that directory from `[build] build_base` of the file `$DIST_EXTRA_CONFIG` names, when
that file exists, else `build`. tests/test_real_mpi.py shows the same with the real mpi4py.
"""

from __future__ import annotations

import io
import tarfile
import textwrap
from pathlib import Path

BACKEND = textwrap.dedent(
    '''
    """In-tree PEP 517 back-end of the `fake` test package (tests/support/fakesdist.py)."""
    import base64
    import configparser
    import hashlib
    import os
    import zipfile

    NAME = "{name}"
    VERSION = "{version}"
    DIST_INFO = NAME + "-" + VERSION + ".dist-info"
    METADATA = "Metadata-Version: 2.1\\nName: " + NAME + "\\nVersion: " + VERSION + "\\n"


    def get_requires_for_build_wheel(config_settings=None):
        return []


    def get_requires_for_build_sdist(config_settings=None):
        return []


    def _record(path, data):
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        return path + ",sha256=" + digest + "," + str(len(data))


    def _build_base():
        # setuptools' rule: [build] build_base of $DIST_EXTRA_CONFIG when the file exists.
        parser = configparser.ConfigParser()
        extra = os.environ.get("DIST_EXTRA_CONFIG")
        if extra and os.path.isfile(extra):
            parser.read(extra)
        return parser.get("build", "build_base", fallback="build")


    def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
        base = _build_base()
        obj = os.path.join(base, "fake.o")
        line = str(os.environ.get("FAKE_MPI"))
        if os.path.exists(obj):  # "up to date": like setuptools, compile nothing
            with open(obj) as handle:
                built_against = handle.read()
            line += " (compiled nothing: packed " + built_against + " from " + base + ")"
        else:
            built_against = os.environ.get("FAKE_MPI")
            os.makedirs(base, exist_ok=True)
            with open(obj + ".tmp", "w") as handle:
                handle.write(str(built_against))
            os.replace(obj + ".tmp", obj)
        log = os.environ.get("FAKE_BUILD_LOG")
        if log:
            with open(log, "a") as handle:
                handle.write(line + "\\n")
        module = "BUILT_AGAINST = " + repr(built_against) + "\\n"
        module += "BUILD_KEY = " + repr(os.environ.get("UVMOD_CACHE_KEY")) + "\\n"
        files = {{
            NAME + "/__init__.py": module.encode(),
            DIST_INFO + "/METADATA": METADATA.encode(),
            DIST_INFO + "/WHEEL": (
                "Wheel-Version: 1.0\\nGenerator: fakebackend\\nRoot-Is-Purelib: true\\n"
                "Tag: py3-none-any\\n"
            ).encode(),
        }}
        record = [_record(path, data) for path, data in files.items()]
        record.append(DIST_INFO + "/RECORD,,")
        files[DIST_INFO + "/RECORD"] = ("\\n".join(record) + "\\n").encode()
        filename = NAME + "-" + VERSION + "-py3-none-any.whl"
        with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as archive:
            for path, data in files.items():
                archive.writestr(path, data)
        return filename
    '''
)


def write_fake_sdist(dest: Path, name: str = "fake", version: str = "1.0") -> Path:
    """Write `<name>-<version>.tar.gz` into `dest`; return its path."""
    dest.mkdir(parents=True, exist_ok=True)
    root = f"{name}-{version}"
    pyproject = textwrap.dedent(
        f"""\
        [build-system]
        requires = []
        build-backend = "fakebackend"
        backend-path = ["_backend"]

        [project]
        name = "{name}"
        version = "{version}"
        """
    )
    pkg_info = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    members = {
        f"{root}/pyproject.toml": pyproject,
        f"{root}/PKG-INFO": pkg_info,
        f"{root}/_backend/fakebackend.py": BACKEND.format(name=name, version=version),
    }
    path = dest / f"{root}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return path


def mpi_site_toml(wheelhouse: Path, extra: str = "", package: str = "fake") -> str:
    """A site.toml whose one wheelhouse directory (`generic/`, for every arch) holds the
    key-sensitive sdist `package` (`fake`, or the real mpi4py): MPI modules enter the key by
    family, cuda by name, and `package` gets the key as an extra build variable. `extra` is
    appended (more TOML tables)."""
    return f"""
[wheelhouse]
root = "{wheelhouse}"
pypi = false
[wheelhouse.arch]
avx512 = ["generic"]
avx2 = ["generic"]
generic = ["generic"]
[cache_key]
modules = ["cuda"]
families = ["mpi"]
packages = ["{package}"]
{extra}
"""
