"""Tcl rendering for Environment Modules: one escaper, the data table of render/table.py spelled
as a Tcl dict, and the static bodies from tcl/.

The table is the one the Lua renderer spells; only the spelling differs. Everything
site-specific becomes one `set uvmod_site [dict create ...]` command at the top of the file, and
the logic lives in tcl/cache_key.tcl and tcl/modulefile.tcl, real Tcl files that `tclsh` can
check on their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from uvmod import __version__
from uvmod.moduledesc import ModuleDescription
from uvmod.render import MARKER, packaged_text
from uvmod.render.table import module_table

TclValue = str | Sequence["TclValue"] | Mapping[str, "TclValue"]

# Inside a double-quoted Tcl word `\`, `$` and `[` start substitutions and `"` ends the word
# (Tcl(n) rules 4, 7, 8, 9). `]` is escaped as well because the word may sit inside a `[...]`
# command substitution, and braces because a braced body counts them even inside quotes
# (rule 6): escaped braces are never counted. `\{` and `\}` mean plain braces in Tcl.
_ESCAPES = {c: "\\" + c for c in '\\"$[]{}'} | {"\n": "\\n", "\t": "\\t"}


def tcl_string(value: str) -> str:
    """A double-quoted Tcl word that means exactly `value`.

    Control characters cannot reach here (the config model rejects them: a newline breaks the
    shell `eval` of the module command's output), but they are still escaped as `\\u00XX` so the
    file stays one command per line whatever is passed: `\\n` and `\\t` (the help text has
    newlines), else `\\u` with four digits rather than `\\x`, which consumes any number of hex
    digits in Tcl 8.5. Other characters, UTF-8 included, are written as they are.
    """
    out = []
    for char in value:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif code < 32 or code == 127:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def tcl_value(value: TclValue, indent: str = "") -> str:
    """A Tcl expression (a word) building `value`: strings, `[list ...]` and `[dict create ...]`.

    Long lists are split over lines with backslash-newline, which Tcl reads as one space even
    inside `[...]` (Tcl(n) rule 9), so the command stays one command.
    """
    if isinstance(value, str):
        return tcl_string(value)
    inner = indent + "    "
    if isinstance(value, Mapping):
        words = [f"{tcl_string(k)} {tcl_value(v, inner)}" for k, v in value.items()]
        head = "[dict create"
    else:
        words = [tcl_value(item, inner) for item in value]
        head = "[list"
    if not words:
        return head + "]"
    one_line = f"{head} {' '.join(words)}]"
    if len(one_line) + len(indent) <= 90 and "\n" not in one_line:
        return one_line
    return head + "".join(f" \\\n{inner}{word}" for word in words) + "]"


def render_modulefile(desc: ModuleDescription) -> str:
    """The Environment Modules modulefile: `#%Module` cookie, marker, data, static body.

    The cookie must open the file: Environment Modules ignores files without it (modulefile(5)),
    which is also what keeps the `.lua` twin out of its way.
    """
    return (
        "#%Module1.0\n"
        f"# {MARKER}: written by uvmod {__version__} build-modulefiles; do not edit.\n"
        "# Regenerate it from the site configuration instead.\n"
        f"set uvmod_site {tcl_value(module_table(desc))}\n\n"
        + packaged_text("tcl", "cache_key.tcl")
        + "\n"
        + packaged_text("tcl", "modulefile.tcl")
    )
