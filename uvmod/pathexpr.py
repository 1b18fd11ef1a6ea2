"""`${VAR}` / `${VAR:-default}` path templates, parsed now and expanded at module load time.

The site config keeps references such as `${SCRATCH:-${HOME}/.cache}/uv` so that each user gets
their own paths; the modulefile (Lua or Tcl) expands them when the module is loaded. Parsing here
turns the text into a small tree the renderers can emit as data, so no shell syntax is ever pasted
into Lua or Tcl. Only the braced forms are accepted: a bare `$HOME` is ambiguous to readers of
three languages, so it is rejected with a hint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Text:
    """Literal text."""

    text: str


@dataclass(frozen=True)
class EnvRef:
    """`${name}` (default None) or `${name:-default}`: shell semantics, empty counts as unset."""

    name: str
    default: tuple[Part, ...] | None = None


@dataclass(frozen=True)
class ArchRef:
    """The CPU architecture detected at load time (used by the module description, not configs)."""


Part = Text | EnvRef | ArchRef
Template = tuple[Part, ...]


class TemplateError(ValueError):
    pass


def parse(text: str) -> Template:
    """Parse a path template; raise TemplateError with a readable message."""
    parts, end = _parse_until(text, 0, stop_at_brace=False)
    assert end == len(text)
    return parts


def _parse_until(text: str, pos: int, *, stop_at_brace: bool) -> tuple[Template, int]:
    parts: list[Part] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            parts.append(Text("".join(literal)))
            literal.clear()

    while pos < len(text):
        char = text[pos]
        if char == "}" and stop_at_brace:
            flush()
            return tuple(parts), pos
        if char != "$":
            literal.append(char)
            pos += 1
            continue
        if not text.startswith("${", pos):
            raise TemplateError(
                f"'$' at position {pos} must start a ${{VAR}} or ${{VAR:-default}} reference"
            )
        match = _NAME.match(text, pos + 2)
        if match is None:
            raise TemplateError(f"a variable name must follow '${{' at position {pos}")
        name = match.group()
        pos = match.end()
        default: Template | None = None
        if text.startswith(":-", pos):
            default, pos = _parse_until(text, pos + 2, stop_at_brace=True)
        if pos >= len(text) or text[pos] != "}":
            raise TemplateError(f"'${{{name}' is not closed with '}}'")
        flush()
        parts.append(EnvRef(name, default))
        pos += 1
    if stop_at_brace:
        raise TemplateError("a '${VAR:-default}' reference is not closed with '}'")
    flush()
    return tuple(parts), pos


def variables(template: Template) -> list[str]:
    """Every variable name a template refers to, in order (for docs and doctor)."""
    names: list[str] = []
    for part in template:
        if isinstance(part, EnvRef):
            names.append(part.name)
            if part.default is not None:
                names.extend(variables(part.default))
    return names


def expand(template: Template, environ: dict[str, str] | None = None, arch: str = "") -> str:
    """Expand like the modulefiles do (used by `uvmod` commands run outside a loaded module).

    Raises KeyError with the variable name when a `${VAR}` without default is unset or empty.
    """
    import os

    env = os.environ if environ is None else environ
    out: list[str] = []
    for part in template:
        if isinstance(part, Text):
            out.append(part.text)
        elif isinstance(part, ArchRef):
            out.append(arch)
        else:
            value = env.get(part.name, "")
            if value:
                out.append(value)
            elif part.default is not None:
                out.append(expand(part.default, dict(env), arch))
            else:
                raise KeyError(part.name)
    return "".join(out)
