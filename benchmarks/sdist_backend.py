"""PEP 517 backend of the benchmark's key-sensitive package (item 5).

Copied as `backend.py` into the sdist that wheelhouse.write_key_sensitive_sdist makes. It stands
in for mpi4py: the wheel it builds records the cache key it was built under, and every build
appends a line to $UVMOD_BENCH_BUILD_LOG so the harness counts builds instead of guessing them
from uv's output. Standard library only: the sdist needs nothing from an index to build.
"""

from __future__ import annotations

import base64
import hashlib
import os
import zipfile

NAME = "bench_mpi_ext"
VERSION = "0.1.0"
DIST_INFO = f"{NAME}-{VERSION}.dist-info"


def get_requires_for_build_wheel(config_settings: object = None) -> list[str]:
    return []


def _record(entries: list[tuple[str, bytes]]) -> bytes:
    lines = []
    for name, data in entries:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{name},sha256={digest},{len(data)}")
    lines.append(f"{DIST_INFO}/RECORD,,")
    return ("\n".join(lines) + "\n").encode()


def build_wheel(
    wheel_directory: str, config_settings: object = None, metadata_directory: object = None
) -> str:
    key = os.environ.get("UVMOD_CACHE_KEY", "")
    log = os.environ.get("UVMOD_BENCH_BUILD_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"built for key={key!r}\n")
    texts = [
        (f"{NAME}/__init__.py", f"BUILT_FOR = {key!r}\n"),
        (f"{DIST_INFO}/METADATA", f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {VERSION}\n"),
        (
            f"{DIST_INFO}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: uvmod-bench\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n",
        ),
    ]
    encoded = [(name, text.encode()) for name, text in texts]
    filename = f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as archive:
        for name, data in encoded:
            archive.writestr(name, data)
        archive.writestr(f"{DIST_INFO}/RECORD", _record(encoded))
    return filename
