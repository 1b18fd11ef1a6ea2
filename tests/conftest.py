"""Shared fixtures. Every test gets its own HOME so nothing touches the real one."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import tools
from uvmod.cli import main

# The module-tool matrix (the module_tool, lmod_tool and em_tool fixtures), two real users
# (two_users, tests/support/unixusers.py), random seeds that
# failures report (the rng fixture), and pytest's own pytester (tests/test_seeds.py).
pytest_plugins = (
    "tests.support.matrix",
    "tests.support.seeds",
    "tests.support.unixusers",
    "pytester",
)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point HOME/XDG dirs at a temporary directory for the test (pre-commit does the same):
    a test that would write to the real $HOME writes there instead."""
    home = tmp_path_factory.mktemp("home")
    saved = dict(os.environ)
    os.environ["HOME"] = str(home)
    for var in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_CONFIG_DIRS", "SCRATCH", "RSNT_ARCH"):
        os.environ.pop(var, None)
    for var in [v for v in os.environ if v.startswith(("UV_", "UVMOD_", "LMOD", "MODULE"))]:
        if var not in ("UVMOD_EM_ROOT", "UVMOD_CI_CACHE"):
            os.environ.pop(var)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


BuildPrefix = Callable[..., Path]


@pytest.fixture
def build_prefix(tmp_path: Path) -> BuildPrefix:
    """Write a site.toml and run `uvmod build-modulefiles` on it; return the prefix.

    `site_toml` is the config text; `{uv}` in it is not needed: --uv points at the real uv.
    """

    counter = iter(range(1000))

    def build(
        site_toml: str | None = None, *, prefix: Path | None = None, uv: str | None = None
    ) -> Path:
        n = next(counter)
        prefix = prefix or tmp_path / f"prefix{n}"
        argv = ["build-modulefiles", "--prefix", str(prefix), "--uv", uv or tools.real_uv()]
        if site_toml is not None:
            config = tmp_path / f"site{n}.toml"
            config.write_text(site_toml)
            argv += ["--config", str(config)]
        assert main(argv) == 0
        return prefix

    return build
