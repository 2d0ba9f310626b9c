"""The base class of every failure whose message is written for the person using the app.

The command line prints such a failure as one ``error: ...`` line and exits with its
:attr:`~NepocrError.exit_code`; the app shows its message in a banner. Anything else that
escapes is a bug and is reported as one.
"""

from __future__ import annotations


class NepocrError(Exception):
    """A failure with a user-facing message and the exit code the command line ends with."""

    exit_code: int = 1

    def __init__(self, message: str = "", *args: object, exit_code: int | None = None) -> None:
        super().__init__(message, *args)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self)


class UsageError(NepocrError):
    """An option or argument that cannot be used (exit code 2, as for argparse's usage errors)."""

    exit_code = 2
