"""The site facts a user-side `uvmod` command needs, written next to the wrapper at build time.

`uvmod venv`, `uvmod key` and `uvmod doctor` run as the researcher, who has no site.toml; the
loaded module points at `$UVMOD_HOME`, and `$UVMOD_HOME/etc/uvmod-site.json` holds the validated
configuration, the uv the wrapper runs and the wrapper's build id (the name of its per-key
configuration directory in the depot, uvmod/render/wrapper.py). Without a loaded module the
embedded default applies.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from uvmod.config import SiteConfig, load_config
from uvmod.errors import ConfigError
from uvmod.layout import InstallDir
from uvmod.moduledesc import HOME_VARIABLE
from uvmod.render import MARKER


def render_site_json(config: SiteConfig, real_uv: str, build_id: str) -> str:
    data = {
        "_comment": f"{MARKER}: the site configuration uv-hpc was built from; do not edit.",
        "real_uv": real_uv,
        "build_id": build_id,
        "config": config.model_dump(mode="json"),
    }
    # No sort_keys: [arch.flags] order is meaningful (most capable first).
    return json.dumps(data, indent=2) + "\n"


@dataclass(frozen=True)
class SiteFacts:
    config: SiteConfig
    real_uv: str | None
    home: Path | None  # None: no uv-hpc module loaded, embedded default in use
    # The loaded wrapper's build id; None without a module, or from a tree built before the
    # facts carried it (then nothing is known to be another build's).
    build_id: str | None = None

    @property
    def install(self) -> InstallDir[Path] | None:
        """The loaded module's files ($UVMOD_HOME/bin/uv, etc/...); None without a module."""
        return None if self.home is None else InstallDir(self.home)


def load_site_facts(environ: Mapping[str, str] | None = None) -> SiteFacts:
    env = os.environ if environ is None else environ
    home = env.get(HOME_VARIABLE)
    if not home:
        return SiteFacts(load_config(None), None, None)
    path = InstallDir(Path(home)).site_json
    try:
        data = json.loads(path.read_text("utf-8"))
        config = SiteConfig.model_validate(data["config"])
    except (OSError, ValueError, KeyError, ValidationError) as exc:
        raise ConfigError(
            f"{path}: cannot read the site facts of the loaded module ({exc}); "
            "ask your administrator to rerun uvmod build-modulefiles"
        ) from None
    build = data.get("build_id")
    return SiteFacts(
        config, data.get("real_uv"), Path(home), build if isinstance(build, str) else None
    )
