"""The node's architecture, decided as the modulefiles decide it (lua/modulefile.lua and
tcl/modulefile.tcl, `detect_arch`), for doctor, `uvmod wheels` and the tests.

The rules (docs/design.md#node-types): an override variable first (the first one set; an
unknown name means the fallback); else the first rule whose machine type, when it names one,
is this node's and whose flags are all on the first `flags` (x86-64) or `Features` (aarch64)
line of /proc/cpuinfo; else the last rule, the fallback. tests/test_arch_rules.py runs one table
of captured cpuinfo files through this module and both modulefiles and requires one answer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from uvmod.moduledesc import ArchDetection

# The x86-64 micro-architecture levels of the psABI (https://gitlab.com/x86-psABIs/x86-64-ABI),
# as the flags Linux shows in /proc/cpuinfo: `pni` is SSE3, `abm` LZCNT, `xsave` stands for
# OSXSAVE (the kernel hides xsave when the OS does not enable it). Each level includes the one
# before. The Alliance's gentoo2023/x86-64-v3 and -v4 wheelhouses are built for these levels.
_V2 = ("cx16", "lahf_lm", "popcnt", "pni", "sse4_1", "sse4_2", "ssse3")
_V3 = (*_V2, "avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave")
_V4 = (*_V3, "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl")
X86_64_LEVELS: Mapping[str, tuple[str, ...]] = {
    "x86-64-v2": _V2,
    "x86-64-v3": _V3,
    "x86-64-v4": _V4,
}

_FEATURES = re.compile(r"^(?:[Ff]lags|Features)\s*:\s*(.*)$")


def expand_levels(flags: Iterable[str]) -> tuple[str, ...]:
    """A rule's flags with each level name replaced by its flag set, order kept, once each."""
    out: list[str] = []
    for flag in flags:
        for plain in X86_64_LEVELS.get(flag, (flag,)):
            if plain not in out:
                out.append(plain)
    return tuple(out)


def cpu_features(path: str) -> frozenset[str] | None:
    """The flags of the first `flags` or `Features` line; None when unreadable or absent."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                found = _FEATURES.match(line.rstrip("\n"))
                if found:
                    return frozenset(found.group(1).split())
    except OSError:
        return None
    return None


def machine_type(detection: ArchDetection, environ: Mapping[str, str]) -> str:
    """The override variable, else `uname -m`."""
    return environ.get(detection.machine_override_variable, "").strip() or os.uname().machine


@dataclass(frozen=True)
class Detected:
    arch: str
    machine: str
    how: str  # "override $VAR", "cpuinfo <path>" or "fallback"
    message: str | None = None  # what the modulefile says on load, if anything


def detect(detection: ArchDetection, environ: Mapping[str, str]) -> Detected:
    """The arch the modulefile picks on this node with these variables."""
    machine = machine_type(detection, environ)
    fallback = detection.fallback
    known = {rule.arch for rule in detection.rules}
    for variable in detection.override_variables:
        value = environ.get(variable, "")
        if value:
            value = value.strip()
            if value in known:
                return Detected(value, machine, f"override ${variable}")
            said = f"${variable}={value} is not a known architecture; using {fallback}"
            return Detected(fallback, machine, "fallback", said)
    path = environ.get(detection.cpuinfo_variable, "/proc/cpuinfo")
    features = cpu_features(path)
    if features is None:
        said = f"cannot read CPU flags from {path}; using {fallback}"
        return Detected(fallback, machine, "fallback", said)
    for rule in detection.rules:
        if rule.machine in ("", machine) and all(flag in features for flag in rule.flags):
            return Detected(rule.arch, machine, f"cpuinfo {path}")
    return Detected(fallback, machine, "fallback")
