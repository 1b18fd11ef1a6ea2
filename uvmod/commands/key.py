"""`uvmod key`: the MPI/CUDA cache key, the modules it comes from, and whether it is current."""

from __future__ import annotations

import json
from collections.abc import Mapping

from uvmod.cachekey import KeyStatus, key_status
from uvmod.sitefacts import load_site_facts

_SOURCES = {
    "hook": "the Lmod hook (recomputed after every module command)",
    "load": "loading {module} (no Lmod hook: the key does not follow later module changes)",
}


def render_text(status: KeyStatus) -> list[str]:
    lines = [f"key: {status.expected or '(none: no MPI/CUDA module loaded)'}"]
    width = max((len(p.full_name) for p in status.parts), default=0)
    lines += [f"  {p.full_name:<{width}}  {p.reason}" for p in status.parts]
    shown = "(unset)" if status.actual is None else status.actual
    lines.append(f"{status.variable}: {shown}")
    if status.module_loaded:
        source = _SOURCES.get(status.source or "", "unknown ({module} did not record who set it)")
        lines.append("set by: " + source.format(module=status.module))
    else:
        lines.append(f"{status.module} is not loaded: uv builds are not keyed on modules")
    fix = status.fix()
    if fix is not None:
        value = "unset" if status.actual is None else repr(status.actual)
        lines.append(
            f"STALE: {status.variable} is {value}, the loaded modules give {status.expected!r}"
        )
        lines.append(f"fix: {fix[0]}   ({fix[1]})")
    return lines


def show_key(environ: Mapping[str, str], *, as_json: bool) -> int:
    """Print the key report; 1 when the key is stale or uv-hpc is not loaded."""
    facts = load_site_facts(environ)
    status = key_status(facts.config.cache_key, facts.config.module.name, environ)
    if as_json:
        print(json.dumps(status.to_json(), indent=2))
    else:
        print("\n".join(render_text(status)))
    return 1 if status.stale or not status.module_loaded else 0
