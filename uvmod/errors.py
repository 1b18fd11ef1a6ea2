"""The two kinds of failure the CLI reports without a traceback.

Exit codes (docs/design.md#exit-codes): 0 ok, 1 a check failed or something to report, 2 bad
usage or configuration.
"""

from __future__ import annotations


class UvmodError(Exception):
    """A known failure: printed as one line per message, exit 1."""

    exit_code = 1

    def __init__(self, *messages: str) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


class ConfigError(UvmodError):
    """A bad site configuration or bad usage: located messages, exit 2."""

    exit_code = 2
