"""Output: where a command may write, and writing there atomically.

One rule for every command that writes: the output is a regular file with the expected suffix
(or, for the preview, a folder), never a device or other special file, never inside the deck's
own sources; a command that fails leaves nothing behind, not even a folder it created; files
get the permissions the user's umask gives.
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


def target(path: Path, protected: Sequence[Path] = (), suffix: str | None = None, folder: bool = False) -> Path:
    """Check an output path (a file, or a folder with `folder`) before anything is written."""
    resolved = path.resolve()
    for base in protected:
        base_resolved = base.resolve()
        if resolved == base_resolved or base_resolved in resolved.parents:
            raise OutputError(f"{path}: the output would be written inside {base}, the deck's own sources; "
                              "choose another path with -o")
    try:
        mode = os.stat(resolved).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise OutputError(f"{path}: cannot use it: {err.strerror}; choose another path with -o") from None
    if folder:
        if mode is not None and not stat.S_ISDIR(mode):
            raise OutputError(f"{path}: is not a folder; give a folder to write into with -o")
        return resolved
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"{path}: is a folder; give a file path such as {path / ('muscle-deck' + (suffix or ''))}")
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(f"{path}: is not a regular file (a device, pipe or socket); choose another path with -o")
    if suffix and resolved.suffix != suffix:
        raise OutputError(f"{path}: the file must end in {suffix}; choose another path with -o")
    return resolved


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside `path` that replaces it when the block succeeds.

    Missing folders on the way are created, and removed again if the block fails or is
    interrupted; then the temporary file is removed too and `path` is untouched."""
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
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        _remove(created)
        if isinstance(err, OSError):
            why = "the disk is full; free some space or" if err.errno == errno.ENOSPC else f"{err.strerror or err};"
            raise OutputError(f"{path}: cannot write it: {why} choose another path with -o") from None
        raise


def write_text(path: Path, text: str, protected: Sequence[Path] = (), suffix: str | None = None) -> Path:
    """Check `path` and write `text` to it atomically (UTF-8, newlines as given)."""
    resolved = target(path, protected, suffix)
    with replacing(resolved) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return resolved


def _make_folders(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; the ones created, deepest first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        try:
            made.mkdir()
        except OSError as err:
            _remove([m for m in missing if m.exists()])
            raise OutputError(f"{made}: cannot create this folder: {err.strerror}; choose another path "
                              "with -o") from None
    return missing


def _remove(folders: list[Path]) -> None:
    for folder in folders:  # deepest first
        try:
            folder.rmdir()
        except OSError:
            pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
