"""Diff: which notes two .apkg builds add, change and remove (for release notes)."""

from __future__ import annotations

import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import PackageError


@dataclass(frozen=True)
class Diff:
    """Notes by a readable label: the muscle(s) and card kind, or the GUID."""

    added: list[str]
    changed: list[str]
    removed: list[str]
    unchanged: int


def notes(apkg: Path) -> dict[str, tuple[str, str]]:
    """GUID → (label, fields and tags) of every note in a package."""
    try:
        with zipfile.ZipFile(apkg) as archive, tempfile.TemporaryDirectory() as folder:
            archive.extract("collection.anki2", folder)
            conn = sqlite3.connect(Path(folder) / "collection.anki2")
            try:
                rows = conn.execute("SELECT guid, flds, tags FROM notes").fetchall()
            finally:
                conn.close()
    except (zipfile.BadZipFile, KeyError, sqlite3.DatabaseError, OSError) as err:
        raise PackageError(f"{apkg}: not an Anki package this tool can read ({err})") from None
    out = {}
    for guid, flds, tags in rows:
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
