"""Command-line entry point: argument parsing and the one error handler."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from uvmod import __version__
from uvmod.errors import UvmodError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="uvmod", description="Make uv a first-class citizen on HPC clusters."
    )
    parser.add_argument("--version", action="version", version=f"uvmod {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser(
        "build-modulefiles", help="write the module tree for a site configuration"
    )
    build.add_argument("--config", type=Path, help="site.toml (default: the embedded default)")
    build.add_argument("--prefix", type=Path, required=True, help="where the tree is installed")
    build.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 when the tree differs"
    )
    build.add_argument(
        "--destdir",
        type=Path,
        help="write the tree here instead of --prefix (staging, like make DESTDIR); "
        "paths inside the files still name --prefix",
    )
    build.add_argument("--uv", help="the real uv the wrapper execs (overrides module.uv)")
    build.add_argument(
        "--uvmod", help="the uvmod program bin/uvmod runs for users (overrides module.uvmod)"
    )
    _add_venv(commands)

    doctor = commands.add_parser(
        "doctor", help="what is wrong with your uv set-up, and how to fix it"
    )
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    doctor.add_argument(
        "--project", type=Path, help="look at the project containing DIR (default: the cwd)"
    )

    key = commands.add_parser(
        "key", help="show the MPI/CUDA cache key and whether it matches the loaded modules"
    )
    key.add_argument("--json", action="store_true", help="machine-readable output")
    _add_wheels(commands)
    _add_kernel(commands)
    return parser


def _add_kernel(commands: Any) -> None:
    kernel = commands.add_parser(
        "kernel", help="Jupyter kernels that run a project through the module (also after a purge)"
    )
    actions = kernel.add_subparsers(dest="kernel_command", required=True, metavar="ACTION")
    where = argparse.ArgumentParser(add_help=False)
    place = where.add_mutually_exclusive_group()
    place.add_argument(
        "--user",
        action="store_true",
        help="your Jupyter data directory ($JUPYTER_DATA_DIR, else ~/.local/share/jupyter; "
        "the default)",
    )
    place.add_argument(
        "--prefix", type=Path, metavar="DIR", help="DIR/share/jupyter/kernels instead"
    )
    install = actions.add_parser(
        "install",
        parents=[where],
        help="write a kernel for the project holding DIR, with the modules named",
    )
    install.add_argument("--name", help="the kernel's name (default: from the project and modules)")
    install.add_argument("--display-name", help="the name Jupyter shows")
    install.add_argument(
        "--project", type=Path, default=Path("."), metavar="DIR", help="default: the cwd"
    )
    install.add_argument(
        "--module",
        dest="modules",
        action="append",
        nargs="+",
        default=[],
        metavar="M",
        help="modules the kernel loads before the uv module (python/3.11 mpich/4.1.2 …)",
    )
    install.add_argument(
        "--module-init",
        metavar="FILE",
        help="the module system's sh init script (default: the one of this shell)",
    )
    listing = actions.add_parser("list", parents=[where], help="the kernels uvmod wrote")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    remove = actions.add_parser("remove", parents=[where], help="remove a kernel uvmod wrote")
    remove.add_argument("name", metavar="NAME")


def _add_venv(commands: Any) -> None:
    venv = commands.add_parser("venv", help="the environments the uv wrapper keeps in the depot")
    actions = venv.add_subparsers(dest="venv_command", required=True, metavar="ACTION")
    path = actions.add_parser("path", help="print the environment of the project holding DIR")
    path.add_argument("directory", nargs="?", type=Path, default=Path("."), metavar="DIR")
    listing = actions.add_parser("list", help="every depot environment, its project and size")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    gc = actions.add_parser("gc", help="remove environments whose project is gone")
    gc.add_argument("--dry-run", action="store_true", help="only show (the default)")
    gc.add_argument("--yes", action="store_true", help="really remove them")


def _add_wheels(commands: Any) -> None:
    wheels = commands.add_parser(
        "wheels", help="which site wheels this node and Python can install (like avail_wheels)"
    )
    wheels.add_argument(
        "names", nargs="*", metavar="NAME", help="a name, a requirement (numpy>=1.24) or a glob"
    )
    source = wheels.add_mutually_exclusive_group()
    source.add_argument(
        "-r",
        "--requirement",
        dest="requirement_files",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="check a requirements file (repeatable)",
    )
    source.add_argument(
        "--project", type=Path, metavar="DIR", help="check the project's dependencies"
    )
    archs = wheels.add_mutually_exclusive_group()
    archs.add_argument("--arch", help="another architecture of the site (default: this node's)")
    archs.add_argument("--all-archs", action="store_true", help="every architecture")
    wheels.add_argument(
        "--python", metavar="X.Y", help="this Python version (default: the python3 on PATH)"
    )
    wheels.add_argument("--json", action="store_true", help="machine-readable output")


def _run(args: argparse.Namespace) -> int:
    if args.command == "build-modulefiles":
        from uvmod.commands.build import build_modulefiles

        return build_modulefiles(
            args.config,
            args.prefix,
            check=args.check,
            destdir=args.destdir,
            uv=args.uv,
            uvmod=args.uvmod,
        )
    if args.command == "venv":
        from uvmod.commands import venv

        environ = dict(os.environ)
        if args.venv_command == "path":
            return venv.venv_path(args.directory, environ)
        if args.venv_command == "list":
            return venv.venv_list(args.json, environ)
        return venv.venv_gc(args.dry_run or not args.yes, environ)
    if args.command == "doctor":
        from uvmod.commands.doctor import doctor

        return doctor(os.environ, as_json=args.json, project=args.project)
    if args.command == "key":
        from uvmod.commands.key import show_key

        return show_key(os.environ, as_json=args.json)
    if args.command == "wheels":
        from uvmod.commands.wheels import Query, wheels

        query = Query(
            args.names, args.requirement_files, args.project, args.arch, args.all_archs, args.python
        )
        return wheels(os.environ, query, as_json=args.json)
    if args.command == "kernel":
        from uvmod.commands import kernel

        environ = dict(os.environ)
        if args.kernel_command == "install":
            request = kernel.InstallRequest(
                name=args.name,
                display_name=args.display_name,
                project=args.project,
                modules=[m for group in args.modules for m in group],
                module_init=args.module_init,
                prefix=args.prefix,
            )
            return kernel.install(environ, request)
        if args.kernel_command == "list":
            return kernel.list_kernels(environ, args.prefix, as_json=args.json)
        return kernel.remove(environ, args.name, args.prefix)
    raise AssertionError(args.command)  # argparse only accepts the commands above


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: 2 on bad usage, 0 for --help/--version
        return int(exc.code or 0)
    try:
        return _run(args)
    except UvmodError as exc:
        for message in exc.messages:
            print(f"uvmod: error: {message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
