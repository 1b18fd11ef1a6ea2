"""One source of truth for the configuration: the model, default_site.toml and the reference."""

from __future__ import annotations

import re
from pathlib import Path

from uvmod.config import SiteConfig, load_config, parse_config
from uvmod.reference import render_reference

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SITE = REPO / "uvmod" / "default_site.toml"


def test_the_committed_reference_is_generated_from_the_model() -> None:
    """Regenerate with: python -m uvmod.reference > docs/config-reference.md"""
    committed = (REPO / "docs" / "config-reference.md").read_text()
    assert committed == render_reference()


def test_the_embedded_default_is_the_model_default() -> None:
    assert load_config(None) == SiteConfig()
    # And so is an empty site.toml: a key left out means its documented default.
    assert parse_config("", "site.toml") == SiteConfig()


def test_the_embedded_default_names_every_key() -> None:
    """Each key of the model is written in default_site.toml under its table, set or as a
    commented example, so the file a site copies shows every knob."""
    section = ""
    seen: set[tuple[str, str]] = set()
    for line in DEFAULT_SITE.read_text().splitlines():
        header = re.match(r"#?\s*\[([a-z_]+)(\.[a-z_]+)?\]", line.strip())
        if header:
            section = header.group(1)
            if header.group(2):
                seen.add((section, header.group(2)[1:]))
            continue
        key = re.match(r"#?\s*([a-z_]+)\s*=", line)
        if key and section:
            seen.add((section, key.group(1)))
    expected = {
        (name, key)
        for name, field in SiteConfig.model_fields.items()
        for key in field.annotation.model_fields  # type: ignore[union-attr]
    }
    assert expected - seen == set()


def test_the_documented_cache_key_defaults_are_the_real_ones() -> None:
    """A site.toml without [cache_key] keys on MPI and CUDA modules (the admin guide's example
    has none)."""
    key = parse_config("[module]\nname = 'uv-hpc'\n", "site.toml").cache_key
    assert "mpich" in key.modules and "openmpi" in key.modules and "cuda" in key.modules
    assert key.families == ["mpi"]
    assert "mpi4py" in key.packages and "h5py" in key.packages
    reference = render_reference()
    assert '`["mpi"]`' in reference and '"mpi4py", "h5py"' in reference
