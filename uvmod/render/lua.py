"""Lua rendering: one escaper, the data table of render/table.py spelled as Lua, and the static
bodies from lua/."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from uvmod import __version__
from uvmod.moduledesc import ModuleDescription
from uvmod.render import MARKER, packaged_text
from uvmod.render.table import hooks_table, module_table

LuaValue = str | int | bool | Sequence["LuaValue"] | Mapping[str, "LuaValue"]

_PLAIN = {ord("\\"): "\\\\", ord('"'): '\\"'}


def lua_string(value: str) -> str:
    """A double-quoted Lua string literal that means exactly `value`.

    Control bytes become `\\ddd` with three digits, so a following digit is never absorbed;
    `\\x` and `\\u{}` are avoided because old Lmod builds run Lua 5.1
    (docs/design.md#values-in-lua-tcl-and-sh). Other bytes, UTF-8 included, are carried as they
    are: Lua strings are byte strings.
    """
    out = []
    for char in value:
        code = ord(char)
        if code in _PLAIN:
            out.append(_PLAIN[code])
        elif code < 32 or code == 127:
            out.append(f"\\{code:03d}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def lua_long_string(value: str) -> str:
    """A long-bracket literal `[==[...]==]` whose closer does not occur in `value`.

    Used for help text so it stays readable in the file. A leading newline is added because Lua
    drops the first newline after the opener.
    """
    level = 0
    while f"]{'=' * level}]" in value or value.endswith("]" + "=" * level):
        level += 1
    eq = "=" * level
    return f"[{eq}[\n{value}]{eq}]"


def lua_value(value: LuaValue, indent: str = "") -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return lua_string(value)
    inner = indent + "  "
    if _is_short_scalar_list(value):
        assert isinstance(value, Sequence)
        return "{ " + ", ".join(lua_value(item) for item in value) + " }"
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        items = [f"{inner}{key} = {lua_value(item, inner)}," for key, item in value.items()]
        return "{\n" + "\n".join(items) + f"\n{indent}}}"
    if not value:
        return "{}"
    items = [f"{inner}{lua_value(item, inner)}," for item in value]
    return "{\n" + "\n".join(items) + f"\n{indent}}}"


def _is_short_scalar_list(value: LuaValue) -> bool:
    """Short lists of strings stay on one line, which keeps generated files readable."""
    if isinstance(value, str | Mapping) or not isinstance(value, Sequence) or not value:
        return False
    return all(isinstance(item, str) for item in value) and sum(len(str(i)) for i in value) < 60


def _header() -> str:
    return (
        f"-- {MARKER}: written by uvmod {__version__} build-modulefiles; do not edit.\n"
        f"-- Regenerate it from the site configuration instead.\n"
    )


def render_modulefile(desc: ModuleDescription) -> str:
    """The Lmod modulefile: marker header, `local site` data table, then the static body. The
    help text follows the table as a long string, which keeps it readable in the file."""
    table = module_table(desc)
    help_text = table.pop("help")
    assert isinstance(help_text, str)
    return (
        _header()
        + f"local site = {lua_value(table)}\n"
        + f"site.help = {lua_long_string(help_text)}\n\n"
        + packaged_text("lua", "cache_key.lua")
        + "\n"
        + packaged_text("lua", "modulefile.lua")
    )


def render_hooks(desc: ModuleDescription) -> str:
    """PREFIX/lmod/uvmod_hooks.lua: the data the hooks need, the key function, the hooks."""
    return (
        _header()
        + f"local site = {lua_value(hooks_table(desc))}\n\n"
        + packaged_text("lua", "cache_key.lua")
        + "\n"
        + packaged_text("lua", "uvmod_hooks.lua")
    )


def render_site_package(hooks_path: str) -> str:
    """PREFIX/lmod/SitePackage.lua for LMOD_PACKAGE_PATH=PREFIX/lmod: the same one `dofile` line
    the admin guide gives sites that already have a SitePackage.lua, so both routes run the same
    code."""
    return (
        _header()
        + "-- Lmod loads the first SitePackage.lua on LMOD_PACKAGE_PATH (utils.lua,\n"
        + "-- initialize_lmod); a site with its own SitePackage.lua adds the line below to it.\n"
        + f"dofile({lua_string(hooks_path)})\n"
    )
