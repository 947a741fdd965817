"""Package: cards → an Anki .apkg through genanki, byte-reproducible and written atomically."""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import genanki

from .files import read_template
from .model import ACROSS, Card
from .note import Fields
from .output import replacing, target

# Fixed forever: Anki matches note types and decks by these ids.
MODEL_ID = 1735689201
MODEL_NAME = "muscle-deck"
TOP_DECK_ID = 1735689202
TOP_DECK = "Muscle anatomy"
ACROSS_NAME = "Across regions"  # the subdeck of cards whose muscles span regions
# The note type's fields. Anki refuses to update notes whose note type's fields changed, so
# this list is pinned by a test and never changes (see README, "Updating").
FIELDS = ("Front", "Back", "Sources", "Muscle", "Kind")
# Every zip entry carries this date, so that the same notes always give the same bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class Stamped(NamedTuple):
    """A card with its note's fields, GUID and modification time, and its new cards' position."""

    card: Card
    fields: Fields
    guid: str
    mod: int
    due: int


def deck_id(region: str) -> int:
    """The constant id of a region's subdeck, derived from the region's id (never its name)."""
    if not region:
        return TOP_DECK_ID
    return 1_700_000_000_000 + int(hashlib.sha256(f"muscle-deck/deck/{region}".encode()).hexdigest()[:10], 16) \
        % 1_000_000_000


def note_type(templates: Path) -> tuple[list[dict[str, str]], str]:
    """The card template (question and answer) and the CSS of the note type."""
    front, back, css = (read_template(templates / name, templates)
                        for name in ("model/front.html", "model/back.html", "style.css"))
    return [{"name": "Card", "qfmt": front, "afmt": back}], css


def note_type_digest(templates: Path) -> str:
    """A digest of the note type, so that its modification time advances when it changes."""
    tmpls, css = note_type(templates)
    return hashlib.sha256(json.dumps([FIELDS, tmpls, css], sort_keys=True).encode()).hexdigest()[:16]


def write(notes: Sequence[Stamped], regions: dict[str, str], templates: Path, model_mod: int, output: Path,
          protected: Sequence[Path] = (), media: Path = Path("media")) -> None:
    """Write the .apkg atomically: the top deck and a subdeck per region that has notes
    (`regions`: region id → name), each note with its own modification time and its new cards'
    position, and the images its cards show (from the `media` folder)."""
    output = target(output, protected, suffix=".apkg")
    regions = {**regions, ACROSS: ACROSS_NAME}
    tmpls, css = note_type(templates)
    model = genanki.Model(MODEL_ID, MODEL_NAME, fields=[{"name": f} for f in FIELDS], templates=tmpls, css=css,
                          sort_field_index=0)
    decks = {"": genanki.Deck(TOP_DECK_ID, TOP_DECK)}
    for region in sorted({n.card.deck for n in notes} - {""}):
        decks[region] = genanki.Deck(deck_id(region), f"{TOP_DECK}::{regions[region]}")
    for n in notes:
        decks[n.card.deck].add_note(_Note(n.mod, model=model, fields=list(n.fields), tags=list(n.card.tags),
                                          guid=n.guid, due=n.due))
    for deck in decks.values():
        deck.add_model(model)
    files = sorted({p.file for n in notes for p in (*n.card.front_images, *n.card.images)})
    with replacing(output) as tmp:
        _write_package(genanki.Package(list(decks.values())), model_mod, tmp, [(f, media / f) for f in files])


class _Note(genanki.Note):  # type: ignore[misc]
    """A genanki note written with its own modification time rather than the package's."""

    def __init__(self, mod: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mod = mod

    def write_to_db(self, cursor: Any, timestamp: float, deck_id: int, id_gen: Any) -> None:
        super().write_to_db(cursor, self.mod, deck_id, id_gen)


def _write_package(package: Any, model_mod: int, path: Path, media: Sequence[tuple[str, Path]]) -> None:
    """genanki's Package.write_to_file, with fixed note ids and zip entry dates, and deflated;
    `media`: (name in Anki, file) of each image, stored as genanki does (entries 0, 1, …). The
    collection is made beside `path` (not in the system's temporary folder), so that a full disk
    is the output's, as the error says."""
    with tempfile.TemporaryDirectory(prefix=f".{path.name}.", dir=path.parent) as folder:
        collection = Path(folder) / "collection.anki2"
        conn = sqlite3.connect(collection)
        try:
            package.write_to_db(conn.cursor(), model_mod, itertools.count(model_mod * 1000))
            conn.commit()
        except sqlite3.Error as err:  # e.g. "database or disk is full"
            raise OSError(f"cannot write the collection ({err})") from None
        finally:
            conn.close()
        index = {str(i): name for i, (name, _) in enumerate(media)}
        entries = [("collection.anki2", collection.read_bytes()), ("media", json.dumps(index).encode())]
        entries += [(str(i), _read_image(file)) for i, (_, file) in enumerate(media)]
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                entry = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.create_system = 3  # Unix, on every system, so the bytes are the same everywhere
                entry.external_attr = 0o644 << 16
                archive.writestr(entry, data)



MAX_IMAGE = 1_000_000  # bytes: the deck's images are about 80 KB


def _read_image(path: Path) -> bytes:
    """An image file's bytes: a regular file of sensible size, or a clear error."""
    import os
    import stat

    try:
        info = os.stat(path, follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_IMAGE:
            raise OSError(f"{path}: not a regular image file of at most {MAX_IMAGE} bytes")
        return path.read_bytes()
    except OSError as err:
        raise OSError(f"cannot read the image {path} ({err.strerror or err}); re-render it with "
                      "`muscle-deck images` or restore media/ from git") from None
