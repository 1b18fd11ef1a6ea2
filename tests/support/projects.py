"""The project the real-uv tests make: an application (no build system) with some dependencies,
`{name}` and `{deps}` (quoted, comma-separated requirement strings) to fill in."""

from __future__ import annotations

PYPROJECT = """\
[project]
name = "{name}"
version = "0.1"
requires-python = ">=3.8"
dependencies = [{deps}]

[tool.uv]
package = false
"""
