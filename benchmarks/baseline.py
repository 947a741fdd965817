"""Bare genanki: write the given notes (already rendered) to an .apkg, and nothing else.

Usage: python baseline.py NOTES.json OUT.apkg
"""

from __future__ import annotations

import json
import sys

import genanki


def main(notes_path: str, out: str) -> None:
    with open(notes_path, encoding="utf-8") as f:
        data = json.load(f)
    model = genanki.Model(data["model_id"], "muscle-deck", fields=[{"name": n} for n in data["fields"]],
                          templates=data["templates"], css=data["css"])
    deck = genanki.Deck(data["deck_id"], "Muscle anatomy")
    for n in data["notes"]:
        deck.add_note(genanki.Note(model=model, fields=n["fields"], tags=n["tags"], guid=n["guid"]))
    genanki.Package(deck).write_to_file(out, timestamp=1_800_000_000)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
