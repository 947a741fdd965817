"""Package: cards → an Anki .apkg, through genanki, byte-reproducible and written atomically."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count
from pathlib import Path

from .model import Card
from .output import replacing, target

# Fixed forever: Anki matches note types and decks by these ids.
MODEL_ID = 1735689201
MODEL_NAME = "muscle-deck"
TOP_DECK_ID = 1735689202
TOP_DECK = "Muscle anatomy"
# The note type's fields. Anki refuses to update notes whose note type's fields changed, so
# this list is pinned by a test and never changes (see README, "Updating").
FIELDS = ("Front", "Back", "Sources", "Muscle", "Kind")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def deck_id(region: str) -> int:
    """The constant id of a region's subdeck, derived from the region's id (never its name)."""
    if not region:
        return TOP_DECK_ID
    return 1_700_000_000_000 + int(hashlib.sha256(f"muscle-deck/deck/{region}".encode())
                                   .hexdigest()[:10], 16) % 1_000_000_000


@dataclass(frozen=True)
class Stamped:
    """A card with its GUID and modification time."""

    card: Card
    guid: str
    mod: int


def note_type(templates: Path) -> tuple[list[dict[str, str]], str]:
    """The card template (question and answer) and the CSS of the note type."""
    front = (templates / "model" / "front.html").read_text(encoding="utf-8")
    back = (templates / "model" / "back.html").read_text(encoding="utf-8")
    css = (templates / "style.css").read_text(encoding="utf-8")
    return [{"name": "Card", "qfmt": front, "afmt": back}], css


def note_type_digest(templates: Path) -> str:
    """A digest of the note type, so its modification time advances when it changes."""
    tmpls, css = note_type(templates)
    text = json.dumps([FIELDS, tmpls, css], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write(notes: Sequence[Stamped], decks: dict[str, str], templates: Path, model_mod: int,
          output: Path, protected: Sequence[Path] = ()) -> None:
    """Write the .apkg atomically: a temporary file beside `output`, then a rename."""
    import genanki

    output = target(output, protected, suffix=".apkg")
    tmpls, css = note_type(templates)
    model = genanki.Model(MODEL_ID, MODEL_NAME, fields=[{"name": f} for f in FIELDS],
                          templates=tmpls, css=css, sort_field_index=0)
    note_class = _note_class()
    by_deck: dict[str, genanki.Deck] = {"": genanki.Deck(TOP_DECK_ID, TOP_DECK)}
    for region in sorted({n.card.deck for n in notes} - {""}):
        by_deck[region] = genanki.Deck(deck_id(region), f"{TOP_DECK}::{decks[region]}")
    for stamped in notes:
        note = note_class(model=model, fields=[stamped.card.front, stamped.card.back,
                                          stamped.card.sources, stamped.card.muscle_names,
                                          stamped.card.kind],
                     tags=list(stamped.card.tags), guid=stamped.guid)
        note.mod = stamped.mod
        by_deck[stamped.card.deck].add_note(note)
    by_deck[""].add_model(model)
    package = genanki.Package(list(by_deck.values()))
    with replacing(output) as tmp:
        _write_zip(package, model_mod, tmp)


def _note_class() -> type:
    import genanki

    class Note(genanki.Note):  # type: ignore[misc]
        """A genanki note written with its own modification time instead of the build's."""

        mod = 0

        def write_to_db(self, cursor, timestamp, deck_id, id_gen):  # type: ignore[no-untyped-def]
            super().write_to_db(cursor, self.mod, deck_id, id_gen)

    return Note


def _write_zip(package: object, model_mod: int, path: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "collection.anki2"
        conn = sqlite3.connect(db)
        try:
            package.write_to_db(conn.cursor(), model_mod, count(model_mod * 1000))  # type: ignore[attr-defined]
            conn.commit()
        finally:
            conn.close()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, source in (("collection.anki2", db), ("media", None)):
                info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)  # fixed times: same bytes every build
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                with archive.open(info, "w") as entry:
                    if source is None:
                        entry.write(b"{}")
                    else:
                        with source.open("rb") as f:
                            shutil.copyfileobj(f, entry, 1 << 20)
