"""Where every file of the module tree lives, for the build and for the commands run later.

The build places files under the prefix (Layout, relative paths); the user-side commands find
the same files under the loaded module's install directory, `$UVMOD_HOME` (InstallDir over an
absolute path, SiteFacts.install). Both ask InstallDir, so an install path is spelled once
(README.md, "Layout", lists the tree).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath
from typing import Generic, TypeVar

P = TypeVar("P", bound=PurePath)


@dataclass(frozen=True)
class InstallDir(Generic[P]):
    """The files of one module build under its install directory `<prefix>/<name>/<version>`:
    relative to the prefix at build time, absolute (a Path) at run time."""

    root: P

    @property
    def bin_dir(self) -> P:
        return self.root / "bin"

    @property
    def wrapper(self) -> P:
        """`uv`: the wrapper (sh/uv-wrapper.sh)."""
        return self.bin_dir / "uv"

    @property
    def uvx(self) -> P:
        """`uvx`, through the wrapper (sh/uvx.sh)."""
        return self.bin_dir / "uvx"

    @property
    def uvmod_command(self) -> P:
        """`uvmod` for users (sh/uvmod.sh): the uvmod that built the tree, or module.uvmod."""
        return self.bin_dir / "uvmod"

    @property
    def kernel_launcher(self) -> P:
        """What a Jupyter kernel of `uvmod kernel install` runs (sh/uvmod-kernel.sh); not on
        PATH: only kernel.json names it."""
        return self.root / "libexec" / "uvmod-kernel"

    @property
    def wrapper_library(self) -> P:
        """The wrapper's rarely run parts (sh/uv-rare.sh), which bin/uv reads when it needs
        them; not on PATH."""
        return self.root / "libexec" / "uv-rare.sh"

    @property
    def etc_dir(self) -> P:
        return self.root / "etc"

    def config_dir(self, arch: str) -> P:
        """The directory put on XDG_CONFIG_DIRS: uv reads `<dir>/uv/uv.toml` from it."""
        return self.etc_dir / arch

    def uv_toml(self, arch: str) -> P:
        return self.config_dir(arch) / "uv" / "uv.toml"

    @property
    def site_json(self) -> P:
        """The site facts for user-side commands (uvmod venv/key/doctor): uvmod/sitefacts.py."""
        return self.etc_dir / "uvmod-site.json"


@dataclass(frozen=True)
class Layout:
    """Paths of the output tree, relative to the prefix, plus the absolute prefix itself."""

    prefix: PurePosixPath
    name: str
    version: str

    @property
    def lua_modulefile(self) -> PurePosixPath:
        return PurePosixPath("modulefiles", self.name, f"{self.version}.lua")

    @property
    def tcl_modulefile(self) -> PurePosixPath:
        return PurePosixPath("modulefiles", self.name, self.version)

    @property
    def install(self) -> InstallDir[PurePosixPath]:
        return InstallDir(self.install_dir)

    @property
    def install_dir(self) -> PurePosixPath:
        return PurePosixPath(self.name, self.version)

    @property
    def bin_dir(self) -> PurePosixPath:
        return self.install.bin_dir

    @property
    def wrapper(self) -> PurePosixPath:
        return self.install.wrapper

    @property
    def uvx(self) -> PurePosixPath:
        return self.install.uvx

    @property
    def uvmod_command(self) -> PurePosixPath:
        return self.install.uvmod_command

    @property
    def kernel_launcher(self) -> PurePosixPath:
        return self.install.kernel_launcher

    @property
    def wrapper_library(self) -> PurePosixPath:
        return self.install.wrapper_library

    @property
    def modulefiles_dir(self) -> PurePosixPath:
        """The directory to put on MODULEPATH (`module use`)."""
        return PurePosixPath("modulefiles")

    def config_dir(self, arch: str) -> PurePosixPath:
        return self.install.config_dir(arch)

    def uv_toml(self, arch: str) -> PurePosixPath:
        return self.install.uv_toml(arch)

    @property
    def site_json(self) -> PurePosixPath:
        return self.install.site_json

    @property
    def lmod_dir(self) -> PurePosixPath:
        return PurePosixPath("lmod")

    @property
    def lmod_hooks(self) -> PurePosixPath:
        """The hooks, for a site's own SitePackage.lua to `dofile` (docs/admin-guide.md)."""
        return self.lmod_dir / "uvmod_hooks.lua"

    @property
    def lmod_site_package(self) -> PurePosixPath:
        """Standalone SitePackage.lua, used with LMOD_PACKAGE_PATH=PREFIX/lmod."""
        return self.lmod_dir / "SitePackage.lua"

    def absolute(self, relative: PurePosixPath) -> str:
        """The path as users will see it once the tree is installed at the prefix."""
        return str(self.prefix / relative)

    @classmethod
    def of_home(cls, home: PurePosixPath, name: str, version: str) -> Layout | None:
        """The layout of an installed tree from its install directory ($UVMOD_HOME), or None
        when that directory is not `<prefix>/<name>/<version>`."""
        if home.name != version or home.parent.name != name or len(home.parts) < 3:
            return None
        return cls(home.parent.parent, name, version)
