"""The per-architecture site policy as data: the uv settings each architecture's system uv.toml
holds (render/uvtoml.py spells them as TOML; doctor compares a uv.toml on disk with them).

Why a system uv.toml and these settings (docs/design.md#site-policy and
docs/design.md#wheelhouse-priority, checked with uv 0.13.8):
- `UV_CONFIG_FILE`/`UV_NO_CONFIG` would drop the project's own `[tool.uv]`; a system file does not.
- `find-links` versions are merged with the index's and the highest wins, so PyPI's numpy 1.26
  beats 1.24.2+computecanada. Wheelhouse-first therefore lists each directory as a flat `[[index]]`
  before the default index with `index-strategy = "unsafe-first-match"`, which exhausts the
  versions of one index before moving to the next (so setuptools 50.3.2 in an early directory does
  not hide 75.1.0 in a later one, see https://github.com/astral-sh/uv/issues/16216).
- Wheelhouse-only (`pypi = false`) is `no-index` + `find-links`: every directory's versions merged.
Both are top-level settings, so they apply to `uv pip` and project commands alike, and to the
resolution of `build-system.requires`.
"""

from __future__ import annotations

import re
from typing import Any

from uvmod.config import SiteConfig


def index_name(relative_dir: str) -> str:
    """uv index names allow letters, digits, '-', '_' and '.'."""
    return "wheelhouse-" + re.sub(r"[^A-Za-z0-9._-]", "-", relative_dir)


def wheelhouse_dirs(config: SiteConfig, arch: str) -> list[tuple[str, str]]:
    """(relative, absolute) wheelhouse directories of one architecture, most specific first."""
    root = config.wheelhouse.root
    if root is None:
        return []
    return [(rel, f"{root.rstrip('/')}/{rel}") for rel in config.wheelhouse.arch.get(arch, [])]


def policy(config: SiteConfig, arch: str, missing: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The uv.toml settings for one architecture, as plain data.

    `missing` holds wheelhouse directories absent when building: uv fails outright on a
    find-links directory that does not exist ("Failed to read `--find-links` directory"), so
    they are left out rather than breaking every uv call on the cluster.
    """
    wheelhouse = config.wheelhouse
    present = [(rel, path) for rel, path in wheelhouse_dirs(config, arch) if path not in missing]
    dirs = [path for _, path in present]
    settings: dict[str, Any] = {}
    if not wheelhouse.pypi:
        settings["no-index"] = True
        settings["find-links"] = dirs
    elif dirs:
        settings["index-strategy"] = wheelhouse.index_strategy
    if wheelhouse.only_binary:
        settings["no-build-package"] = list(wheelhouse.only_binary)
    if wheelhouse.pypi and dirs:
        settings["index"] = [
            {"name": index_name(rel), "url": path, "format": "flat"} for rel, path in present
        ]
    return settings
