"""Reading input files safely: regular files only, of a bounded size, and, for templates, never
through a link that leads out of the templates folder.

Fact files, templates and notes.lock may arrive by pull request. A link to /proc/self/environ
would put the builder's environment (tokens on CI) into the package; a pipe would hang the
build; /dev/zero would fill the memory. So a file is opened without waiting (a pipe opens at
once), checked to be a regular file of at most a given size through the very handle that is
read, and read no further than that size.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import jinja2

from .errors import TemplateError, UnreadableFile

# Far more than any template or style sheet of the deck needs (the largest is a few kB).
MAX_TEMPLATE_BYTES = 1024 * 1024


def read_bytes(path: Path, limit: int, inside: Path | None = None) -> bytes:
    """The bytes of a regular file of at most `limit` bytes; with `inside`, only a file whose real
    path (links followed) is in that folder. Raises UnreadableFile saying why not."""
    if inside is not None:
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(os.path.realpath(inside)):
            raise UnreadableFile(str(path), f"is a link to {real}, outside {inside}")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        handle = os.open(path, flags)
    except OSError as err:
        if os.path.isdir(path):  # Windows does not open a folder at all
            raise UnreadableFile(str(path), "not a regular file (a device, pipe or folder)") from None
        raise UnreadableFile(str(path), f"cannot read it: {err.strerror or err}") from None
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(str(path), "not a regular file (a device, pipe or folder)")
        if info.st_size > limit:
            raise UnreadableFile(str(path), f"is {info.st_size:,} bytes, more than the {limit:,} it may have",
                                 info.st_size)
        chunks = []
        size = 0
        while size <= limit:
            chunk = os.read(handle, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise UnreadableFile(str(path), f"cannot read it: {err.strerror or err}") from None
    finally:
        os.close(handle)
    if size > limit:  # it grew after it was measured
        raise UnreadableFile(str(path), f"is more than the {limit:,} bytes it may have", size)
    return b"".join(chunks)


def read_template(path: Path, templates: Path) -> str:
    """The text of a template file (a card template, the note type's HTML, the CSS) inside the
    templates folder `templates`; a TemplateError with its path if it cannot be read as one."""
    try:
        raw = read_bytes(path, MAX_TEMPLATE_BYTES, inside=templates)
    except UnreadableFile as err:
        advice = ("copy the file into the folder instead" if "outside" in err.reason else
                  "replace it with a plain text file" if err.reason.startswith("not a regular") else
                  "shorten it" if err.size is not None else "pass --templates a folder laid out like templates/")
        raise TemplateError(f"{path}:1:1: {err.reason}; {advice}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TemplateError(f"{path}:1:1: not valid UTF-8; save it with UTF-8 encoding") from None


class TemplateLoader(jinja2.BaseLoader):
    """Jinja's loader for the templates of one folder, each read with `read_template`: a name
    is a path below `folder` (no '..'), and links may not lead out of `templates`."""

    def __init__(self, folder: Path, templates: Path | None = None) -> None:
        self.folder = folder
        self.templates = templates or folder

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        parts = template.split("/")
        if "\\" in template or any(part in ("", ".", "..") for part in parts):
            raise jinja2.TemplateNotFound(template)
        path = self.folder.joinpath(*parts)
        if not os.path.lexists(path):
            raise jinja2.TemplateNotFound(template)
        return read_template(path, self.templates), str(path), _unchanged


def _unchanged() -> bool:
    return True  # the templates do not change while a command runs
