"""Diff: which notes two .apkg builds add, change and remove (for release notes and pull requests).

A package is someone else's file: it is read only as far as the diff needs (the notes table's
guid, mod, flds and tags), from a regular file, with limits on size and time, and a package this
tool cannot read ends in a one-line error.
"""

from __future__ import annotations

import difflib
import lzma
import os
import re
import shutil
import sqlite3
import stat
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from .errors import PackageError
from .package import FIELDS

# The largest package, and the largest collection inside it, this tool reads: several times a
# deck of the whole body (about 8 MB unpacked), far less than a zip bomb would fill a disk with.
MAX_SIZE = 64 * 1024 * 1024
# The most notes one package may hold: ten times a deck of the whole body.
MAX_NOTES = 100_000
# How long SQLite may take to read one package's notes (a real deck takes milliseconds).
SECONDS = 5.0
# The `meta` entry Anki 2.1.50 and later write (a protobuf holding one number): the collection
# each format keeps its notes in. Older packages have no `meta`.
LEGACY = {b"\x08\x01": "collection.anki2", b"\x08\x02": "collection.anki21"}
LATEST = b"\x08\x03"  # collection.anki21b, compressed with zstd
# What Python's zipfile raises on a damaged entry: a bad deflate stream, a bad CRC, a cut file.
UNPACK_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError,
                 NotImplementedError, RuntimeError)
# The fields shown of a note added or removed: what a learner reads (its heading names the rest).
READ = ("Front", "Back", "Sources")
# Said of a changed note whose modification time is not newer than before.
STALE = "its mod is not newer, so importing it does not update the note"


@dataclass(frozen=True)
class Note:
    """One note of a package: its GUID, modification time, fields (HTML) and sorted tags."""

    guid: str
    mod: int
    fields: tuple[str, ...]
    tags: tuple[str, ...]

    @property
    def name(self) -> str:
        """The muscle(s) and card kind, as text: `Gluteus minimus / insertion`."""
        if len(self.fields) != len(FIELDS):
            return self.guid
        return f"{' '.join(readable(self.fields[3]))} / {' '.join(readable(self.fields[4]))}"

    @property
    def label(self) -> str:
        """The name, then the GUID: `Gluteus minimus / insertion [guid]`."""
        return f"{self.name} [{self.guid}]"


@dataclass(frozen=True)
class Change:
    """A note both packages hold, whose fields or tags differ."""

    old: Note
    new: Note


@dataclass(frozen=True)
class Diff:
    """Notes added, changed and removed, each list in the order of their labels."""

    added: list[Note]
    changed: list[Change]
    removed: list[Note]
    unchanged: int


def diff(old: Path, new: Path) -> Diff:
    """Compare two packages note by note (matched by GUID, as Anki matches them)."""
    a, b = notes(old), notes(new)

    def content(note: Note) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return note.fields, note.tags

    kept = b.keys() & a.keys()
    return Diff(
        added=sorted((b[g] for g in b.keys() - a.keys()), key=lambda n: n.label),
        changed=sorted((Change(a[g], b[g]) for g in kept if content(a[g]) != content(b[g])),
                       key=lambda c: c.new.label),
        removed=sorted((a[g] for g in a.keys() - b.keys()), key=lambda n: n.label),
        unchanged=sum(1 for g in kept if content(a[g]) == content(b[g])),
    )


# --- reading a package ------------------------------------------------------------------------

def notes(apkg: Path, seconds: float = SECONDS) -> dict[str, Note]:
    """GUID → note, for every note of a package (SQLite may take `seconds` to read them)."""
    try:
        info = os.stat(apkg)
    except OSError as err:
        raise PackageError(f"{apkg}: cannot read it ({err.strerror})") from None
    if not stat.S_ISREG(info.st_mode):  # a device or a pipe would be read for ever
        raise PackageError(f"{apkg}: not a regular file; give the path of an .apkg file")
    if info.st_size > MAX_SIZE:
        raise PackageError(f"{apkg}: {info.st_size:,} bytes, more than the {MAX_SIZE:,} this tool reads; is it "
                           "a muscle-deck package?")
    with tempfile.TemporaryDirectory() as folder:
        collection = Path(folder) / "collection.db"
        _unpack(apkg, collection)
        rows = _read(apkg, collection, seconds)
    out: dict[str, Note] = {}
    for guid, mod, flds, tags in rows:
        if not (isinstance(guid, str) and isinstance(flds, str) and isinstance(tags, str) and isinstance(mod, int)):
            raise PackageError(f"{apkg}: a note holds something other than text and a whole-number time "
                               f"({guid!r}); not an Anki package this tool can read")
        if guid in out:
            raise PackageError(f"{apkg}: two notes have the GUID {guid!r}; Anki would import only one of them")
        out[guid] = Note(guid, mod, tuple(flds.split("\x1f")), tuple(sorted(tags.split())))
    return out


def _unpack(apkg: Path, target: Path) -> None:
    """Write the package's collection (the one Anki itself would read) to `target`."""
    try:
        with zipfile.ZipFile(apkg) as archive:
            entry = archive.getinfo(_collection_name(apkg, archive))
            _check(apkg, entry)
            with archive.open(entry) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink)  # zipfile stops at the size the entry declares
    except UNPACK_ERRORS as err:
        raise PackageError(f"{apkg}: not an Anki package this tool can read ({err})") from None


def _collection_name(apkg: Path, archive: zipfile.ZipFile) -> str:
    """The collection Anki reads: the one `meta` names, else collection.anki21, else collection.anki2."""
    names = archive.namelist()
    if "meta" in names:
        meta = archive.getinfo("meta")
        _check(apkg, meta)
        version = archive.read(meta) if meta.file_size <= 16 else b"(more than Anki writes)"
        if version == LATEST:
            raise PackageError(f"{apkg}: exported by a current Anki in its newer format (collection.anki21b), which "
                               "this tool does not read; export it again with 'Support older Anki versions' ticked")
        if version not in LEGACY:
            raise PackageError(f"{apkg}: a package format this tool does not know (its meta entry holds "
                               f"{version!r}); export it again from Anki with 'Support older Anki versions' ticked")
        name = LEGACY[version]
    else:
        name = "collection.anki21" if "collection.anki21" in names else "collection.anki2"
    if name not in names:
        raise PackageError(f"{apkg}: holds no {name}; not an Anki package this tool can read")
    return name


def _check(apkg: Path, entry: zipfile.ZipInfo) -> None:
    """Refuse an entry before unpacking it: encrypted, compressed as Anki never does, or too large."""
    if entry.flag_bits & 0x1:
        raise PackageError(f"{apkg}: its {entry.filename} is encrypted, which Anki never does; not an Anki "
                           "package this tool can read")
    if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise PackageError(f"{apkg}: its {entry.filename} is compressed with zip method {entry.compress_type}, "
                           "which Anki never uses; not an Anki package this tool can read")
    if entry.file_size > MAX_SIZE:
        raise PackageError(f"{apkg}: its {entry.filename} unpacks to {entry.file_size:,} bytes, more than the "
                           f"{MAX_SIZE:,} this tool reads; is it a muscle-deck package?")


def _read(apkg: Path, collection: Path, seconds: float) -> list[tuple[object, ...]]:
    """The guid, mod, flds and tags of every note, read-only, within `seconds`."""
    deadline = time.monotonic() + seconds
    try:
        conn = sqlite3.connect(collection.resolve().as_uri() + "?mode=ro&immutable=1", uri=True)
        try:
            # Called every thousand steps of SQLite: a true result stops the query, as does Ctrl-C
            # (or a termination request) arriving while SQLite runs. Both end in "interrupted".
            conn.set_progress_handler(lambda: time.monotonic() > deadline, 1000)
            _check_schema(apkg, conn)
            rows = conn.execute("SELECT guid, mod, flds, tags FROM notes LIMIT ?", (MAX_NOTES + 1,)).fetchall()
        finally:
            conn.close()
    except UnicodeDecodeError:  # SQLite's message about the damage quotes bytes that are not UTF-8
        raise PackageError(f"{apkg}: not an Anki package this tool can read (its collection is damaged)") from None
    except sqlite3.Error as err:
        if str(err) != "interrupted":
            raise PackageError(f"{apkg}: not an Anki package this tool can read ({err})") from None
        if time.monotonic() <= deadline:  # stopped by Ctrl-C, which SQLite's callback swallowed
            raise KeyboardInterrupt from None
        raise PackageError(f"{apkg}: reading its notes took more than {seconds:g} s; not an Anki package this "
                           "tool can read") from None
    if len(rows) > MAX_NOTES:
        raise PackageError(f"{apkg}: holds more than {MAX_NOTES:,} notes, more than this tool reads; is it a "
                           "muscle-deck package?")
    return rows


def _check_schema(apkg: Path, conn: sqlite3.Connection) -> None:
    """The notes must be a table whose columns are stored, not a view or anything else computed."""
    found = conn.execute("SELECT type, sql FROM sqlite_master WHERE lower(name) = 'notes'").fetchall()
    if not found:
        raise PackageError(f"{apkg}: its collection has no notes table; not an Anki package this tool can read")
    kind, sql = found[0]
    if kind != "table" or str(sql).upper().startswith("CREATE VIRTUAL"):
        raise PackageError(f"{apkg}: its notes are a {'view' if kind == 'view' else 'virtual table'}, not a table "
                           "as Anki writes them; not an Anki package this tool can read")
    columns = dict(conn.execute("SELECT lower(name), hidden FROM pragma_table_xinfo('notes')").fetchall())
    odd = [c for c in ("guid", "mod", "flds", "tags") if columns.get(c) != 0]
    if odd:
        raise PackageError(f"{apkg}: its notes table has no stored column {odd[0]}; not an Anki package this tool "
                           "can read")


# --- reports -----------------------------------------------------------------------------------

def report(result: Diff, fmt: str) -> str:
    """The diff as text (a line per note) or as Markdown (each note's fields, before and after)."""
    return markdown(result) if fmt == "markdown" else plain(result)


def _stale(change: Change) -> bool:
    """Anki updates a note on import only if its modification time is newer."""
    return change.new.mod <= change.old.mod


def _summary(result: Diff) -> str:
    return (f"{len(result.added)} added, {len(result.changed)} changed, {len(result.removed)} removed, "
            f"{result.unchanged} unchanged")


def plain(result: Diff) -> str:
    """One line a note: `added    Gluteus minimus / insertion [guid]`, then the counts."""
    lines = [f"added    {n.label}" for n in result.added]
    lines += [f"changed  {c.new.label}" + (f"  ({STALE})" if _stale(c) else "") for c in result.changed]
    lines += [f"removed  {n.label}" for n in result.removed]
    return "\n".join([*lines, _summary(result)]) + "\n"


def markdown(result: Diff) -> str:
    """A Markdown report: the notes added, changed (field by field, before and after) and removed,
    their fields as readable text."""
    lines = [f"## Cards: {_summary(result)}", ""]
    changed = [(c.new, ([f"*{STALE}*", ""] if _stale(c) else []) + _fields(c.old, c.new, context=("Front",)))
               for c in result.changed]
    sections = [
        ("Added", [(n, _fields(None, n, READ)) for n in result.added]),
        ("Changed", changed),
        ("Removed", [(n, _fields(n, None, READ)) for n in result.removed]),
    ]
    for title, entries in sections:
        if entries:
            lines += [f"### {title} ({len(entries)})", ""]
        for note, body in entries:
            lines += [f"#### {_inline(note.name)}", "", f"GUID {_inline(note.guid)}", "", *body]
    return "\n".join(lines).rstrip("\n") + "\n"


def _fields(old: Note | None, new: Note | None, only: tuple[str, ...] = (), context: tuple[str, ...] = ()) -> list[str]:
    """A block for each field (and the tags) that differs, or each of `only`, and each of `context`
    even if unchanged: its lines removed `-`, added `+`, kept ` `."""
    before, after = _shown(old), _shown(new)
    lines: list[str] = []
    for name in only or dict.fromkeys([*before, *after]):
        (a, a_lines), (b, b_lines) = before.get(name, ("", [])), after.get(name, ("", []))
        if a == b and name not in context:
            continue
        if a != b and a_lines == b_lines:  # only the markup differs (e.g. which root level is underlined)
            name = f"{name} (HTML)"
            a_lines, b_lines = ([line.replace("\r", "\\r") for line in v.split("\n")] if v else [] for v in (a, b))
        changes = list(difflib.unified_diff(a_lines, b_lines, lineterm="", n=max(len(a_lines), len(b_lines))))
        block = changes[3:] if a != b else [f" {line}" for line in a_lines]  # without the ---/+++/@@ header
        lines += [f"**{name}**", "", "```diff", *block, "```", ""]
    return lines


def _shown(note: Note | None) -> dict[str, tuple[str, list[str]]]:
    """Each field's HTML and its lines of text, then the tags (one a line)."""
    if note is None:
        return {}
    names = FIELDS if len(note.fields) == len(FIELDS) else [f"Field {i + 1}" for i in range(len(note.fields))]
    shown = {name: (value, readable(value)) for name, value in zip(names, note.fields, strict=True)}
    return {**shown, "Tags": (" ".join(note.tags), list(note.tags))}


def _inline(value: str) -> str:
    """Text safe in a line of Markdown: on one line, its special characters escaped."""
    return re.sub(r"([\\`*_\[\]<>#|!~&])", r"\\\1", " ".join(value.split()))


class _Text(HTMLParser):
    """A field's text: a line for each block and list item (`• item`), tags dropped, entities decoded."""

    BLOCKS = frozenset({"div", "p", "br", "li", "ol", "ul", "tr", "hr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n• " if tag == "li" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def readable(field: str) -> list[str]:
    """The lines of text a field's HTML shows."""
    parser = _Text()
    parser.feed(field)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return [line for line in lines if line and line != "•"]
