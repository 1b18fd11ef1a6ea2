"""The POSIX-sh scripts of the module's bin/: a few assignments in front of static bodies from
sh/ (`uv`: sh/uv-start.sh + sh/uvmod-key.sh + sh/uv-phases.sh + sh/uv-wrapper.sh, and its
library libexec/uv-rare.sh: sh/uv-rare.sh; `uvx`: sh/uvx.sh; `uvmod`: sh/uvmod.sh), and the
Jupyter kernel launcher of libexec/ (sh/uvmod-kernel.sh).

The wrapper's assignments carry the site's values (from the module description) and every name
or limit its body shares with the Python side (uvmod/depot.py, uvmod/moduledesc.py,
uvmod/cachekey.py): the body spells none of them (docs/design.md#one-home-for-each-rule).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from uvmod import __version__, depot, jobs, pipstack
from uvmod.cachekey import family_variables
from uvmod.kernelspec import FORMAT as KERNEL_FORMAT
from uvmod.layout import InstallDir
from uvmod.moduledesc import (
    ARCH_VARIABLE,
    DEPOT_VARIABLE,
    DRY_RUN_VARIABLE,
    HOME_VARIABLE,
    KEY_SOURCE_HOOK,
    KEY_SOURCE_VARIABLE,
    MACHINE_VARIABLE,
    ModuleDescription,
)
from uvmod.render import MARKER, packaged_text


def sh_quote(value: str) -> str:
    """Single-quote for POSIX sh: everything is literal inside '...' except the quote itself."""
    return "'" + value.replace("'", "'\"'\"'") + "'"


def render_script(assignments: Mapping[str, str], *bodies: str, comments: bool = True) -> str:
    """`#!/bin/sh`, the marker, one `NAME='value'` line per assignment, then the bodies (names of
    files in sh/) in order; with comments=False, the bodies without their comment lines."""
    lines = [
        "#!/bin/sh",
        f"# {MARKER}: written by uvmod {__version__} build-modulefiles; do not edit.",
    ]
    if not comments:
        lines += [
            "# The code of these files of uvmod, without their comments (they explain it, and",
            "# uvmod docs/design.md#the-wrapper says why they are left out here):",
            "#   " + " ".join(f"sh/{body}" for body in bodies),
        ]
    lines += [f"{name}={sh_quote(value)}" for name, value in assignments.items()]
    texts = (packaged_text("sh", body) for body in bodies)
    return (
        "\n".join(lines)
        + "\n"
        + "".join(text if comments else without_comment_lines(text) for text in texts)
    )


# sh/uv-start.sh first (it execs before the rest is even read), then the key library and the
# phases (functions only), then sh/uv-wrapper.sh, which calls them. The rarely run phases are a
# file of their own, read only when needed. All stay real files that `sh -n` and shellcheck
# check on their own.
WRAPPER_BODIES = ("uv-start.sh", "uvmod-key.sh", "uv-phases.sh", "uv-wrapper.sh")
LIBRARY_BODY = "uv-rare.sh"

# The shared names and limits, the same for every site: those bin/uv reads...
WRAPPER_CONSTANTS: dict[str, str] = {
    "UVMOD_DEPOT_VARIABLE": DEPOT_VARIABLE,
    "UVMOD_ARCH_VARIABLE": ARCH_VARIABLE,
    "UVMOD_MACHINE_VARIABLE": MACHINE_VARIABLE,
    "UVMOD_NODE_DIR_PREFIX": depot.NODE_DIR_PREFIX,
    "UVMOD_NODE_SEPARATOR": depot.NODE_SEPARATOR,
    "UVMOD_NODE_PUNCTUATION": depot.NODE_PUNCTUATION,
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
    "UVMOD_DEPOT_CHECKED": depot.CHECKED,
    "UVMOD_DEPOT_TAG": depot.DEPOT_TAG,
    # One `?` per hex digit of the name's hash: a sh pattern both takes and checks that many.
    "UVMOD_HASH_GLOB": "?" * depot.HASH_CHARS,
    "UVMOD_NAME_PUNCTUATION": depot.NAME_PUNCTUATION,
}
# ...and those only its library reads (bin/uv's are there too: the library is read by bin/uv).
LIBRARY_CONSTANTS: dict[str, str] = {
    "UVMOD_DEPOT_TRASH": depot.TRASH,
    "UVMOD_DEPOT_TEMPORARY": depot.TEMPORARY,
    "UVMOD_WORKSPACE_ERE": depot.WORKSPACE_ERE,
    "UVMOD_READABLE_MAX": str(depot.READABLE_MAX),
    "UVMOD_READABLE_EMPTY": depot.READABLE_EMPTY,
    "UVMOD_MARKER_HEADER": depot.MARKER_HEADER,
    "UVMOD_MANYLINUX_FILE": pipstack.MANYLINUX_FILE,
    "UVMOD_MANYLINUX_TEXT": pipstack.MANYLINUX_TEXT,
}


def body() -> str:
    """The uv wrapper's static part, its library included (the build id covers it)."""
    return "".join(packaged_text("sh", name) for name in (*WRAPPER_BODIES, LIBRARY_BODY))


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
        "UVMOD_BUILD_ID": build,
        "UVMOD_RARE_LIBRARY": desc.wrapper.library,
        "UVMOD_KEY_VARIABLE": key.variable,
        # Package names are validated ([A-Za-z0-9._-]), so the wrapper may split on spaces.
        "UVMOD_KEY_PACKAGES": " ".join(key.packages),
        "UVMOD_KEY_MODULES": " ".join(key.modules),
        "UVMOD_KEY_FAMILY_VARS": " ".join(
            variable for family in key.families for variable in family_variables(family)
        ),
        **WRAPPER_CONSTANTS,
        **pip_stack_assignments(desc),
        **job_assignments(desc),
    }


def pip_stack_assignments(desc: ModuleDescription) -> dict[str, str]:
    """The pip stack's switches (sh/uv-phases.sh, _uvmod_pip_stack): "" when off."""
    return {
        "UVMOD_NO_MANYLINUX": "1" if desc.wrapper.refuse_manylinux else "",
        "UVMOD_MANYLINUX_FLAG": pipstack.MANYLINUX_FLAG,
        "UVMOD_INIT_ENVIRONMENTS": desc.wrapper.init_environments,
    }


def job_assignments(desc: ModuleDescription) -> dict[str, str]:
    """What bin/uv needs to tell a call in a job that chose a job-local environment
    (sh/uv-phases.sh, _uvmod_job_local): the site's default ("1" or "") and the variable names,
    validated ([A-Za-z_][A-Za-z0-9_]*), so `eval` may read them."""
    return {
        "UVMOD_JOB_LOCAL_DEFAULT": "1" if desc.jobs.local_envs else "",
        "UVMOD_JOB_LOCAL_VARIABLE": jobs.JOB_LOCAL_VARIABLE,
        "UVMOD_JOB_ID_VARIABLE": desc.jobs.job_variable,
    }


def job_library_assignments(desc: ModuleDescription) -> dict[str, str]:
    """What only the library's job-local part reads (sh/uv-rare.sh, _uvmod_job_environment)."""
    return {
        "UVMOD_JOB_DIR_VARIABLE": desc.jobs.local_dir_variable,
        "UVMOD_JOB_ENVS": jobs.JOB_ENVS,
        "UVMOD_JOB_LINK_MODE_FILE": jobs.LINK_MODE_FILE,
        "UVMOD_JOB_STATE": jobs.STATE,
    }


def library_assignments(desc: ModuleDescription, build: str) -> dict[str, str]:
    """The values only the wrapper's library reads (their meaning: the header of
    sh/uv-rare.sh)."""
    return {
        "_uvmod_rare_build": build,
        "UVMOD_ETC": desc.wrapper.etc_dir,
        **LIBRARY_CONSTANTS,
        **job_library_assignments(desc),
    }


_HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)(\w+)\2")


def without_comment_lines(text: str) -> str:
    """`text` without its lines that are only a comment, but for shellcheck directives and the
    lines of here-documents (which are data). The shell reads every line of bin/uv it reaches,
    comments included, on every uv call: this takes about 0.05 ms off each
    (docs/design.md#the-wrapper). The comments stay in sh/, which bin/uv's header names."""
    kept = []
    delimiter = None
    tabs = False  # `<<-` strips leading tabs from the lines, the closing one included
    for line in text.splitlines(keepends=True):
        if delimiter is not None:
            kept.append(line)
            if (line.lstrip("\t") if tabs else line).rstrip("\n") == delimiter:
                delimiter = None
            continue
        stripped = line.lstrip()
        if stripped.startswith("#") and not stripped.startswith("# shellcheck "):
            continue
        kept.append(line)
        match = _HEREDOC.search(line)
        if match:
            tabs, delimiter = bool(match.group(1)), match.group(3)
    return "".join(kept)


def render_wrapper(desc: ModuleDescription, build: str) -> str:
    return render_script(wrapper_assignments(desc, build), *WRAPPER_BODIES, comments=False)


def render_wrapper_library(desc: ModuleDescription, build: str) -> str:
    """libexec/uv-rare.sh: read by bin/uv (`.`), never run, so no `#!` line. Its assignments
    come last, so that the body's shellcheck directives are the file's first lines; they include
    the build it belongs to, which bin/uv checks before using it."""
    assignments = library_assignments(desc, build)
    return (
        f"# {MARKER}: written by uvmod {__version__} build-modulefiles; do not edit.\n"
        + packaged_text("sh", LIBRARY_BODY)
        + "".join(f"{name}={sh_quote(value)}\n" for name, value in assignments.items())
    )


def render_uvx(wrapper: str) -> str:
    return render_script({"UVMOD_UV_WRAPPER": wrapper}, "uvx.sh")


def render_uvmod(module: str, python: str, program: str) -> str:
    return render_script(
        {"UVMOD_MODULE": module, "UVMOD_PYTHON": python, "UVMOD_PROGRAM": program}, "uvmod.sh"
    )


def render_kernel_launcher(module: str) -> str:
    return render_script(
        {
            "UVMOD_MODULE": module,
            "UVMOD_KERNEL_FORMAT": str(KERNEL_FORMAT),
            "UVMOD_HOME_VARIABLE": HOME_VARIABLE,
            "UVMOD_HOME_WRAPPER": str(InstallDir(PurePosixPath()).wrapper),
        },
        "uvmod-kernel.sh",
    )
