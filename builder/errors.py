"""The library's own errors: each says what is wrong and what to do, never a traceback.

They know nothing of the command line: builder/cli.py alone turns them into `Error: …` lines
and exit code 1.
"""

from __future__ import annotations

from dataclasses import dataclass


def printable(text: str) -> str:
    """`text` with every character a terminal would act on or hide (control characters such as
    ESC and BEL, invisible formatting characters, lone surrogates) written as an escape like \\x1b."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in one file, at a line and column (1-based)."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return printable(f"{self.path}:{self.line}:{self.col}: {self.message}")


class MuscleDeckError(Exception):
    """Base of every error the library raises for people to read: one line, in `message`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return printable(self.message)


class ValidationError(MuscleDeckError):
    """The fact files have problems, listed in `problems` by file and line: at most the first 50 of
    each file, then a line saying how many more there are."""

    per_file = 50

    def __init__(self, problems: list[Problem]) -> None:
        found = sorted(set(problems))
        self.problems = _first_of_each_file(found, self.per_file)
        noun = "problem" if len(found) == 1 else "problems"
        super().__init__(f"{len(found):,} {noun} in the fact files; fix them and run again (nothing was written)")


def _first_of_each_file(problems: list[Problem], count: int) -> list[Problem]:
    by_file: dict[str, list[Problem]] = {}
    for problem in problems:
        by_file.setdefault(problem.path, []).append(problem)
    kept = []
    for path, found in by_file.items():
        kept += found[:count]
        if len(found) > count:
            kept.append(Problem(path, found[count].line, found[count].col,
                                f"and {len(found) - count:,} more problems in this file; fix these first"))
    return kept


class SelectionError(MuscleDeckError):
    """A filter names something that does not exist, or selects nothing."""


class OutputError(MuscleDeckError):
    """The output path cannot be written, or would overwrite the deck's own sources."""


class LockError(MuscleDeckError):
    """The lock file of note versions is out of date, unreadable, or would lose a released note."""


class PackageError(MuscleDeckError):
    """An .apkg file cannot be read."""


class TemplateError(MuscleDeckError):
    """A card template cannot be read or rendered."""


class ScaffoldError(MuscleDeckError):
    """A new fact file or a schema file cannot be written as asked."""


class UnreadableFile(MuscleDeckError):
    """A file is not one the tool reads: not a regular file, too large, a link out of its folder,
    or unreadable. `reason` says which, without the path; `size` is set when it is too large."""

    def __init__(self, path: str, reason: str, size: int | None = None) -> None:
        super().__init__(f"{path}:1:1: {reason}")
        self.path = path
        self.reason = reason
        self.size = size
