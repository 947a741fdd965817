"""Diff: which notes two .apkg builds add, change and remove (for release notes)."""

from __future__ import annotations

import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import PackageError

# The largest collection this tool unpacks: far more than a deck of the whole body needs, far
# less than a zip bomb would fill a disk with.
MAX_COLLECTION = 512 * 1024 * 1024


@dataclass(frozen=True)
class Diff:
    """Notes by a readable label: the muscle(s) and card kind, and the GUID."""

    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int


def notes(apkg: Path) -> dict[str, tuple[str, str]]:
    """GUID → (label, fields and tags) of every note in a package."""
    try:
        with zipfile.ZipFile(apkg) as archive, tempfile.TemporaryDirectory() as folder:
            entry = archive.getinfo("collection.anki2")
            if entry.file_size > MAX_COLLECTION:
                raise PackageError(f"{apkg}: its collection unpacks to {entry.file_size:,} bytes, more than the "
                                   f"{MAX_COLLECTION:,} this tool reads; is it a muscle-deck package?")
            archive.extract(entry, folder)
            conn = sqlite3.connect(Path(folder) / "collection.anki2")
            try:
                rows = conn.execute("SELECT guid, flds, tags FROM notes").fetchall()
            finally:
                conn.close()
    except (zipfile.BadZipFile, KeyError, sqlite3.DatabaseError, OSError) as err:
        raise PackageError(f"{apkg}: not an Anki package this tool can read ({err})") from None
    out = {}
    for guid, flds, tags in rows:
        if not all(isinstance(v, str) for v in (guid, flds, tags)):
            raise PackageError(f"{apkg}: a note holds something other than text ({guid!r}); not an Anki package "
                               "this tool can read")
        fields = flds.split("\x1f")
        label = f"{fields[3]} / {fields[4]}" if len(fields) >= 5 else guid
        out[guid] = (f"{label} [{guid}]", flds + "\x1e" + " ".join(sorted(tags.split())))
    return out


def diff(old: Path, new: Path) -> Diff:
    """Compare two packages note by note (matched by GUID, as Anki matches them)."""
    a, b = notes(old), notes(new)
    return Diff(
        added=sorted(b[g][0] for g in b.keys() - a.keys()),
        changed=sorted(b[g][0] for g in b.keys() & a.keys() if a[g][1] != b[g][1]),
        removed=sorted(a[g][0] for g in a.keys() - b.keys()),
        unchanged=sum(1 for g in b.keys() & a.keys() if a[g][1] == b[g][1]),
    )
