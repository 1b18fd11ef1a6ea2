"""The typed description of what the uv-hpc module does, which every renderer reads.

One description, several renderings: a feature is added here once and both module tools get it
(through the one data table of uvmod/render/table.py), and the uv.toml files and the wrapper
are rendered from the same description rather than from the site config. Values are path
templates (pathexpr) so that `${SCRATCH}` and the detected architecture are resolved at load
time by the modulefile itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from uvmod import __version__, pathexpr
from uvmod.config import SiteConfig
from uvmod.layout import Layout
from uvmod.pathexpr import ArchRef, Template, Text
from uvmod.pipstack import environments_line
from uvmod.policy import policy

# Tests feed captured cpuinfo files through this variable (EESSI's archdetect does the same).
CPUINFO_VARIABLE = "UVMOD_CPUINFO"
ARCH_VARIABLE = "UVMOD_ARCH"
# The node's machine type (`uname -m`), exported by the modulefile at load time so the wrapper
# forks no `uname` per call (docs/design.md#node-types).
MACHINE_VARIABLE = "UVMOD_MACHINE"
# Tests (and a site whose nodes report a misleading kernel machine) set the machine type the
# detection uses, as EESSI's archdetect reads EESSI_MACHINE_TYPE.
MACHINE_OVERRIDE_VARIABLE = "UVMOD_MACHINE_TYPE"
DEPOT_VARIABLE = "UVMOD_VENV_DEPOT"
# The install dir of the loaded uv-hpc (bin/, etc/): user-side `uvmod` commands read the site
# facts from $UVMOD_HOME/etc/uvmod-site.json instead of needing the admin's site.toml.
HOME_VARIABLE = "UVMOD_HOME"
# Who last wrote the cache key: KEY_SOURCE_LOAD (the modulefile body, stale after a `module
# swap`) or KEY_SOURCE_HOOK (the Lmod finalize hook, current after every module command). The
# wrapper checks a key for staleness unless the hook wrote it; `uvmod key` reports it.
KEY_SOURCE_VARIABLE = "UVMOD_KEY_SOURCE"
KEY_SOURCE_LOAD = "load"
KEY_SOURCE_HOOK = "hook"
# Set (to anything) for one uv call, the wrapper prints what it decided instead of running uv
# (sh/uv-phases.sh, _uvmod_report); `uvmod venv path` and doctor ask it that way (dryrun.py).
DRY_RUN_VARIABLE = "UVMOD_WRAPPER_DRY_RUN"
# The family makes Lmod swap one uv-hpc for another instead of stacking two wrappers on PATH.
FAMILY = "uv"


@dataclass(frozen=True)
class SetEnv:
    name: str
    value: Template


@dataclass(frozen=True)
class PrependPath:
    name: str
    value: Template


Action = SetEnv | PrependPath


@dataclass(frozen=True)
class ArchRule:
    arch: str
    flags: tuple[str, ...]  # plain cpuinfo flags: x86-64 levels are expanded (archdetect.py)
    machine: str = ""  # "" matches any machine type


@dataclass(frozen=True)
class ArchDetection:
    override_variables: tuple[str, ...]
    cpuinfo_variable: str
    rules: tuple[ArchRule, ...]
    machine_override_variable: str = MACHINE_OVERRIDE_VARIABLE

    @property
    def fallback(self) -> str:
        return self.rules[-1].arch


@dataclass(frozen=True)
class CacheKeySpec:
    variable: str
    modules: tuple[str, ...]
    families: tuple[str, ...]
    packages: tuple[str, ...]  # built per key by the wrapper's per-key uv.toml


@dataclass(frozen=True)
class ArchPolicy:
    """The site policy of one architecture: the settings of its system uv.toml."""

    arch: str
    settings: Mapping[str, Any]


@dataclass(frozen=True)
class WrapperSpec:
    """What the uv wrapper needs besides the cache key."""

    real_uv: str  # the uv it execs
    etc_dir: str  # absolute <install dir>/etc, holding each <arch>/uv/uv.toml
    library: str  # absolute path of its rarely run parts (libexec/uv-rare.sh)
    # The pip stack's rules (uvmod/pipstack.py): write _manylinux.py into environments, and the
    # `environments` line `uv init` writes and `uv add`/`uv lock` name ("" for none).
    refuse_manylinux: bool = False
    init_environments: str = ""


@dataclass(frozen=True)
class JobSpec:
    """Job-local environments (uvmod/jobs.py): the site's default and the variables the
    wrapper reads at every call inside a job."""

    local_envs: bool
    local_dir_variable: str
    job_variable: str


@dataclass(frozen=True)
class ModuleDescription:
    name: str
    version: str
    family: str
    help_text: str
    whatis: tuple[str, ...]
    arch: ArchDetection
    cache_key: CacheKeySpec
    actions: tuple[Action, ...]
    policies: tuple[ArchPolicy, ...]
    wrapper: WrapperSpec
    jobs: JobSpec = JobSpec(False, "SLURM_TMPDIR", "SLURM_JOB_ID")


def arch_rules(config: SiteConfig) -> tuple[ArchRule, ...]:
    """[arch.flags] and [arch.machine] as the rules every detection applies, in order."""
    from uvmod.archdetect import expand_levels

    return tuple(
        ArchRule(arch, expand_levels(flags), config.arch.machine.get(arch, ""))
        for arch, flags in config.arch.flags.items()
    )


def arch_detection(config: SiteConfig) -> ArchDetection:
    """How the modulefiles (and uvmod/archdetect.py) pick the node's architecture."""
    return ArchDetection(
        override_variables=tuple(config.arch.env),
        cpuinfo_variable=CPUINFO_VARIABLE,
        rules=arch_rules(config),
    )


def _literal(text: str) -> Template:
    return (Text(text),)


def describe(
    config: SiteConfig,
    layout: Layout,
    *,
    real_uv: str,
    missing_dirs: frozenset[str] = frozenset(),
) -> ModuleDescription:
    """Build the module description for a validated site config. `real_uv` is the uv the
    wrapper runs; `missing_dirs` the wheelhouse directories absent when building (policy())."""
    cache = pathexpr.parse(config.paths.cache)
    depot = pathexpr.parse(config.paths.venv_depot)
    bin_dir = layout.absolute(layout.bin_dir)
    etc_dir = layout.absolute(layout.install.etc_dir)
    etc_for_arch: Template = (Text(etc_dir + "/"), ArchRef())
    actions: list[Action] = [
        SetEnv("UV_CACHE_DIR", cache),
        SetEnv(DEPOT_VARIABLE, depot),
        SetEnv(ARCH_VARIABLE, (ArchRef(),)),
        SetEnv(HOME_VARIABLE, _literal(layout.absolute(layout.install_dir))),
        SetEnv("UV_PYTHON_PREFERENCE", _literal(config.python.preference)),
        SetEnv("UV_PYTHON_DOWNLOADS", _literal(config.python.downloads)),
    ]
    if config.wheelhouse.constraints:
        # UV_CONSTRAINT is space-separated and read by `uv pip` only
        # (docs/design.md#constraints).
        actions.append(SetEnv("UV_CONSTRAINT", _literal(" ".join(config.wheelhouse.constraints))))
    tool_bin = pathexpr.parse(config.paths.tool_bin)
    actions += [
        # uv's own tool locations unless the site says otherwise (docs/design.md#tools).
        SetEnv("UV_TOOL_DIR", pathexpr.parse(config.paths.tools)),
        SetEnv("UV_TOOL_BIN_DIR", tool_bin),
        PrependPath("XDG_CONFIG_DIRS", etc_for_arch),
        # The tools' commands before the module's bin/ is prepended, so bin/ ends up first: a
        # `uv` in ~/.local/bin (uv's standalone installer puts one there) never hides the wrapper.
        PrependPath("PATH", tool_bin),
        PrependPath("PATH", _literal(bin_dir)),
    ]
    module = config.module
    help_text = (
        f"{module.description}.\n\n"
        "After loading, use plain `uv`: site wheels are preferred, environments live in\n"
        f"${DEPOT_VARIABLE} instead of .venv, and compiled wheels are keyed on the loaded\n"
        "MPI/CUDA modules. Run `uvmod doctor` when something looks wrong.\n"
        f"Generated by uvmod {__version__}."
    )
    return ModuleDescription(
        name=module.name,
        version=module.version,
        family=FAMILY,
        help_text=help_text,
        whatis=(
            f"Name: {module.name}",
            f"Version: {module.version}",
            f"Description: {module.description}",
        ),
        arch=arch_detection(config),
        cache_key=CacheKeySpec(
            variable=config.cache_key.variable,
            modules=tuple(config.cache_key.modules),
            families=tuple(config.cache_key.families),
            packages=tuple(config.cache_key.packages),
        ),
        actions=tuple(actions),
        policies=tuple(
            ArchPolicy(arch, policy(config, arch, missing_dirs)) for arch in config.archs
        ),
        wrapper=WrapperSpec(
            real_uv=real_uv,
            etc_dir=etc_dir,
            library=layout.absolute(layout.wrapper_library),
            refuse_manylinux=not config.wheelhouse.manylinux,
            init_environments=""
            if config.wheelhouse.pypi
            else environments_line(config.wheelhouse.project_environments),
        ),
        jobs=JobSpec(
            local_envs=config.jobs.local_envs,
            local_dir_variable=config.jobs.local_dir_variable,
            job_variable=config.jobs.job_variable,
        ),
    )
