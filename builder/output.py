"""Output: where a command may write, and writing there atomically.

One rule for every command that writes: the output is a regular file with the expected suffix
(or, for the preview, a folder), never a device or other special file, never a link (a link is
refused, not followed, so nothing is written outside the path given), never inside the deck's
own sources or the installed package; a command that fails leaves nothing behind, not even a
folder it created; files get the permissions the user's umask gives.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError
from .paths import default_decks, default_templates, package_folder


def target(path: Path, protected: Sequence[Path] = (), suffix: str | None = None, folder: bool = False) -> Path:
    """Check an output path (a file, or a folder with `folder`) before anything is written; the
    path to write, as given."""
    mode = _mode(path)
    real = Path(os.path.realpath(path))
    for base in (*protected, default_decks(), default_templates(), package_folder()):
        base_real = Path(os.path.realpath(base))
        if real == base_real or base_real in real.parents:
            raise OutputError(f"{path}: the output would be written inside {base}, the deck's own sources; "
                              "choose another path with -o")
    if folder:
        if mode is not None and not stat.S_ISDIR(mode):
            raise OutputError(f"{path}: is not a folder; give a folder to write into with -o")
        return path
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"{path}: is a folder; give a file path such as {path / ('muscle-deck' + (suffix or ''))}")
    if suffix and path.suffix != suffix:
        raise OutputError(f"{path}: the file must end in {suffix}; choose another path with -o")
    return path


def _mode(path: Path) -> int | None:
    """The file type of what is at `path` (None if nothing); a link, or a special file where a
    file is to be written, is refused."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise OutputError(f"{path}: cannot use it: {err.strerror}; choose another path with -o") from None
    if stat.S_ISLNK(info.st_mode):
        raise OutputError(f"{path}: is a link; a command writes only a file or folder of its own, never through a "
                          "link: remove the link or choose another path with -o")
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        raise OutputError(f"{path}: is not a regular file (a device, pipe or socket); choose another path with -o")
    return info.st_mode


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside `path` that replaces it when the block succeeds.

    `path` must be a regular file or not exist (a link there is refused). Missing folders on the
    way are created, and removed again if the block fails or is interrupted; then the temporary
    file is removed too and `path` is untouched."""
    mode = _mode(path)
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"{path}: is a folder; choose another path with -o")
    created = _make_folders(path.parent)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        _remove(created)
        raise OutputError(f"{path}: cannot write there: {err.strerror}; choose another path with -o") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; an output file is the user's as usual
        os.replace(tmp, path)  # a link that appeared meanwhile is replaced, not followed
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        _remove(created)
        if isinstance(err, OSError):
            why = "the disk is full; free some space or" if err.errno == errno.ENOSPC else f"{err.strerror or err};"
            raise OutputError(f"{path}: cannot write it: {why} choose another path with -o") from None
        raise


def write_text(path: Path, text: str, protected: Sequence[Path] = (), suffix: str | None = None) -> Path:
    """Check `path` and write `text` to it atomically (UTF-8, newlines as given)."""
    path = target(path, protected, suffix)
    with replacing(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return path


def _make_folders(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; the ones this process created, deepest first.
    Another process creating the same folders at the same time is fine."""
    missing = []
    while not folder.is_dir() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    created: list[Path] = []
    for made in reversed(missing):
        try:
            made.mkdir()
        except FileExistsError:
            if made.is_dir():  # another process made it just now
                continue
            _remove(created[::-1])
            raise OutputError(f"{made}: is not a folder (a file, or a link to nothing); choose another path "
                              "with -o") from None
        except OSError as err:
            _remove(created[::-1])
            raise OutputError(f"{made}: cannot create this folder: {err.strerror}; choose another path "
                              "with -o") from None
        created.append(made)
    return created[::-1]


def _remove(folders: list[Path]) -> None:
    """Remove the folders this process created (deepest first) that are still empty: another
    process may be writing into one of them."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
