"""The one data table of the modulefiles: built once from the module description, spelled by
render/lua.py as a Lua table and by render/tcl.py as a Tcl dict.

The static bodies (lua/*.lua, tcl/*.tcl) read only this table, so a feature added to the
description reaches both module tools, and every name they share with the wrapper and `uvmod
key` (the arch and key-source variables, the family variables' prefixes, the key sources) comes
from the Python constants (docs/design.md#one-home-for-each-rule).

Only strings, lists and string-keyed mappings: a Tcl value has no other types, so a path
template's parts carry their kind as a field ({kind = "text", text = ...}, {kind = "env", name
= ..., default = {...}}, {kind = "arch"}).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from uvmod.cachekey import LMOD_FAMILY_PREFIX, MODULES_FAMILY_PREFIX
from uvmod.moduledesc import (
    ARCH_VARIABLE,
    KEY_SOURCE_HOOK,
    KEY_SOURCE_LOAD,
    KEY_SOURCE_VARIABLE,
    MACHINE_VARIABLE,
    ModuleDescription,
    SetEnv,
)
from uvmod.pathexpr import ArchRef, EnvRef, Template, Text

TableValue = str | Sequence["TableValue"] | Mapping[str, "TableValue"]


def template_table(template: Template) -> list[TableValue]:
    """A path template as a list of tagged parts."""
    parts: list[TableValue] = []
    for part in template:
        if isinstance(part, Text):
            parts.append({"kind": "text", "text": part.text})
        elif isinstance(part, ArchRef):
            parts.append({"kind": "arch"})
        elif isinstance(part, EnvRef):
            ref: dict[str, TableValue] = {"kind": "env", "name": part.name}
            if part.default is not None:
                ref["default"] = template_table(part.default)
            parts.append(ref)
    return parts


def cache_key_table(desc: ModuleDescription) -> dict[str, TableValue]:
    """`site.cache_key`: what lua/cache_key.lua, tcl/cache_key.tcl and the bodies read."""
    return {
        "variable": desc.cache_key.variable,
        "source_variable": KEY_SOURCE_VARIABLE,
        "source_load": KEY_SOURCE_LOAD,
        "source_hook": KEY_SOURCE_HOOK,
        "lmod_family_prefix": LMOD_FAMILY_PREFIX,
        "modules_family_prefix": MODULES_FAMILY_PREFIX,
        "modules": list(desc.cache_key.modules),
        "families": list(desc.cache_key.families),
    }


def module_table(desc: ModuleDescription) -> dict[str, TableValue]:
    """The modulefile's table (`local site` in Lua, `uvmod_site` in Tcl)."""
    actions: list[TableValue] = [
        {
            "op": "setenv" if isinstance(action, SetEnv) else "prepend_path",
            "name": action.name,
            "value": template_table(action.value),
        }
        for action in desc.actions
    ]
    return {
        "name": desc.name,
        "version": desc.version,
        "family": desc.family,
        "help": desc.help_text,
        "whatis": list(desc.whatis),
        "arch": {
            "variable": ARCH_VARIABLE,
            "override_variables": list(desc.arch.override_variables),
            "cpuinfo_variable": desc.arch.cpuinfo_variable,
            "machine_variable": MACHINE_VARIABLE,
            "machine_override_variable": desc.arch.machine_override_variable,
            "rules": [
                {"arch": r.arch, "machine": r.machine, "flags": list(r.flags)}
                for r in desc.arch.rules
            ],
        },
        "cache_key": cache_key_table(desc),
        "actions": actions,
    }


def hooks_table(desc: ModuleDescription) -> dict[str, TableValue]:
    """The part of the table the Lmod hooks need (lua/uvmod_hooks.lua)."""
    return {"name": desc.name, "cache_key": cache_key_table(desc)}
