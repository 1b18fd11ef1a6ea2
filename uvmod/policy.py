"""The per-architecture site policy as data: the uv settings each architecture's system uv.toml
holds (render/uvtoml.py spells them as TOML; doctor compares a uv.toml on disk with them).

Why a system uv.toml and these settings (docs/design.md#site-policy and
docs/design.md#wheelhouse-priority, checked with uv 0.13.8):
- `UV_CONFIG_FILE`/`UV_NO_CONFIG` would drop the project's own `[tool.uv]`; a system file does not.
- Every wheelhouse directory is a flat `[[index]]`, most specific first: flat indexes settle a
  tie (one file name in several directories, as the Alliance's per-arch builds of
  `numpy-1.24.2+computecanada`) by their order under every index-strategy, while `find-links`
  merges its directories and breaks the tie by path, not by the configured order
  (docs/design.md#which-file-uv-takes).
- Wheelhouse first (`pypi = true`): the flat indexes before the default index with
  `index-strategy = "unsafe-first-match"` (the site may choose another), which exhausts the
  versions of one index before moving to the next, so PyPI's numpy 1.26 does not beat
  1.24.2+computecanada and setuptools 50.3.2 in an early directory does not hide 75.1.0 in a
  later one (https://github.com/astral-sh/uv/issues/16216).
- Wheelhouse only (`pypi = false`): the last directory is the `default = true` index, so PyPI is
  never consulted, and `index-strategy = "unsafe-best-match"`: the highest version in any
  directory, a tie to the earlier directory (pip's find-links, with priority).
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
    directory that does not exist ("Failed to read `--find-links` directory"), so they are left
    out rather than breaking every uv call on the cluster.
    """
    wheelhouse = config.wheelhouse
    present = [(rel, path) for rel, path in wheelhouse_dirs(config, arch) if path not in missing]
    settings: dict[str, Any] = {}
    if present:
        settings["index-strategy"] = strategy(config)
    if wheelhouse.only_binary:
        settings["no-build-package"] = list(wheelhouse.only_binary)
    if present:
        indexes: list[dict[str, Any]] = [
            {"name": index_name(rel), "url": path, "format": "flat"} for rel, path in present
        ]
        if not wheelhouse.pypi:
            indexes[-1]["default"] = True
        settings["index"] = indexes
    return settings


def strategy(config: SiteConfig) -> str:
    """The index-strategy over the wheelhouse directories (the module docstring says why)."""
    return config.wheelhouse.index_strategy if config.wheelhouse.pypi else "unsafe-best-match"
