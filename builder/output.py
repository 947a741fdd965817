"""Output: where a command may write, and writing there atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .errors import OutputError


def target(path: Path, protected: Sequence[Path] = (), suffix: str | None = None,
           folder: bool = False) -> Path:
    """Check an output path (a file, or a folder with `folder`) and create its parent folder.

    It may not lie inside a protected folder (the deck's own decks/ and templates/)."""
    resolved = path.resolve()
    for base in protected:
        base_resolved = base.resolve()
        if resolved == base_resolved or base_resolved in resolved.parents:
            raise OutputError(f"{path}: the output would be written inside {base}, the deck's own "
                              "sources; choose another path with -o")
    if not folder and resolved.is_dir():
        raise OutputError(f"{path}: is a folder; give a file path such as {path}/muscle-deck{suffix or ''}")
    if suffix and resolved.suffix != suffix:
        raise OutputError(f"{path}: the file must end in {suffix}; choose another path with -o")
    parent = resolved if folder else resolved.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{path}: cannot create its folder: {err.strerror}; choose another path "
                          "with -o") from None
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{path}: its folder is not writable; choose another path with -o")
    return resolved


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside `path` that replaces it when the block succeeds.

    If the block fails or is interrupted, the temporary file is removed and `path` is untouched."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str, protected: Sequence[Path] = (), suffix: str | None = None) -> Path:
    """Check `path` and write `text` to it atomically (UTF-8, newlines as given)."""
    resolved = target(path, protected, suffix)
    with replacing(resolved) as tmp, tmp.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    return resolved
