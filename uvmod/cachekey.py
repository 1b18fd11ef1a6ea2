"""The MPI/CUDA cache key, recomputed outside the module tool (`uvmod key`).

The Python twin of lua/cache_key.lua, tcl/cache_key.tcl and sh/uvmod-key.sh: the same rule,
and tests/test_cache_key.py runs one table of generated cases through all four. The key is
the full names (`name/version`) of the loaded modules named in `[cache_key].modules` or holding a
family of `[cache_key].families`, sorted by code point (= UTF-8 byte order, as in the Lua), joined
with ","; "" when there are none, and then the variable is unset.

Outside Lmod the loaded modules are read from `LOADEDMODULES` (colon-separated full names, kept by
Lmod and Environment Modules alike) and families from `LMOD_FAMILY_<NAME>` (Lmod; Environment
Modules 5 sets it too for Lmod compatibility) or `MODULES_FAMILY_<NAME>`.

Staleness: the key is current when the value of the key variable (unset counts as "") equals the
recomputed key; anything else is stale. Without the Lmod hook (`UVMOD_KEY_SOURCE=load`) the value
was computed when uv-hpc was loaded, and a later `module swap`/`load`/`unload` of an MPI or CUDA
module leaves it behind. sh/uvmod-key.sh repeats this comparison in POSIX sh for the wrapper
(`uvmod_key_current "$KEY" "$LOADEDMODULES" "<modules>" "<family_variables(...)>"`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from uvmod.config import CacheKeySection
from uvmod.moduledesc import KEY_SOURCE_HOOK, KEY_SOURCE_VARIABLE

# The variable naming the module that holds family NAME is <prefix><NAME in upper case>: Lmod
# sets LMOD_FAMILY_NAME, Environment Modules 5 MODULES_FAMILY_NAME (and LMOD_FAMILY_NAME too).
# The modulefiles read their own tool's (the data table, uvmod/render/table.py); `uvmod key` and
# the wrapper read both, in this order.
LMOD_FAMILY_PREFIX = "LMOD_FAMILY_"
MODULES_FAMILY_PREFIX = "MODULES_FAMILY_"
FAMILY_PREFIXES = (LMOD_FAMILY_PREFIX, MODULES_FAMILY_PREFIX)


def is_module(full_name: str, name: str) -> bool:
    """`full_name` is the module `name`: "mpich/4.1.2" and "mpich" are "mpich", "mpich-x/1" not."""
    return full_name == name or full_name.startswith(name + "/")


@dataclass(frozen=True)
class KeyPart:
    """One loaded module in the key and why: `reason` is "module NAME" or "family NAME"."""

    full_name: str
    reason: str


def key_parts(
    modules: Sequence[str],
    families: Mapping[str, str],
    loaded: Iterable[str],
) -> list[KeyPart]:
    """The loaded modules that make up the key, sorted as in the key.

    `families` maps a family of `[cache_key].families` to the name of the module holding it.
    """
    reasons = [(name, f"module {name}") for name in modules]
    reasons += [(member, f"family {fam}") for fam, member in families.items()]
    parts: dict[str, KeyPart] = {}
    for full_name in loaded:
        for name, reason in reasons:
            if full_name not in parts and is_module(full_name, name):
                parts[full_name] = KeyPart(full_name, reason)
    return [parts[k] for k in sorted(parts)]


def compute_key(
    modules: Sequence[str],
    families: Sequence[str],
    loaded: Iterable[str],
    family_members: Mapping[str, str],
) -> str:
    """The key for the loaded full names; `family_members` maps a family to its module's name
    (families not in `families` are ignored)."""
    held = {fam: family_members[fam] for fam in families if family_members.get(fam)}
    return ",".join(part.full_name for part in key_parts(modules, held, loaded))


def loaded_from_env(environ: Mapping[str, str]) -> list[str]:
    return [name for name in environ.get("LOADEDMODULES", "").split(":") if name]


def family_variables(family: str) -> list[str]:
    """The variables naming the module that holds `family`, in the order they are read
    (for the wrapper: the FAMILY_VARS argument of sh/uvmod-key.sh's uvmod_key_current)."""
    return [prefix + family.upper() for prefix in FAMILY_PREFIXES]


def family_members_from_env(families: Iterable[str], environ: Mapping[str, str]) -> dict[str, str]:
    members: dict[str, str] = {}
    for fam in families:
        for variable in family_variables(fam):
            value = environ.get(variable)
            if value:
                members[fam] = value
                break
    return members


@dataclass(frozen=True)
class KeyStatus:
    variable: str
    module: str  # the site module, e.g. uv-hpc
    module_loaded: bool
    expected: str  # recomputed from the loaded modules; "" for none
    actual: str | None  # the variable now; None when unset
    source: str | None  # UVMOD_KEY_SOURCE: "hook", "load" or None
    parts: tuple[KeyPart, ...]
    environment_modules: bool = False  # the module tool is Environment Modules, not Lmod

    @property
    def hook_active(self) -> bool:
        return self.source == KEY_SOURCE_HOOK

    @property
    def stale(self) -> bool:
        if not self.module_loaded:
            return self.actual is not None  # a leftover key nobody maintains
        return (self.actual or "") != self.expected

    def fix(self) -> tuple[str, str] | None:
        """(command, why) for a stale key, or None when it is current."""
        if not self.stale:
            return None
        if not self.module_loaded:
            return (f"unset {self.variable}", f"{self.module} is not loaded; nothing maintains it")
        if self.hook_active:
            # The hook rewrites the key after every module command: a stale key with the hook
            # marker means the environment was changed behind Lmod's back (or the hook was
            # removed since); reloading recomputes it either way.
            return (f"module reload {self.module}", "the key was changed outside a module command")
        if self.environment_modules:
            # `module reload` reloads in the same order, uv-hpc still before the MPI module
            # loaded after it, so the key stays stale; `module switch` loads uv-hpc again after
            # it (tests/test_envmodules_cache_key.py, docs/admin-guide.md).
            return (
                f"module switch {self.module}",
                "Environment Modules follows only the MPI/CUDA modules loaded before "
                f"{self.module}; loading MPI/CUDA modules first avoids this",
            )
        return (
            f"module reload {self.module}",
            "your site has not installed the uvmod Lmod hook, which keeps the key current after "
            "every module command; ask your administrator to install it "
            "(uvmod docs/admin-guide.md)",
        )

    def to_json(self) -> dict[str, object]:
        fix = self.fix()
        return {
            "variable": self.variable,
            "key": self.expected,
            "value": self.actual,
            "stale": self.stale,
            "module": self.module,
            "module_loaded": self.module_loaded,
            "source": self.source,
            "hook_active": self.hook_active,
            "modules": [{"name": p.full_name, "reason": p.reason} for p in self.parts],
            "fix": fix[0] if fix else None,
            "why": fix[1] if fix else None,
        }


def under_environment_modules(environ: Mapping[str, str]) -> bool:
    """Environment Modules 5 keeps `__MODULES_LM*` (and its init sets MODULES_CMD); Lmod keeps
    `_ModuleTable*_` instead."""
    if any(name.startswith("_ModuleTable") for name in environ):
        return False
    return "MODULES_CMD" in environ or any(name.startswith("__MODULES_LM") for name in environ)


def key_status(spec: CacheKeySection, module_name: str, environ: Mapping[str, str]) -> KeyStatus:
    loaded = loaded_from_env(environ)
    members = family_members_from_env(spec.families, environ)
    parts = key_parts(spec.modules, members, loaded)
    return KeyStatus(
        variable=spec.variable,
        module=module_name,
        module_loaded=any(is_module(full, module_name) for full in loaded),
        expected=",".join(p.full_name for p in parts),
        actual=environ.get(spec.variable),
        source=environ.get(KEY_SOURCE_VARIABLE) or None,
        parts=tuple(parts),
        environment_modules=under_environment_modules(environ),
    )


def effective_key(spec: CacheKeySection, module_name: str, environ: Mapping[str, str]) -> str:
    """The key the uv wrapper uses for a call (sh/uv-phases.sh, _uvmod_follow_loaded_modules):
    the exported one, except when it is stale and no hook maintains it; then the key of the
    modules loaded now."""
    status = key_status(spec, module_name, environ)
    if status.module_loaded and status.stale and not status.hook_active:
        return status.expected
    return status.actual or ""
