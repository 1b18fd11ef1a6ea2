"""docs/reference.md documents every command and option the parser has, each in its command's
section, so that the reference cannot fall behind the CLI."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

from uvmod.cli import _parser

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "reference.md"


def _sections() -> dict[str, str]:
    """The text of each `## \\`uvmod COMMAND\\`` section, by COMMAND."""
    parts = re.split(r"(?m)^## `uvmod ([a-z-]+)`\n", REFERENCE.read_text())
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _words(parser: argparse.ArgumentParser) -> Iterator[str]:
    """Every option string and positional metavar of `parser` and of its subcommands."""
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        if action.option_strings:
            yield from action.option_strings
        elif isinstance(action.metavar, str):
            yield action.metavar
    for name, sub in _subcommands(parser).items():
        yield name
        yield from _words(sub)


def test_every_command_and_option_is_in_its_section() -> None:
    sections = _sections()
    commands = _subcommands(_parser())
    assert sorted(sections) == sorted(commands)
    missing = [
        f"{command}: {word}"
        for command, parser in commands.items()
        for word in _words(parser)
        if not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", sections[command])
    ]
    assert missing == []
