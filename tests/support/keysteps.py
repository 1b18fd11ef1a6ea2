"""Module commands run one by one in a real module tool, with the cache key recorded after each.

After every command the key, its source, LOADEDMODULES, the stand-in MPI's FAKE_MPI and the
wrapper's stale-key verdict (sh/uvmod-key.sh, called as the wrapper calls it) are appended to a
trace file, so a test checks every intermediate state, not only the last one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.support.modules import ModuleTool, base_env
from uvmod.cachekey import family_variables
from uvmod.render import packaged_text


@dataclass(frozen=True)
class KeySite:
    """A site configuration and what the wrapper is told about its key."""

    toml: str
    key_modules: str  # [cache_key].modules, space-separated (UVMOD_KEY_MODULES)
    families: tuple[str, ...]

    @property
    def family_vars(self) -> str:
        return " ".join(v for fam in self.families for v in family_variables(fam))


# The same expectations must hold whether MPI reaches the key through the `mpi` family or
# through its module names.
SITES = {
    "by-family": KeySite('[cache_key]\nmodules = ["cuda"]\nfamilies = ["mpi"]\n', "cuda", ("mpi",)),
    "by-name": KeySite(
        '[cache_key]\nmodules = ["mpich", "openmpi", "cuda"]\nfamilies = []\n',
        "mpich openmpi cuda",
        (),
    ),
}


@dataclass(frozen=True)
class State:
    key: str | None
    source: str | None
    loaded: list[str]
    fake_mpi: str | None
    wrapper_sees_current: bool  # uvmod_key_current said the variable matches the loaded modules

    @property
    def uv_loaded(self) -> bool:
        return any(m.startswith("uv-hpc/") for m in self.loaded)


_UNSET = "@unset"  # never a key, a source or a version ('@' is not a key character)


def record_line(tmp_path: Path, site: KeySite) -> str:
    """A bash line appending the state to tmp_path/trace (sh/uvmod-key.sh must be sourced)."""
    trace = tmp_path / "trace"
    return (
        f'uvmod_key_current "${{UVMOD_CACHE_KEY-}}" "${{LOADEDMODULES-}}" "{site.key_modules}" '
        f'"{site.family_vars}"; __current=$?; '
        f'printf \'%s\\0\' "${{UVMOD_CACHE_KEY-{_UNSET}}}" "${{UVMOD_KEY_SOURCE-{_UNSET}}}" '
        f'"${{LOADEDMODULES-}}" "${{FAKE_MPI-{_UNSET}}}" "$__current" >> {trace}'
    )


def source_key_check(tmp_path: Path) -> str:
    """A bash line sourcing sh/uvmod-key.sh, the wrapper's stale-key check."""
    check = tmp_path / "uvmod-key.sh"
    check.write_text(packaged_text("sh", "uvmod-key.sh"))
    return f". {check}"


def read_states(tmp_path: Path) -> list[State]:
    fields = (tmp_path / "trace").read_bytes().decode().split("\0")[:-1]
    states = []
    for i in range(0, len(fields), 5):
        key, source, loaded, fake_mpi, current = fields[i : i + 5]
        states.append(
            State(
                None if key == _UNSET else key,
                None if source == _UNSET else source,
                [m for m in loaded.split(":") if m],
                None if fake_mpi == _UNSET else fake_mpi,
                current == "0",
            )
        )
    return states


def run_steps(
    tmp_path: Path,
    tool: ModuleTool,
    commands: list[str],
    *,
    site: str,
    modulepath: list[Path],
    package_path: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> tuple[list[State], str, str]:
    """Run the commands in one shell of `tool`; the state after each one, stdout, stderr."""
    (tmp_path / "trace").unlink(missing_ok=True)
    record = record_line(tmp_path, SITES[site])
    script = [source_key_check(tmp_path)]
    for command in commands:
        # A failing module command fails the test, with the tool's stderr in the message.
        script += [f"{command} || exit 3", record]
    result = tool.run(
        script,
        base_env(tmp_path, extra_env),
        modulepath=modulepath,
        package_path=package_path,
    )
    states = read_states(tmp_path)
    assert len(states) == len(commands)
    return states, result.stdout, result.stderr


def dofile_site_package(tmp_path: Path, prefix: Path, extra_lua: str = "") -> Path:
    """A site's own SitePackage.lua with the one documented line in it; its directory."""
    site_dir = tmp_path / "site-lmod"
    site_dir.mkdir(exist_ok=True)
    (site_dir / "SitePackage.lua").write_text(
        f'{extra_lua}\ndofile("{prefix}/lmod/uvmod_hooks.lua")\n'
    )
    return site_dir
