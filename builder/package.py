"""Package: cards → an Anki .apkg, through genanki, byte-reproducible and written atomically."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from itertools import count, islice
from pathlib import Path
from typing import NamedTuple

from .errors import OutputError
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


def write(notes: Iterable[Stamped], decks: dict[str, str], templates: Path, model_mod: int,
          output: Path, protected: Sequence[Path] = ()) -> None:
    """Write the .apkg atomically: a temporary file beside `output`, then a rename.

    `notes` may still be in the making: each is written as it comes, in the order given, into
    the top deck or its region's subdeck (`decks`: region id → name). If taking the next note
    raises, nothing is written."""
    import genanki

    output = target(output, protected, suffix=".apkg")
    tmpls, css = note_type(templates)
    model = genanki.Model(MODEL_ID, MODEL_NAME, fields=[{"name": f} for f in FIELDS],
                          templates=tmpls, css=css, sort_field_index=0)
    with replacing(output) as tmp:
        _write_zip(notes, model, decks, model_mod, tmp)


# A row of each table as genanki writes it, its constant columns (note type, usn, csum, flags,
# data; queue, type, due, interval…) written out: (id, guid, mod, tags, fields, sort field) and
# (id, note id, deck id, template, mod) are all that vary.
_NOTE = f"INSERT INTO notes VALUES(?, ?, {MODEL_ID}, ?, -1, ?, ?, ?, 0, 0, '')"
_CARD = "INSERT INTO cards VALUES(?, ?, ?, ?, ?, -1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '')"


def _rows(model: object, notes: Iterable[Stamped], ids: Iterator[int], cards: list[tuple[object, ...]],
          used: set[str]) -> Iterator[tuple[object, ...]]:
    """The notes table's rows as genanki's Note.write_to_db makes them (ids in the order of
    the notes), one at a time for executemany, less the constant columns (see _NOTE); each
    note's card rows (see _CARD) are added to `cards`, and its region to `used`."""
    required = model._req  # type: ignore[attr-defined]  # [card ord, 'any'|'all', [field ords]]
    deck_ids: dict[str, int] = {}
    for stamped in notes:
        card = stamped.card
        did = deck_ids.get(card.deck)
        if did is None:
            did = deck_ids[card.deck] = deck_id(card.deck)
            used.add(card.deck)
        fields = (card.front, card.back, card.sources, card.muscle_names, card.kind)
        nid = next(ids)
        mod = stamped.mod
        yield (nid, stamped.guid, mod, " " + " ".join(card.tags) + " ", "\x1f".join(fields), card.front)
        for ord_, how, field_ords in required:
            if (all if how == "all" else any)(fields[i] for i in field_ords):
                cards.append((next(ids), nid, did, ord_, mod))


def _write_zip(notes: Iterable[Stamped], model: object, names: dict[str, str], model_mod: int,
               path: Path) -> None:
    import genanki
    from genanki.apkg_col import APKG_COL
    from genanki.apkg_schema import APKG_SCHEMA

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
            # The tables now, their indexes once the rows are in: built in one sort each instead
            # of kept up to date row by row (a fifth less work in SQLite, the same collection).
            statements = APKG_SCHEMA.splitlines()
            cursor.executescript("\n".join(s for s in statements if not s.startswith("CREATE INDEX")))
            used: set[str] = set()
            coming = iter(notes)
            # A thousand notes at a time, then their cards: little is left to do once the last note comes.
            while batch := list(islice(coming, 1000)):
                cards: list[tuple[object, ...]] = []
                cursor.executemany(_NOTE, _rows(model, batch, ids, cards, used))
                cursor.executemany(_CARD, cards)
            cursor.executescript("\n".join(s for s in statements if s.startswith("CREATE INDEX")))
            # The collection, its decks and the note type, as genanki's Package.write_to_db writes
            # them: the top deck, then each region's deck that has notes.
            cursor.executescript(APKG_COL)
            for region in ["", *sorted(used - {""})]:
                deck = genanki.Deck(deck_id(region), f"{TOP_DECK}::{names[region]}" if region else TOP_DECK)
                deck.add_model(model)
                deck.write_to_db(cursor, model_mod, ids)
            conn.commit()
        finally:
            conn.close()
        _zip(path, db)


def _zip(path: Path, db: Path) -> None:
    """The package: a zip of the collection and an empty media list, deflated, dated 1980-01-01
    so that the same cards always give the same bytes. Written here rather than by zipfile so
    that the collection is deflated on every core (see _deflated)."""
    entries = []
    with path.open("wb") as out:
        for name, chunks in (("collection.anki2", _deflated(db)), ("media", [(b"{}", _deflate(b"{}", True))])):
            encoded, offset = name.encode(), out.tell()
            out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, zipfile.ZIP_DEFLATED, 0, _DOS_DATE,
                                  0, 0, 0, len(encoded), 0) + encoded)
            crc = size = packed = 0
            for plain, deflated in chunks:
                crc = zlib.crc32(plain, crc)
                size += len(plain)
                packed += len(deflated)
                out.write(deflated)
            if max(size, out.tell()) >= _ZIP_LIMIT:
                raise OutputError(f"{path}: the package would hold more than 4 GB, more than a plain zip "
                                  "file can; build a subset (e.g. one --region)")
            end = out.tell()
            out.seek(offset + 14)  # the local header's CRC and sizes, known now
            out.write(struct.pack("<III", crc, packed, size))
            out.seek(end)
            entries.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, _MADE_BY, 20, 0, zipfile.ZIP_DEFLATED, 0,
                                       _DOS_DATE, crc, packed, size, len(encoded), 0, 0, 0, 0, 0o644 << 16, offset)
                           + encoded)
        start, directory = out.tell(), b"".join(entries)
        out.write(directory)
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(directory), start, 0))


_ZIP_LIMIT = 0xFFFFFFFF  # sizes and offsets in a zip without its 64-bit extension stay below this
_DOS_DATE = (1980 - 1980) << 9 | 1 << 5 | 1  # 1980-01-01, at 00:00:00 (a DOS time of 0)
_MADE_BY = 3 << 8 | 20  # Unix, zip 2.0: as zipfile writes it
# The collection is deflated in chunks of this size (1 MB), each on its own thread (zlib lets go of
# the interpreter while it works), each primed with the 32 kB before it as deflate's window:
# the chunks joined are one deflate stream, as good as one made in one go.
_CHUNK = 1 << 20


def _deflate(data: bytes, last: bool, window: bytes = b"") -> bytes:
    packer = (zlib.compressobj(_LEVEL, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, window) if window
              else zlib.compressobj(_LEVEL, zlib.DEFLATED, -15))
    return packer.compress(data) + packer.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


def _deflated(path: Path) -> Iterator[tuple[bytes, bytes]]:
    """Each chunk of a file and its deflated form, in order: together, the file as one raw
    deflate stream."""
    from concurrent.futures import ThreadPoolExecutor

    from .parallel import cores

    with path.open("rb") as f:
        fd = f.fileno()
        total = os.fstat(fd).st_size
        count_ = max(1, -(-total // _CHUNK))

        def chunk(i: int) -> tuple[bytes, bytes]:
            start = i * _CHUNK
            data = os.pread(fd, _CHUNK, start)
            window = os.pread(fd, min(start, 1 << 15), start - min(start, 1 << 15)) if start else b""
            return data, _deflate(data, i == count_ - 1, window)

        with ThreadPoolExecutor(max_workers=min(cores(), count_)) as pool:
            yield from pool.map(chunk, range(count_))
