"""Errors that reach people: each says what is wrong and what to do, never a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

import click


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in one file, at a line and column (1-based)."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class MuscleDeckError(click.ClickException):
    """Base of every error the CLI reports as `Error: …` with exit code 1."""

    exit_code = 1


class ValidationError(MuscleDeckError):
    """The fact files have problems; every one of them is listed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"{count} {noun} in the fact files; fix them and run again (nothing was written)"
        )

    def show(self, file: IO[Any] | None = None) -> None:
        for problem in self.problems:
            click.echo(str(problem), err=True)
        super().show(file)


class SelectionError(MuscleDeckError):
    """A filter names something that does not exist, or selects nothing."""


class OutputError(MuscleDeckError):
    """The output path cannot be written, or would overwrite the deck's own sources."""


class LockError(MuscleDeckError):
    """The lock file of note versions is out of date or would lose a released note."""


class PackageError(MuscleDeckError):
    """An .apkg file cannot be read."""


class TemplateError(MuscleDeckError):
    """A card template cannot be read or rendered."""
