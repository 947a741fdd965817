"""A cache of checked facts and rendered cards, keyed by everything they are made from.

Loading, checking and rendering a large deck costs several times more than writing the
package. Their result depends only on the bytes of the files under decks/, the templates and
this package's own code, so it is stored under a digest of all of those and reused when none
of them has changed: a second build, a subset build, `preview` or `export` after a build. Any
change to any input gives a new digest, so a stale result is never used.

Where: $MUSCLE_DECK_CACHE, else $XDG_CACHE_HOME/muscle-deck, else ~/.cache/muscle-deck.
MUSCLE_DECK_CACHE=off turns it off. The newest few entries are kept.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

KEEP = 6
_CODE = Path(__file__).resolve().parent


def folder() -> Path | None:
    """The cache folder, or None when caching is off."""
    setting = os.environ.get("MUSCLE_DECK_CACHE", "")
    if setting.lower() in ("off", "0", "no"):
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "muscle-deck"


def key(*roots: Path) -> str:
    """A digest of every file under the given folders and of this package's code."""
    digest = hashlib.sha256()
    for root in (_CODE, *roots):
        for name, path in _files(str(root)):
            digest.update(name.encode() + b"\0")
            try:  # os.read: a third faster than open() for ten thousand small files
                fd = os.open(path, os.O_RDONLY)
                try:
                    while chunk := os.read(fd, 1 << 20):
                        digest.update(chunk)
                finally:
                    os.close(fd)
                digest.update(b"\0")
            except OSError:  # e.g. a broken link: its name is in the digest, and reading says the rest
                digest.update(b"\1")
    return digest.hexdigest()


def _files(root: str) -> list[tuple[str, str]]:
    """(name relative to `root`, path) of every file below it but compiled code, sorted
    (os.walk: several times faster than Path.rglob with a stat of each path)."""
    found: list[tuple[str, str]] = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [d for d in subfolders if d != "__pycache__"]
        within = os.path.relpath(folder, root)
        found.extend((name if within == "." else os.path.join(within, name), os.path.join(folder, name))
                     for name in files)
    return sorted(found)


def pieces(name: str) -> list[Any] | None:
    """The pieces stored under `name` (see `Entry`), or None."""
    where = folder()
    if where is None:
        return None
    found = []
    try:
        with (where / f"{name}.pickle").open("rb") as f:
            while f.peek(1):
                found.append(pickle.load(f))
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError, ValueError):
        return None
    return found


class Entry:
    """A cache entry written piece by piece, as its pieces are made. It is stored under its
    name only once `commit`ted, so no one ever reads half an entry; nothing is stored when the
    cache is off or cannot be written."""

    def __init__(self, name: str) -> None:
        self._file: BinaryIO | None = None
        self._tmp: Path | None = None
        where = folder()
        if where is None:
            return
        self._where, self._path = where, where / f"{name}.pickle"
        try:
            where.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=where)
        except OSError:
            return
        self._tmp = Path(tmp)
        self._file = os.fdopen(fd, "wb")

    @property
    def writing(self) -> bool:
        """Whether the pieces added are being stored."""
        return self._file is not None

    def __enter__(self) -> Entry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()  # unless committed

    def add(self, piece: Any, pickled: bytes | None = None) -> None:
        """Add a piece, given already `pickled` if it is at hand."""
        if self._file is None:
            return
        try:
            self._file.write(pickled if pickled is not None else pickle.dumps(piece, pickle.HIGHEST_PROTOCOL))
        except OSError:
            self.discard()

    def commit(self) -> None:
        if self._file is None:
            return
        try:
            self._file.close()
            self._file = None
            os.replace(self._tmp, self._path)  # type: ignore[arg-type]  # set whenever _file is
            self._tmp = None
            entries = sorted(self._where.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in entries[KEEP:]:
                old.unlink(missing_ok=True)
        except OSError:
            self.discard()

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
