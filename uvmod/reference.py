"""docs/config-reference.md, generated from the configuration model.

The model (uvmod/config.py) is the one place where keys, types, defaults and their meaning are
written down: each section's docstring is the prose of its part of the page, and each key's
`kind` and `meaning` (uvmod.config._key) are table columns. Regenerate the page with

    python -m uvmod.reference > docs/config-reference.md

tests/test_reference.py fails when the committed page differs from this output.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

import tomli_w
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from uvmod.config import SiteConfig

HEADER = (
    "<!-- Generated from uvmod/config.py by `python -m uvmod.reference`; do not edit. -->\n"
    "# Configuration reference (`site.toml`)\n"
)


def toml_inline(value: Any) -> str:
    """A default as it would be written in site.toml, on one line."""
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{k} = {toml_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_inline(v) for v in value) + "]"
    return tomli_w.dumps({"v": value}).removeprefix("v = ").rstrip("\n")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _extra(field: FieldInfo, name: str) -> str | None:
    extra = field.json_schema_extra
    if isinstance(extra, dict):
        value = extra.get(name)
        return value if isinstance(value, str) else None
    return None


def _default(field: FieldInfo) -> str:
    shown = _extra(field, "shown_default")
    if shown is not None:
        return shown
    value = field.get_default(call_default_factory=True)
    return "none" if value is None else f"`{toml_inline(value)}`"


def _table(model: type[BaseModel]) -> list[str]:
    lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        kind = _extra(field, "kind")
        if kind is None or field.description is None:
            raise AssertionError(f"{model.__name__}.{name} is not documented (use config._key)")
        cells = [f"`{name}`", kind, _default(field), field.description]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _prose(model: type[BaseModel]) -> str:
    return inspect.cleandoc(model.__doc__ or "")


def render_reference() -> str:
    parts = [HEADER, _prose(SiteConfig) + "\n"]
    for name, field in SiteConfig.model_fields.items():
        section = field.annotation
        assert isinstance(section, type) and issubclass(section, BaseModel)
        parts.append(f"## `[{name}]`\n")
        parts.append(_prose(section) + "\n")
        parts.append("\n".join(_table(section)) + "\n")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(render_reference())
