"""`uvmod kernel install|list|remove`: Jupyter kernels that run a project through uv-hpc.

`install` records, from the shell it runs in, which uv-hpc is loaded (its full name and the
directory of its modulefiles), the MODULEPATH, the module system's sh init script and the
modules the user names, and writes a kernelspec whose argv runs the module's launcher with them
(uvmod/kernelspec.py, sh/uvmod-kernel.sh). `list` and `remove` only see kernels that carry
uvmod's marker: a kernel written by `ipykernel install` or by hand is never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from uvmod import kernelspec, output
from uvmod.config import SiteConfig
from uvmod.errors import ConfigError
from uvmod.layout import Layout
from uvmod.sitefacts import load_site_facts


@dataclass(frozen=True)
class InstallRequest:
    name: str | None
    display_name: str | None
    project: Path
    modules: Sequence[str]
    module_init: str | None
    prefix: Path | None


def _project_dir(start: Path) -> Path:
    """The nearest directory holding pyproject.toml, from `start` up, as a real path: the one
    `uv run --project` will use, wherever Jupyter starts the kernel."""
    real = Path(os.path.realpath(start))
    if not real.is_dir():
        raise ConfigError(f"--project {start}: no such directory")
    for directory in [real, *real.parents]:
        if (directory / "pyproject.toml").is_file():
            return directory
    raise ConfigError(
        f"--project {start}: no pyproject.toml there or in a parent directory (`uv init` makes one)"
    )


def _module_init(option: str | None, config: SiteConfig, environ: Mapping[str, str]) -> str:
    """--module-init, else the site's jupyter.module_init, else the init script of the module
    system this shell uses: Lmod exports LMOD_PKG, Environment Modules MODULESHOME."""
    if option:
        path, source = option, "--module-init"
    elif config.jupyter.module_init:
        path, source = config.jupyter.module_init, "jupyter.module_init of the site configuration"
    elif environ.get("LMOD_PKG"):
        path, source = os.path.join(environ["LMOD_PKG"], "init", "sh"), "$LMOD_PKG/init/sh"
    elif environ.get("MODULESHOME"):
        path, source = os.path.join(environ["MODULESHOME"], "init", "sh"), "$MODULESHOME/init/sh"
    else:
        raise ConfigError(
            "cannot tell which module system this shell uses (neither $LMOD_PKG nor "
            "$MODULESHOME is set); name its sh init script with --module-init FILE"
        )
    kernelspec.check_carried(source, path)
    if not os.path.isfile(path):
        raise ConfigError(
            f"{source}: {path}: no such file; name the sh init script with --module-init FILE"
        )
    return path


def _modulepath(environ: Mapping[str, str], own: str) -> tuple[str, ...]:
    """This shell's MODULEPATH entries, then uv-hpc's own directory when it is not among them
    (a module loaded by its full path)."""
    entries: list[str] = []
    for entry in [*environ.get("MODULEPATH", "").split(":"), own]:
        entry = entry.rstrip("/") or entry
        if entry and entry not in entries:
            if ":" in entry:
                raise ConfigError(f"{entry!r}: a MODULEPATH entry cannot contain ':'")
            entries.append(kernelspec.check_carried("MODULEPATH entry", entry))
    return tuple(entries)


def _table(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _runs_ipykernel(pyproject: Path) -> bool | None:
    """Whether `uv run` installs ipykernel: [project].dependencies or a default group (`dev`,
    or tool.uv.default-groups). None when the file cannot be read: uv will say why."""
    try:
        data = tomllib.loads(pyproject.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    tool_uv = _table(_table(data, "tool"), "uv")
    groups = _table(data, "dependency-groups")
    defaults = tool_uv.get("default-groups", ["dev"])
    names = list(groups) if defaults == "all" else _strings(defaults)
    wanted = _strings(_table(data, "project").get("dependencies"))
    wanted += _strings(tool_uv.get("dev-dependencies"))
    for group in names:
        wanted += _strings(groups.get(group))
    for text in wanted:
        try:
            if canonicalize_name(Requirement(text).name) == "ipykernel":
                return True
        except InvalidRequirement:
            continue
    return False


def _layout(environ: Mapping[str, str]) -> tuple[SiteConfig, Layout]:
    facts = load_site_facts(environ)
    config = facts.config
    module = config.module
    if facts.home is None:
        raise ConfigError(
            f"{module.name} is not loaded: `module load {module.name}` first, with the modules "
            "the kernel needs; the kernel records which module to load"
        )
    layout = Layout.of_home(PurePosixPath(facts.home), module.name, module.version)
    if layout is None:
        raise ConfigError(
            f"$UVMOD_HOME={facts.home} is not <prefix>/{module.name}/{module.version}; reload "
            f"{module.name}"
        )
    return config, layout


def install(environ: Mapping[str, str], request: InstallRequest) -> int:
    config, layout = _layout(environ)
    module = config.module
    launcher = layout.absolute(layout.kernel_launcher)
    if not os.access(launcher, os.X_OK):
        raise ConfigError(
            f"{launcher}: missing: {module.name} {module.version} was built by a uvmod without "
            "Jupyter kernels; ask your administrator to rerun uvmod build-modulefiles"
        )
    kernelspec.check_carried("the kernel launcher", launcher)
    project = str(_project_dir(request.project))
    kernelspec.check_carried("--project", project)
    modules = tuple(kernelspec.check_module(m) for m in request.modules)
    for name in modules:
        if name == module.name or name.startswith(module.name + "/"):
            raise ConfigError(
                f"--module {name}: every kernel loads {module.name}/{module.version} already "
                "(the one loaded now); leave it out"
            )
    uv_module = f"{module.name}/{module.version}"
    name = kernelspec.check_name(request.name or kernelspec.default_name(project, modules))
    display = kernelspec.check_display_name(
        request.display_name or f"{Path(project).name} ({', '.join([module.name, *modules])})"
    )
    kernel = kernelspec.Kernel(
        name=name,
        display_name=display,
        project=project,
        modules=modules,
        uv_module=uv_module,
        module_init=_module_init(request.module_init, config, environ),
        modulepath=_modulepath(environ, layout.absolute(layout.modulefiles_dir)),
        launcher=launcher,
    )
    target = kernelspec.kernels_dir(environ, request.prefix) / name
    replaced = _check_ours(target, name)
    _write(target, kernel.kernel_json())

    verb = "replaced" if replaced else "installed"
    print(f"{verb} kernel {name!r} ({display}) in {target}")
    print(f"  project: {project}")
    print(f"  modules: {' '.join([*modules, uv_module])}")
    print(f"  module system: {kernel.module_init}")
    if _runs_ipykernel(Path(project) / "pyproject.toml") is False:
        print(
            f"uvmod: warning: {project}/pyproject.toml does not depend on ipykernel, so the "
            "kernel cannot start; add it in the project: uv add --dev ipykernel",
            file=sys.stderr,
        )
    return 0


def _check_ours(target: Path, name: str) -> bool:
    """True when `target` is a kernel of ours (to be replaced), False when absent."""
    if not (target.exists() or target.is_symlink()):
        return False
    if target.is_dir() and not target.is_symlink() and kernelspec.read_kernel(target) is not None:
        return True
    raise ConfigError(
        f"{target}: a Jupyter kernel that uvmod did not write; choose another --name, or "
        f"remove it first with `jupyter kernelspec remove {name}`"
    )


def _write(target: Path, text: str) -> None:
    """kernel.json replaced atomically: Jupyter listing kernels meanwhile sees the old one or
    the new one."""
    target.mkdir(parents=True, exist_ok=True)
    final = target / kernelspec.KERNEL_JSON
    tmp = target / f".{kernelspec.KERNEL_JSON}.{os.getpid()}.uvmod-tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Listed:
    name: str
    directory: Path
    display_name: str
    project: str
    modules: list[str]
    uv_module: str
    module_init: str
    launcher: str

    @property
    def problems(self) -> list[str]:
        found = []
        if not os.path.isfile(os.path.join(self.project, "pyproject.toml")):
            found.append("project gone")
        if not os.access(self.launcher, os.X_OK):
            found.append("launcher gone")
        if not os.path.isfile(self.module_init):
            found.append("module init gone")
        return found

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "directory": str(self.directory),
            "display_name": self.display_name,
            "project": self.project,
            "modules": self.modules,
            "uv_module": self.uv_module,
            "module_init": self.module_init,
            "launcher": self.launcher,
            "problems": self.problems,
        }


def _listed(directory: Path) -> Listed | None:
    data = kernelspec.read_kernel(directory)
    if data is None:
        return None
    meta = data["metadata"][kernelspec.MARKER_KEY]

    def text(value: Any) -> str:
        return value if isinstance(value, str) else ""

    modules = meta.get("modules")
    return Listed(
        name=directory.name,
        directory=directory,
        display_name=text(data.get("display_name")),
        project=text(meta.get("project")),
        modules=[m for m in modules if isinstance(m, str)] if isinstance(modules, list) else [],
        uv_module=text(meta.get("uv_module")),
        module_init=text(meta.get("module_init")),
        launcher=text(meta.get("launcher")),
    )


def list_kernels(environ: Mapping[str, str], prefix: Path | None, *, as_json: bool) -> int:
    where = kernelspec.kernels_dir(environ, prefix)
    try:
        entries = sorted(where.iterdir()) if where.is_dir() else []
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read: {exc.strerror}") from None
    kernels = [k for k in (_listed(e) for e in entries if e.is_dir()) if k is not None]
    if as_json:
        print(
            json.dumps(
                {"kernels_dir": str(where), "kernels": [k.as_json() for k in kernels]}, indent=2
            )
        )
        return 0
    if not kernels:
        print(f"no uvmod kernels in {where}")
        return 0
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("name", "display name", "project", "modules", "state"):
        table.add_column(column)
    for k in kernels:
        table.add_row(
            *map(
                output.text,
                (
                    k.name,
                    k.display_name,
                    k.project,
                    " ".join([*k.modules, k.uv_module]),
                    ", ".join(k.problems) or "ok",
                ),
            )
        )
    out = output.console(sys.stdout)
    out.print(output.text(f"uvmod kernels in {where}:"))
    out.print(table)
    return 0


def remove(environ: Mapping[str, str], name: str, prefix: Path | None) -> int:
    where = kernelspec.kernels_dir(environ, prefix)
    target = where / kernelspec.check_name(name)
    if not (target.exists() or target.is_symlink()):
        raise ConfigError(f"no kernel {name!r} in {where} (see: uvmod kernel list)")
    if target.is_symlink() or not target.is_dir() or kernelspec.read_kernel(target) is None:
        raise ConfigError(
            f"{target}: not a kernel uvmod wrote; leaving it alone "
            f"(`jupyter kernelspec remove {name}` removes any kernel)"
        )
    # Renamed first, so Jupyter never lists a half-deleted kernel.
    doomed = where / f".{target.name}.{os.getpid()}.uvmod-removed"
    os.replace(target, doomed)
    shutil.rmtree(doomed)
    print(f"removed kernel {target.name!r} ({target})")
    return 0
