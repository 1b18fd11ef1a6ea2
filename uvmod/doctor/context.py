"""What the checks look at: the environment, the site facts, the project, the clock.

Built once per run; checks receive it and never read os.environ themselves, so tests hand them
a prepared environment (and a clock) without patching globals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from uvmod import depot
from uvmod.config import SiteConfig, load_config
from uvmod.envscan import Located, locate_depot
from uvmod.errors import ConfigError
from uvmod.moduledesc import ARCH_VARIABLE, DEPOT_VARIABLE
from uvmod.sitefacts import SiteFacts, load_site_facts

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    environ: Mapping[str, str]
    facts: SiteFacts
    facts_error: str | None  # the loaded module's site facts were unreadable
    project: Path | None  # the project root doctor looks at; None outside a project
    now: float
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def config(self) -> SiteConfig:
        return self.facts.config

    @property
    def module_loaded(self) -> bool:
        return self.facts.home is not None

    @property
    def module_name(self) -> str:
        return self.config.module.name

    @property
    def arch(self) -> str | None:
        return self.environ.get(ARCH_VARIABLE) or None

    def cache_dir(self) -> tuple[Path, str]:
        """The cache uv uses and where that came from (uv's own order: UV_CACHE_DIR, then
        $XDG_CACHE_HOME/uv, then ~/.cache/uv; a `cache-dir` in a uv.toml is not looked at)."""
        env = self.environ
        if env.get("UV_CACHE_DIR"):
            return Path(env["UV_CACHE_DIR"]), "UV_CACHE_DIR"
        xdg = env.get("XDG_CACHE_HOME", "")
        if xdg.startswith("/"):
            return Path(xdg) / "uv", "XDG_CACHE_HOME"
        return Path(env.get("HOME", "/")) / ".cache" / "uv", "~/.cache"

    def depot_dir(self) -> Path | None:
        """$UVMOD_VENV_DEPOT as the loaded module set it; None without the module (uv then puts
        environments in each project's .venv)."""
        value = self.environ.get(DEPOT_VARIABLE)
        return Path(value) if value and self.module_loaded else None

    def uv_directories(self) -> list[tuple[Path, str]]:
        """The directories uv locks and writes in: the cache, and the depot when the module is
        loaded, each with the word findings use for it."""
        places = [(self.cache_dir()[0], "cache")]
        depot = self.depot_dir()
        if depot is not None:
            places.append((depot, "depot"))
        return places

    def memo(self, name: str, compute: Callable[[], T]) -> T:
        """Share an expensive answer (a directory walk) between checks of one run."""
        if name not in self._cache:
            self._cache[name] = compute()
        return cast(T, self._cache[name])

    def depot_entries(self, depot_path: Path) -> list[Located]:
        """Every depot environment and trash entry (uvmod/envscan.py), found once per run;
        their files are not looked at (envscan.measure does that for the few that need it)."""
        return self.memo(f"depot:{depot_path}", lambda: locate_depot(depot_path))

    def archive_entries(self) -> list[Path]:
        """What the cache's `archive-v*/` buckets hold: the unpacked wheels environments link
        from (the bulk of the cache), and the environments of `uv tool run`/uvx."""

        def listing() -> list[Path]:
            cache, _ = self.cache_dir()
            return [e for bucket in sorted(cache.glob("archive-v*")) for e in bucket.iterdir()]

        return self.memo("archive", listing)


def make_context(
    environ: Mapping[str, str], project: Path | None, cwd: Path, now: float
) -> Context:
    """`project` is --project (a directory inside the project), else the current directory."""
    start = project if project is not None else cwd
    if project is not None and not project.is_dir():
        raise ConfigError(f"--project {project}: not a directory")
    error: str | None = None
    try:
        facts = load_site_facts(environ)
    except ConfigError as exc:
        facts = SiteFacts(load_config(None), None, None)
        error = "; ".join(exc.messages)
    return Context(environ, facts, error, depot.project_root(start), now)
