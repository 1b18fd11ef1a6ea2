"""The POSIX-sh scripts of the module's bin/: a few assignments in front of static bodies from
sh/ (`uv`: sh/uvmod-key.sh + sh/uv-phases.sh + sh/uv-wrapper.sh; `uvx`: sh/uvx.sh; `uvmod`:
sh/uvmod.sh), and the Jupyter kernel launcher of libexec/ (sh/uvmod-kernel.sh).

The wrapper's assignments carry the site's values (from the module description) and every name
or limit its body shares with the Python side (uvmod/depot.py, uvmod/moduledesc.py,
uvmod/cachekey.py): the body spells none of them (docs/design.md#one-home-for-each-rule).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from uvmod import __version__, depot
from uvmod.cachekey import family_variables
from uvmod.moduledesc import (
    ARCH_VARIABLE,
    DEPOT_VARIABLE,
    DRY_RUN_VARIABLE,
    KEY_SOURCE_HOOK,
    KEY_SOURCE_VARIABLE,
    ModuleDescription,
)
from uvmod.render import MARKER, packaged_text


def sh_quote(value: str) -> str:
    """Single-quote for POSIX sh: everything is literal inside '...' except the quote itself."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def render_script(assignments: Mapping[str, str], *bodies: str) -> str:
    """`#!/bin/sh`, the marker, one `NAME='value'` line per assignment, then the bodies (names of
    files in sh/) in order."""
    lines = [
        "#!/bin/sh",
        f"# {MARKER}: written by uvmod {__version__} build-modulefiles; do not edit.",
    ]
    lines += [f"{name}={sh_quote(value)}" for name, value in assignments.items()]
    return "\n".join(lines) + "\n" + "".join(packaged_text("sh", body) for body in bodies)


# The key library and the phases are functions only and come first; sh/uv-wrapper.sh calls
# them. All stay real files that `sh -n` and shellcheck check on their own.
WRAPPER_BODIES = ("uvmod-key.sh", "uv-phases.sh", "uv-wrapper.sh")

# The shared names and limits, the same for every site.
SHARED_ASSIGNMENTS: dict[str, str] = {
    "UVMOD_DEPOT_VARIABLE": DEPOT_VARIABLE,
    "UVMOD_ARCH_VARIABLE": ARCH_VARIABLE,
    "UVMOD_KEY_SOURCE_VARIABLE": KEY_SOURCE_VARIABLE,
    "UVMOD_KEY_SOURCE_HOOK": KEY_SOURCE_HOOK,
    "UVMOD_DRY_RUN_VARIABLE": DRY_RUN_VARIABLE,
    "UVMOD_KEY_PUNCTUATION": depot.KEY_PUNCTUATION,
    "UVMOD_KEY_DIR_PREFIX": depot.KEY_DIR_PREFIX,
    "UVMOD_KEY_SLASH": depot.KEY_SLASH,
    "UVMOD_KEY_HASHED_PREFIX": depot.HASHED_KEY_PREFIX,
    "UVMOD_KEY_DIR_MAX": str(depot.KEY_DIR_MAX),
    "UVMOD_DEPOT_CONFIG": depot.CONFIG,
    "UVMOD_DEPOT_SETUPTOOLS": depot.SETUPTOOLS,
    "UVMOD_DEPOT_INDEX": depot.INDEX,
    "UVMOD_DEPOT_INDEX_NAME": depot.INDEX_NAME,
    "UVMOD_DEPOT_MARKER": depot.MARKER,
    "UVMOD_DEPOT_LAST_USED": depot.LAST_USED,
    "UVMOD_DEPOT_TRASH": depot.TRASH,
    "UVMOD_DEPOT_TAG": depot.DEPOT_TAG,
    # One `?` per hex digit of the name's hash: a sh pattern both takes and checks that many.
    "UVMOD_HASH_GLOB": "?" * depot.HASH_CHARS,
    "UVMOD_READABLE_MAX": str(depot.READABLE_MAX),
    "UVMOD_READABLE_EMPTY": depot.READABLE_EMPTY,
    "UVMOD_NAME_PUNCTUATION": depot.NAME_PUNCTUATION,
    "UVMOD_MARKER_HEADER": depot.MARKER_HEADER,
    "UVMOD_WORKSPACE_ERE": depot.WORKSPACE_ERE,
}


def body() -> str:
    """The uv wrapper's static part (the build id covers it)."""
    return "".join(packaged_text("sh", name) for name in WRAPPER_BODIES)


def build_id(desc: ModuleDescription, policies: Iterable[str]) -> str:
    """Names the wrapper's per-key uv.toml directory: it changes whenever what those files hold
    (a policy file, the key variable or packages, or the wrapper code that writes them) changes,
    so a rebuilt tree never reuses stale copies. It is in no path uv builds see
    (docs/design.md#per-key-builds): a new build id rewrites small files, never a wheel.
    Written into the site facts too, where `uvmod venv gc` reads it (uvmod/sitefacts.py)."""
    digest = hashlib.sha256()
    digest.update(body().encode() + b"\0")
    for text in policies:
        digest.update(text.encode() + b"\0")
    digest.update(desc.cache_key.variable.encode() + b"\0")
    digest.update(" ".join(desc.cache_key.packages).encode())
    return digest.hexdigest()[:16]


def wrapper_assignments(desc: ModuleDescription, build: str) -> dict[str, str]:
    """The values at the top of the wrapper (their meaning: the header of sh/uv-phases.sh)."""
    key = desc.cache_key
    return {
        "UVMOD_MODULE": desc.name,
        "UVMOD_REAL_UV": desc.wrapper.real_uv,
        "UVMOD_ETC": desc.wrapper.etc_dir,
        "UVMOD_BUILD_ID": build,
        "UVMOD_KEY_VARIABLE": key.variable,
        # Package names are validated ([A-Za-z0-9._-]), so the wrapper may split on spaces.
        "UVMOD_KEY_PACKAGES": " ".join(key.packages),
        "UVMOD_KEY_MODULES": " ".join(key.modules),
        "UVMOD_KEY_FAMILY_VARS": " ".join(
            variable for family in key.families for variable in family_variables(family)
        ),
        **SHARED_ASSIGNMENTS,
    }


def render_wrapper(desc: ModuleDescription, build: str) -> str:
    return render_script(wrapper_assignments(desc, build), *WRAPPER_BODIES)


def render_uvx(wrapper: str) -> str:
    return render_script({"UVMOD_UV_WRAPPER": wrapper}, "uvx.sh")


def render_uvmod(module: str, python: str, program: str) -> str:
    return render_script(
        {"UVMOD_MODULE": module, "UVMOD_PYTHON": python, "UVMOD_PROGRAM": program}, "uvmod.sh"
    )


def render_kernel_launcher(module: str) -> str:
    return render_script({"UVMOD_MODULE": module}, "uvmod-kernel.sh")
