"""Bare genanki: write the given notes (already rendered) into a deflated .apkg, and nothing else.

Usage: python baseline.py NOTES.json OUT.apkg

genanki's own Package.write_to_file stores the collection uncompressed; a build deflates it, so
the baseline does too (genanki's write_to_db, then zipfile with deflate), to compare like with like.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import sys
import tempfile
import zipfile
from pathlib import Path

import genanki

TIMESTAMP = 1_800_000_000


def main(notes_path: str, out: str) -> None:
    with open(notes_path, encoding="utf-8") as f:
        data = json.load(f)
    model = genanki.Model(data["model_id"], "muscle-deck", fields=[{"name": n} for n in data["fields"]],
                          templates=data["templates"], css=data["css"])
    deck = genanki.Deck(data["deck_id"], "Muscle anatomy")
    for n in data["notes"]:
        deck.add_note(genanki.Note(model=model, fields=n["fields"], tags=n["tags"], guid=n["guid"]))
    with tempfile.TemporaryDirectory() as folder:
        collection = Path(folder) / "collection.anki2"
        conn = sqlite3.connect(collection)
        genanki.Package(deck).write_to_db(conn.cursor(), TIMESTAMP, itertools.count(TIMESTAMP * 1000))
        conn.commit()
        conn.close()
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.write(collection, "collection.anki2")
            archive.writestr("media", "{}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
