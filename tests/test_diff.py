"""`muscle-deck diff`, as a user and a pull request see it: the notes two packages add, change and
remove, as text or as a Markdown report; Anki's own exports; and every package it cannot read
(damaged, hostile, or in Anki's newer format) ending in a one-line error within seconds."""

from __future__ import annotations

import _thread
import os
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import ROOT, TEMPLATES, collection, error_line, import_apkg, run

from builder.build import build
from builder.diff import MAX_NOTES, MAX_SIZE, Change, Diff, Note, markdown, notes
from builder.errors import PackageError
from builder.select import Selection

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX special files and signals")
MEDIUS = "lower-limb/gluteal/gluteus-medius.yaml"






def database(path: Path, sql: str) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(sql)
    conn.commit()
    conn.close()
    return path


def package(path: Path, entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def collection_of(tmp_path: Path, sql: str, name: str = "odd.apkg") -> Path:
    """A package whose collection.anki2 is the database this SQL makes."""
    db = database(tmp_path / f"{name}.db", sql)
    return package(tmp_path / name, {"collection.anki2": db.read_bytes(), "media": b"{}"})


@pytest.fixture
def built(mini: Path, tmp_path: Path) -> Path:
    out = tmp_path / "built.apkg"
    build(mini, TEMPLATES, out, Selection(), at=1_900_000_000)
    return out


# --- what it reports -----------------------------------------------------------------------------

def test_markdown_shows_each_note_added_changed_and_removed(mini: Path, tmp_path: Path) -> None:
    old, new = tmp_path / "old.apkg", tmp_path / "new.apkg"
    build(mini, TEMPLATES, old, Selection(muscles=("gluteus-medius", "biceps-femoris")), at=1_900_000_000)
    path = mini / MEDIUS
    path.write_text(path.read_text(encoding="utf-8").replace("text: Lateral surface", "text: Posterolateral surface"),
                    encoding="utf-8")
    build(mini, TEMPLATES, new, Selection(muscles=("gluteus-medius", "gluteus-minimus")), at=1_900_000_100)
    code, text, _ = run("diff", str(old), str(new))
    assert code == 0
    code, report, _ = run("diff", str(old), str(new), "--format", "markdown")
    assert code == 0
    counts = text.splitlines()[-1]
    assert report.startswith(f"## Cards: {counts}\n\n")
    added, changed, removed = (int(counts.split(", ")[i].split()[0]) for i in range(3))
    assert added and changed and removed
    for title, count in (("Added", added), ("Changed", changed), ("Removed", removed)):
        assert f"\n### {title} ({count})\n" in report
    assert report.index("### Added") < report.index("### Changed") < report.index("### Removed")
    old_notes, new_notes = notes(old), notes(new)
    (guid,) = [g for g, n in new_notes.items() if n.name == "Gluteus medius / insertion"]
    # a changed note: the question as context, then each changed field before and after, as text
    assert (f"#### Gluteus medius / insertion\n\nGUID {escaped(guid)}\n\n"
            "**Front**\n\n```diff\n Lower limb › Gluteal region\n Insertion of the gluteus medius?\n```\n\n"
            "**Back**\n\n```diff\n-Lateral surface of the greater trochanter\n"
            "+Posterolateral surface of the greater trochanter\n"
            " Not to confuse with gluteus minimus Minimus inserts on the anterior surface of the greater trochanter, "
            "medius on its lateral surface.\n```\n") in report
    # an added note and a removed one show what a learner reads
    assert ("#### Gluteus minimus / origin\n\n" in report
            and "**Front**\n\n```diff\n+Lower limb › Gluteal region\n+Origin of the gluteus minimus?\n```" in report)
    assert "#### Biceps femoris / origin\n\n" in report
    assert ("```diff\n-Lower limb › Posterior compartment of thigh\n"
            "-Origin of the long head of the biceps femoris?\n```") in report
    # each note once, under its own heading; no HTML left in the text
    headings = [line for line in report.splitlines() if line.startswith("#### ")]
    assert len(headings) == added + changed + removed
    assert len(new_notes.keys() - old_notes.keys()) == added
    assert "<div" not in report and "&#39;" not in report


def escaped(value: str) -> str:
    return "".join("\\" + c if c in "\\`*_[]<>#|!~&" else c for c in value)


def note(guid: str, mod: int, front: str, back: str, tags: tuple[str, ...] = ()) -> Note:
    return Note(guid, mod, (front, back, "Moore COA 8e", "Gluteus medius", "origin"), tags)


def test_markdown_shows_a_change_of_markup_alone_as_html_and_lists_as_items() -> None:
    old = note("g", 1, "<b>Where?</b>", "<ol><li>L4</li><li>L5</li></ol>")
    new = note("g", 2, "<b>Where?</b>", "<ol><li>L4</li><li><u>L5</u></li></ol>", tags=("muscle-deck::card::x",))
    report = markdown(Diff(added=[], changed=[Change(old, new)], removed=[], unchanged=0))
    assert report == ("## Cards: 0 added, 1 changed, 0 removed, 0 unchanged\n\n### Changed (1)\n\n"
                      "#### Gluteus medius / origin\n\nGUID g\n\n"
                      "**Front**\n\n```diff\n Where?\n```\n\n"
                      "**Back (HTML)**\n\n```diff\n-<ol><li>L4</li><li>L5</li></ol>\n"
                      "+<ol><li>L4</li><li><u>L5</u></li></ol>\n```\n\n"
                      "**Tags**\n\n```diff\n+muscle-deck::card::x\n```\n")
    listed = markdown(Diff(added=[note("h", 1, "Q", "<ol><li>L4</li><li>L5</li></ol>")], changed=[], removed=[],
                           unchanged=0))
    assert "```diff\n+• L4\n+• L5\n```" in listed


def test_markdown_keeps_hostile_text_inside_its_blocks() -> None:
    front = "x\r```\r# heading\n```\n<script>alert(1)</script>"
    muscle = "&lt;/div&gt;# [link](javascript:x)"
    hostile = Note("g`<b>\n# x", 1, (front, "<img src=x onerror=alert(1)>", "s", muscle, "k"), ())
    report = markdown(Diff(added=[hostile], changed=[], removed=[hostile], unchanged=0))
    assert "#### \\</div\\>\\# \\[link\\](javascript:x) / k\n" in report
    assert "GUID g\\`\\<b\\> \\# x\n" in report
    inside = False
    for line in report.split("\n"):  # every line inside a block is a diff line: none can close it early
        if line.startswith("```"):
            inside = not inside and line == "```diff"
        elif inside:
            assert line[:1] in ("+", "-", " "), line
    assert "\r" not in report


def test_text_says_when_a_changed_note_would_not_update_in_anki(mini: Path, tmp_path: Path) -> None:
    old, new = tmp_path / "old.apkg", tmp_path / "new.apkg"
    build(mini, TEMPLATES, old, Selection(cards=("insertion",)), at=1_900_000_000)
    path = mini / MEDIUS
    path.write_text(path.read_text(encoding="utf-8").replace("text: Lateral surface", "text: Posterolateral surface"),
                    encoding="utf-8")
    build(mini, TEMPLATES, new, Selection(cards=("insertion",)), at=1_900_000_000)  # the same time: not newer
    code, out, _ = run("diff", str(old), str(new))
    assert code == 0
    guid = next(g for g, n in notes(new).items() if n.name == "Gluteus medius / insertion")
    assert out.splitlines() == [
        f"changed  Gluteus medius / insertion [{guid}]  (its mod is not newer, so importing it does not update "
        "the note)",
        "0 added, 1 changed, 0 removed, 2 unchanged",
    ]


def test_an_anki_re_export_for_older_versions_reads_as_the_same_notes(built: Path, tmp_path: Path) -> None:
    from anki.collection import ExportAnkiPackageOptions

    legacy, latest = tmp_path / "legacy.apkg", tmp_path / "latest.apkg"
    with collection(tmp_path / "col.anki2") as col:
        import_apkg(col, built)
        for path, older in ((legacy, True), (latest, False)):
            col.export_anki_package(out_path=str(path), limit=None, options=ExportAnkiPackageOptions(  # type: ignore[attr-defined]
                with_scheduling=False, with_deck_configs=False, with_media=False, legacy=older))
    with zipfile.ZipFile(latest) as archive:  # what a current Anki writes by default
        assert {"meta", "collection.anki21b", "collection.anki2", "media"} <= set(archive.namelist())
    code, out, _ = run("diff", str(built), str(legacy))
    assert (code, out) == (0, "0 added, 0 changed, 0 removed, 32 unchanged\n")
    code, _, err = run("diff", str(built), str(latest))
    assert code == 1
    assert error_line(err) == (f"Error: {latest}: exported by a current Anki in its newer format "
                               "(collection.anki21b), which this tool does not read; export it again with 'Support "
                               "older Anki versions' ticked")


# --- what it refuses -----------------------------------------------------------------------------

def _corrupt(tmp_path: Path, built: Path, method: int, offset: int) -> Path:
    """The built collection repacked with this zip method, its compressed data damaged."""
    with zipfile.ZipFile(built) as archive:
        data = archive.read("collection.anki2")
    path = package(tmp_path / "damaged.apkg", {"collection.anki2": data}, method)
    raw = bytearray(path.read_bytes())
    start = raw.find(b"collection.anki2") + len("collection.anki2") + offset
    raw[start:start + 64] = bytes(b ^ 0xFF for b in raw[start:start + 64])
    path.write_bytes(bytes(raw))
    return path


def _method(tmp_path: Path, built: Path, method: int) -> Path:
    """The built package with the zip method of its entries set to `method` (e.g. 93, zstd)."""
    raw = bytearray(built.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        at = raw.find(signature)
        while at >= 0:
            raw[at + offset:at + offset + 2] = struct.pack("<H", method)
            at = raw.find(signature, at + 4)
    path = tmp_path / "method.apkg"
    path.write_bytes(bytes(raw))
    return path


def _encrypted(tmp_path: Path, built: Path) -> Path:
    raw = bytearray(built.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.find(signature)
        while at >= 0:
            flags = struct.unpack("<H", raw[at + offset:at + offset + 2])[0] | 1
            raw[at + offset:at + offset + 2] = struct.pack("<H", flags)
            at = raw.find(signature, at + 4)
    path = tmp_path / "encrypted.apkg"
    path.write_bytes(bytes(raw))
    return path


NOTES = "CREATE TABLE notes(guid TEXT, mod INTEGER, flds TEXT, tags TEXT);"
HOSTILE: dict[str, tuple[Callable[[Path, Path], Path], str]] = {
    # H3: a recursive view that never ends (rows without end, or none after a huge join)
    "endless-view": (lambda t, b: collection_of(t, "CREATE VIEW notes AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
                                                "SELECT x+1 FROM c) SELECT 'g'||x AS guid, 1 AS mod, 'a' AS flds, "
                                                "'' AS tags FROM c;"),
                     "its notes are a view, not a table as Anki writes them; not an Anki package this tool can read"),
    "computed-column": (lambda t, b: collection_of(t, "CREATE TABLE notes(guid, mod, tags, x, flds AS "
                                                   "(x || x)); INSERT INTO notes(guid, mod, "
                                                   "tags, x) VALUES ('g', 1, '', 1);"),
                        "its notes table has no stored column flds; not an Anki package this tool can read"),
    "missing-column": (lambda t, b: collection_of(t, "CREATE TABLE notes(guid, flds, tags);"),
                       "its notes table has no stored column mod; not an Anki package this tool can read"),
    "no-notes": (lambda t, b: collection_of(t, "CREATE TABLE cards(id);"),
                 "its collection has no notes table; not an Anki package this tool can read"),
    "not-a-database": (lambda t, b: package(t / "odd.apkg", {"collection.anki2": b"SQLite format 3\x00" + bytes(99)}),
                       "not an Anki package this tool can read (file is not a database)"),
    # a name that is not UTF-8 in the schema: SQLite's message about it is not UTF-8 either
    "damaged-schema": (lambda t, b: collection_of(t, NOTES + "PRAGMA writable_schema = ON; INSERT INTO sqlite_master "
                                                  "VALUES ('table', CAST(X'78fa' AS TEXT), 'x', 0, 'CREATE TABLE');"),
                       "not an Anki package this tool can read (its collection is damaged)"),
    "no-collection": (lambda t, b: package(t / "odd.apkg", {"media": b"{}"}),
                      "holds no collection.anki2; not an Anki package this tool can read"),
    "same-guid-twice": (lambda t, b: collection_of(t, NOTES + "INSERT INTO notes VALUES ('g', 1, 'a', ''), "
                                                   "('g', 2, 'b', '');"),
                        "two notes have the GUID 'g'; Anki would import only one of them"),
    "too-many-notes": (lambda t, b: collection_of(t, NOTES + "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 "
                                                  f"FROM c WHERE x <= {MAX_NOTES}) INSERT INTO notes SELECT "
                                                  "'g'||x, 1, 'a', '' FROM c;"),
                       f"holds more than {MAX_NOTES:,} notes, more than this tool reads; is it a muscle-deck package?"),
    "unknown-meta": (lambda t, b: package(t / "odd.apkg", {"meta": b"\x08\x04", "collection.anki2": b""}),
                     "a package format this tool does not know (its meta entry holds b'\\x08\\x04'); export it "
                     "again from Anki with 'Support older Anki versions' ticked"),
    "corrupt-deflate": (lambda t, b: _corrupt(t, b, zipfile.ZIP_DEFLATED, 40),
                        "not an Anki package this tool can read (Error -3 while decompressing data: "),
    "lzma": (lambda t, b: _corrupt(t, b, zipfile.ZIP_LZMA, 40),
             "its collection.anki2 is compressed with zip method 14, which Anki never uses; not an Anki package "
             "this tool can read"),
    "zstd": (lambda t, b: _method(t, b, 93),
             "its collection.anki2 is compressed with zip method 93, which Anki never uses; not an Anki package "
             "this tool can read"),
    "encrypted": (_encrypted,
                  "its collection.anki2 is encrypted, which Anki never does; not an Anki package this tool can read"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_package_it_cannot_read_is_a_one_line_error_within_seconds(built: Path, tmp_path: Path, case: str) -> None:
    make, message = HOSTILE[case]
    bad = make(tmp_path, built)
    started = time.monotonic()
    for old, new in ((bad, built), (built, bad)):
        code, _, err = run("diff", str(old), str(new))
        assert code == 1
        assert error_line(err).startswith(f"Error: {bad}: {message}")
    assert time.monotonic() - started < 10


def test_a_virtual_table_is_refused(built: Path, tmp_path: Path) -> None:
    try:
        bad = collection_of(tmp_path, "CREATE VIRTUAL TABLE notes USING fts5(guid, mod, flds, tags);")
    except sqlite3.OperationalError:
        pytest.skip("this Python's SQLite has no fts5")
    code, _, err = run("diff", str(bad), str(built))
    assert code == 1
    assert error_line(err) == (f"Error: {bad}: its notes are a virtual table, not a table as Anki writes them; not "
                               "an Anki package this tool can read")


def test_a_file_larger_than_any_deck_is_refused_unread(built: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.apkg"
    with open(big, "wb") as f:
        f.truncate(MAX_SIZE + 1)  # sparse where the system allows
    code, _, err = run("diff", str(big), str(built))
    assert code == 1
    assert error_line(err) == (f"Error: {big}: {MAX_SIZE + 1:,} bytes, more than the {MAX_SIZE:,} this tool reads; "
                               "is it a muscle-deck package?")


@POSIX
@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_a_device_or_a_pipe_is_refused_unread(built: Path, tmp_path: Path, kind: str) -> None:
    if kind == "device":
        special = Path("/dev/zero")  # read whole, it would fill the memory
    else:
        special = tmp_path / "pipe.apkg"  # opened, it would wait for a writer for ever
        os.mkfifo(special)
    code, _, err = run("diff", str(special), str(built))
    assert code == 1
    assert error_line(err) == f"Error: {special}: not a regular file; give the path of an .apkg file"


# --- time, Ctrl-C and termination --------------------------------------------------------------

@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A package whose collection names 300,000 views: SQLite takes seconds to load its schema."""
    folder = tmp_path_factory.mktemp("slow")
    conn = sqlite3.connect(folder / "slow.db")
    conn.execute(NOTES)
    conn.execute("PRAGMA writable_schema = ON")
    conn.executemany("INSERT INTO sqlite_master VALUES ('view', ?, ?, 0, ?)",
                     ((f"v{i}", f"v{i}", f"CREATE VIEW v{i} AS SELECT 1") for i in range(300_000)))
    conn.commit()
    conn.close()
    return package(folder / "slow.apkg", {"collection.anki2": (folder / "slow.db").read_bytes()})


def test_reading_stops_at_its_time_budget(slow: Path) -> None:
    started = time.monotonic()
    with pytest.raises(PackageError) as caught:
        notes(slow, seconds=0.2)
    assert caught.value.__str__() == (f"{slow}: reading its notes took more than 0.2 s; not an Anki package "
                                             "this tool can read")
    assert time.monotonic() - started < 3


def test_ctrl_c_while_sqlite_reads_stops_at_once(slow: Path) -> None:
    timer = threading.Timer(0.5, _thread.interrupt_main)  # as Ctrl-C does
    started = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            notes(slow, seconds=60)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 3


@POSIX
def test_a_termination_request_while_sqlite_reads_aborts_the_command(slow: Path) -> None:
    script = ("import os, signal, sys, threading\n"
              "from builder import cli, diff\n"  # imported first: the signal comes while SQLite reads
              "threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()\n"
              "sys.argv = ['muscle-deck', 'diff', sys.argv[1], sys.argv[1]]\n"
              "cli.run()\n")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script, str(slow)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stderr.strip()) == (1, "Aborted!")
    assert time.monotonic() - started < 4.5  # before the budget of 5 s would have ended it
