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
    return parser


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
