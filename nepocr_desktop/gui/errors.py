"""Plain words for users: exceptions as messages, sentences and counts; the app-wide exception hook."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from types import TracebackType

from ..lib.errors import NepocrError

log = logging.getLogger("nepocr")


def plain_message(exc: BaseException) -> str:
    """One or two sentences for a person, never a traceback."""
    if isinstance(exc, NepocrError):  # its message is already written for users
        return sentence(str(exc)) or type(exc).__name__
    if isinstance(exc, MemoryError):
        return "There is not enough memory for this. Close other programs or try a smaller image."
    if isinstance(exc, PermissionError):
        return f"Permission denied: {exc.filename or exc}."
    if isinstance(exc, FileNotFoundError):
        return f"File not found: {exc.filename or exc}."
    if isinstance(exc, OSError):
        return f"The operating system reported a problem: {exc.strerror or exc}."
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"Something went wrong ({detail}). Your work is kept; you can carry on."


def sentence(text: str) -> str:
    """One line, starting with a capital (unless it starts with a file name), ending with a stop."""
    text = " ".join(text.split())
    if not text:
        return ""
    first = text.split(" ", 1)[0]
    if not any(c in first for c in "./\\:"):
        text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?…" else text + "."


def plural(count: int, noun: str) -> str:
    """``1 word``, ``2 words``: a count and a noun that takes an ``s`` in the plural."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def install_excepthook(show: Callable[[str], None]) -> Callable[[], None]:
    """Route uncaught exceptions to ``show(message)`` and the log; returns an undo function."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, exc, tb)
            return
        log.error("unexpected error\n%s", "".join(traceback.format_exception(kind, exc, tb)))
        try:
            show(plain_message(exc))
        except Exception:  # noqa: BLE001 - the window may be gone while quitting
            previous(kind, exc, tb)

    sys.excepthook = hook

    def restore() -> None:
        sys.excepthook = previous

    return restore
