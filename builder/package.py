"""Package: cards → an Anki .apkg, through genanki, byte-reproducible and written atomically."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from itertools import count
from pathlib import Path
from typing import NamedTuple

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
# zlib level 1: twice as fast as the default 6 on card HTML, for a package about a quarter larger.
_LEVEL = 1


def deck_id(region: str) -> int:
    """The constant id of a region's subdeck, derived from the region's id (never its name)."""
    if not region:
        return TOP_DECK_ID
    return 1_700_000_000_000 + int(hashlib.sha256(f"muscle-deck/deck/{region}".encode())
                                   .hexdigest()[:10], 16) % 1_000_000_000


class Stamped(NamedTuple):
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
    by_deck: dict[str, list[Stamped]] = {"": []}
    for region in sorted({n.card.deck for n in notes} - {""}):
        by_deck[region] = []
    for stamped in notes:
        by_deck[stamped.card.deck].append(stamped)
    decks_ = []
    for region, members in by_deck.items():
        deck = genanki.Deck(deck_id(region), f"{TOP_DECK}::{decks[region]}" if region else TOP_DECK)
        if members or not region:
            deck.add_model(model)
        decks_.append((deck, members))
    with replacing(output) as tmp:
        _write_zip(genanki.Package([d for d, _ in decks_]), model, decks_, model_mod, tmp)


def _rows(model: object, decks: list[tuple[object, list[Stamped]]], ids: Iterator[int],
          cards: list[tuple[object, ...]]) -> Iterator[tuple[object, ...]]:
    """The notes table's rows, exactly as genanki's Note.write_to_db makes them (same ids, same
    order), one at a time for executemany; each note's card rows are added to `cards`."""
    required = model._req  # type: ignore[attr-defined]  # [card ord, 'any'|'all', [field ords]]
    mid = MODEL_ID
    for deck, members in decks:
        did = deck.deck_id  # type: ignore[attr-defined]
        for stamped in members:
            card = stamped.card
            fields = (card.front, card.back, card.sources, card.muscle_names, card.kind)
            nid = next(ids)
            mod = stamped.mod
            yield (nid, stamped.guid, mid, mod, -1, " " + " ".join(card.tags) + " ",
                   "\x1f".join(fields), card.front, 0, 0, "")
            for ord_, how, field_ords in required:
                if (all if how == "all" else any)(fields[i] for i in field_ords):
                    cards.append((next(ids), nid, did, ord_, mod, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ""))


def _write_zip(package: object, model: object, decks: list[tuple[object, list[Stamped]]], model_mod: int,
               path: Path) -> None:
    ids = count(model_mod * 1000)
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "collection.anki2"
        conn = sqlite3.connect(db)
        try:
            conn.execute("PRAGMA journal_mode = OFF")  # a scratch file: no rollback journal to write,
            conn.execute("PRAGMA synchronous = OFF")  # and no waiting for the disk (it is zipped next)
            # Cards are a few kB of HTML each: 64 kB pages hold several, where 4 kB pages spill
            # each note into overflow pages (inserts a quarter faster, the file an eighth smaller).
            # Anki reads a collection of any page size.
            conn.execute("PRAGMA page_size = 65536")
            cursor = conn.cursor()
            package.write_to_db(cursor, model_mod, ids)  # type: ignore[attr-defined]  # schema, decks, note type
            cards: list[tuple[object, ...]] = []
            cursor.executemany("INSERT INTO notes VALUES(?,?,?,?,?,?,?,?,?,?,?)", _rows(model, decks, ids, cards))
            cursor.executemany("INSERT INTO cards VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", cards)
            conn.commit()
        finally:
            conn.close()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, source in (("collection.anki2", db), ("media", None)):
                info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)  # fixed times: same bytes every build
                info.compress_type = zipfile.ZIP_DEFLATED
                setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", _LEVEL)
                info.external_attr = 0o644 << 16
                with archive.open(info, "w") as entry:
                    if source is None:
                        entry.write(b"{}")
                    else:
                        with source.open("rb") as f:
                            shutil.copyfileobj(f, entry, 1 << 20)
