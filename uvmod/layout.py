"""Where every generated file lives under the prefix (the contract in DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath


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
    def install_dir(self) -> PurePosixPath:
        return PurePosixPath(self.name, self.version)

    @property
    def bin_dir(self) -> PurePosixPath:
        return self.install_dir / "bin"

    @property
    def wrapper(self) -> PurePosixPath:
        return self.bin_dir / "uv"

    @property
    def uvx(self) -> PurePosixPath:
        """`uvx`, through the wrapper (sh/uvx.sh)."""
        return self.bin_dir / "uvx"

    @property
    def uvmod_command(self) -> PurePosixPath:
        """`uvmod` for users (sh/uvmod.sh): the uvmod that built the tree, or module.uvmod."""
        return self.bin_dir / "uvmod"

    @property
    def kernel_launcher(self) -> PurePosixPath:
        """What a Jupyter kernel of `uvmod kernel install` runs (sh/uvmod-kernel.sh); not on
        PATH: only kernel.json names it."""
        return self.install_dir / "libexec" / "uvmod-kernel"

    @property
    def modulefiles_dir(self) -> PurePosixPath:
        """The directory to put on MODULEPATH (`module use`)."""
        return PurePosixPath("modulefiles")

    def config_dir(self, arch: str) -> PurePosixPath:
        """The directory put on XDG_CONFIG_DIRS: uv reads `<dir>/uv/uv.toml` from it."""
        return self.install_dir / "etc" / arch

    def uv_toml(self, arch: str) -> PurePosixPath:
        return self.config_dir(arch) / "uv" / "uv.toml"

    @property
    def site_json(self) -> PurePosixPath:
        """The validated site config, for user-side commands (uvmod venv/key/doctor)."""
        return self.install_dir / "etc" / "uvmod-site.json"

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
