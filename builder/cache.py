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

import atexit
import hashlib
import os
import pickle
from pathlib import Path
from typing import Any

from .output import replacing

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
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def get(name: str) -> Any | None:
    """The value stored under `name`, or None."""
    where = folder()
    if where is None:
        return None
    try:
        with (where / f"{name}.pickle").open("rb") as f:
            return pickle.load(f)
    except (OSError, pickle.PickleError, EOFError, AttributeError, ImportError):
        return None


_pending: list[Any] = []


def put(name: str, value: Any) -> None:
    """Store a value under `name` (silently skipped when the cache cannot be written).

    Where there is a second core, a forked process writes it while this one goes on (a large
    deck takes most of a second to pickle); `settle()` waits until every such write is done."""
    where = folder()
    if where is None:
        return
    from .parallel import Ahead

    _pending.append(Ahead(lambda: _put(where, name, value)))


def settle() -> None:
    """Wait for the cache writes under way."""
    while _pending:
        _pending.pop(0).result()


atexit.register(settle)


def _put(where: Path, name: str, value: Any) -> None:
    try:
        where.mkdir(parents=True, exist_ok=True)
        with replacing(where / f"{name}.pickle") as tmp, tmp.open("wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        entries = sorted(where.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
