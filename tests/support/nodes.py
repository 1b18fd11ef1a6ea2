"""The node type (arch, machine) a test's environment is made for: the arch the test's module
load picks (most set RSNT_ARCH=generic) on this machine (docs/design.md#node-types)."""

from __future__ import annotations

import platform

from uvmod import depot


def node(arch: str = "generic") -> depot.Node:
    return depot.Node(arch, platform.machine())


def detected_node(config_text: str = "") -> depot.Node:
    """The node type a module built from `config_text` (default: the default site) picks here
    when nothing overrides the detection: what uvmod/archdetect.py decides on this machine."""
    from uvmod.archdetect import detect
    from uvmod.config import parse_config
    from uvmod.moduledesc import ArchDetection, arch_rules

    config = parse_config(config_text, "site.toml")
    rules = ArchDetection(tuple(config.arch.env), "UVMOD_CPUINFO", arch_rules(config))
    found = detect(rules, {})
    return depot.Node(found.arch, found.machine)
