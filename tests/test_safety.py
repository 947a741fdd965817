"""Safe rendering and safe output: facts are text, templates are sandboxed, writes are atomic,
and bad input of every kind gets a one-line error, never a traceback or a half-written file."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, TEMPLATES, collection, import_apkg

from builder.build import build
from builder.cli import main
from builder.select import Selection

MEDIUS = "lower-limb/gluteal/gluteus-medius.yaml"
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX special files and signals")


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner(env=env).invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err  # one line, no traceback
    return lines[0]


def templates_copy(tmp_path: Path) -> Path:
    target = tmp_path / "templates"
    shutil.copytree(TEMPLATES, target)
    return target


# --- facts are text ---------------------------------------------------------------------------

def test_html_in_facts_shows_as_text_in_every_field(mini: Path, tmp_path: Path) -> None:
    path = mini / MEDIUS
    path.write_text(path.read_text(encoding="utf-8")
                    .replace("blood_supply: Superior gluteal artery",
                             "blood_supply: \"<script>alert(1)</script><img src=x onerror=alert(2)>\"")
                    .replace("name: Gluteus medius", "name: \"<img src=x onerror=alert(3)>\""))
    out = tmp_path / "deck.apkg"
    build(mini, TEMPLATES, out, Selection(cards=("blood-supply",)))
    with collection(tmp_path / "col.anki2") as col:
        import_apkg(col, out)
        note = col.get_note(col.find_notes("")[0])
        for field in ("Front", "Back", "Muscle"):
            assert "<script" not in note[field] and "<img" not in note[field], field
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in note["Back"]
        assert note["Muscle"] == "&lt;img src=x onerror=alert(3)&gt;"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{% extends '_card.html' %}{% block question %}{{ ''.__class__.__mro__ }}{% endblock %}",
         "access to attribute '__class__' of 'str' object is unsafe"),
        ("{% extends '_card.html' %}{% block question %}{{ no_such_value }}{% endblock %}",
         "'no_such_value' is undefined"),
        ("{% extends '_card.html' %}{% block question %}{{ muscle.name }", "unexpected '}'"),
    ],
)
def test_bad_templates_give_clean_errors(mini: Path, tmp_path: Path, template: str, message: str) -> None:
    templates = templates_copy(tmp_path)
    (templates / "cards" / "origin.html").write_text(template, encoding="utf-8")
    out = tmp_path / "deck.apkg"
    code, _, err = run("build", "--decks", str(mini), "--templates", str(templates), "-o", str(out))
    assert code == 1
    line = error_line(err)
    assert line.startswith("Error: ") and "origin.html:1:1: " in line and message in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda t: [shutil.rmtree(p) if p.is_dir() else p.unlink() for p in list(t.iterdir())],
         "cards:1:1: no such folder; pass --templates a folder laid out like templates/"),
        (lambda t: (t / "model" / "front.html").unlink(),
         "front.html:1:1: cannot read it (No such file or directory); pass --templates a folder laid out like "
         "templates/"),
        (lambda t: (t / "style.css").write_bytes(b"\xff\xfe body {}"), "style.css:1:1: not valid UTF-8"),
        (lambda t: (t / "cards" / "origin.html").write_bytes(b"{% extends '_card.html' %}\xff"),
         "origin.html:1:1: not valid UTF-8; save it with UTF-8 encoding"),
    ],
    ids=["empty-folder", "no-front", "css-not-utf8", "template-not-utf8"],
)
def test_a_broken_templates_folder_is_an_error(mini: Path, tmp_path: Path, damage: object, message: str) -> None:
    templates = templates_copy(tmp_path)
    damage(templates)  # type: ignore[operator]
    out = tmp_path / "deck.apkg"
    code, _, err = run("build", "--decks", str(mini), "--templates", str(templates), "-o", str(out))
    assert code == 1
    assert message in error_line(err)
    assert not out.exists()


# --- writes are atomic ------------------------------------------------------------------------

def test_an_interrupted_build_leaves_the_previous_package_untouched(mini: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "deck.apkg"
    build(mini, TEMPLATES, out, Selection())
    before = out.read_bytes()

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(zipfile.ZipFile, "writestr", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(mini, TEMPLATES, out, Selection())
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck.apkg", "decks"]


def test_a_full_disk_is_an_error_and_leaves_nothing(mini: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(zipfile.ZipFile, "writestr", full)
    out = tmp_path / "new" / "deck.apkg"
    code, _, err = run("build", "--decks", str(mini), "-o", str(out))
    assert code == 1
    assert error_line(err) == (f"Error: {out}: cannot write it: the disk is full; free some space or choose another "
                               "path with -o")
    assert not (tmp_path / "new").exists()  # not even the folder it would have made


def test_a_full_disk_while_the_collection_is_written_is_an_error(mini: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    import genanki

    def full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(genanki.Package, "write_to_db", full)
    out = tmp_path / "deck.apkg"
    code, _, err = run("build", "--decks", str(mini), "-o", str(out))
    assert code == 1
    assert error_line(err) == (f"Error: {out}: cannot write it: cannot write the collection (database or disk is "
                               "full); choose another path with -o")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decks"]


@POSIX
def test_sigterm_is_handled_like_ctrl_c(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "deck.apkg"
    out.write_bytes(b"the previous package")
    script = ("import os, signal, sys, zipfile\n"
              "from builder import cli\n"
              "zipfile.ZipFile.writestr = lambda *a, **k: os.kill(os.getpid(), signal.SIGTERM)\n"
              "sys.argv = ['muscle-deck', 'build', '--decks', sys.argv[1], '-o', sys.argv[2]]\n"
              "cli.run()\n")
    done = subprocess.run([sys.executable, "-c", script, str(mini), str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip() == "Aborted!"
    assert out.read_bytes() == b"the previous package"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck.apkg", "decks"]


# --- one output rule for every command ---------------------------------------------------------

@pytest.mark.parametrize(
    ("command", "target", "message"),
    [
        (["build"], "decks/lower-limb/x.apkg", "the output would be written inside"),
        (["build"], "decks/registry/../deck.apkg", "the output would be written inside"),
        (["build"], "templates/deck.apkg", "the output would be written inside"),
        (["build"], "x.yaml", "the file must end in .apkg; choose another path with -o"),
        (["export", "--format", "csv"], "cards.txt", "the file must end in .csv; choose another path with -o"),
        (["export", "--format", "markdown"], "decks/sheet.md", "the output would be written inside"),
        (["preview"], "templates/preview", "the output would be written inside"),
    ],
)
def test_output_rules(mini: Path, tmp_path: Path, command: list[str], target: str, message: str) -> None:
    templates = templates_copy(tmp_path)  # tmp_path holds decks/ and templates/, as a checkout does
    path = tmp_path / target
    extra = ["--templates", str(templates)] if command[0] != "export" else []
    before = sorted(tmp_path.rglob("*"))
    code, _, err = run(*command, "--decks", str(mini), *extra, "-o", str(path))
    assert code == 1
    assert message in error_line(err)
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, no folder made


@POSIX
@pytest.mark.parametrize("command", [["export", "--format", "csv"], ["build"]])
def test_special_files_are_never_written(mini: Path, tmp_path: Path, command: list[str]) -> None:
    fifo = tmp_path / ("out.csv" if command[0] == "export" else "out.apkg")
    os.mkfifo(fifo)
    code, _, err = run(*command, "--decks", str(mini), "-o", str(fifo))
    assert code == 1
    assert "is not a regular file (a device, pipe or socket)" in error_line(err)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    if Path("/dev/full").exists():
        code, _, err = run(*command, "--decks", str(mini), "-o", "/dev/full")
        assert code == 1 and "Error: /dev/full:" in error_line(err)
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_failed_command_creates_no_folder(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "deck.apkg"
    code, _, _ = run("build", "--decks", str(mini), "--region", "nowhere", "-o", str(out))
    assert code == 1
    assert not (tmp_path / "a").exists()
    code, _, _ = run("preview", "--decks", str(mini), "--region", "nowhere", "-o", str(tmp_path / "p" / "q"))
    assert code == 1
    assert not (tmp_path / "p").exists()


@POSIX
def test_files_are_written_with_the_users_umask(mini: Path, tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        out = tmp_path / "deck.apkg"
        build(mini, TEMPLATES, out, Selection())
        code, _, _ = run("export", "--format", "csv", "--decks", str(mini), "-o", str(tmp_path / "cards.csv"))
        assert code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(tmp_path / "cards.csv").st_mode) == 0o640


# --- other bad input --------------------------------------------------------------------------

def test_a_bad_source_date_epoch_is_an_error(mini: Path, tmp_path: Path) -> None:
    code, _, err = run("build", "--decks", str(mini), "-o", str(tmp_path / "x.apkg"),
                       env={"SOURCE_DATE_EPOCH": "abc"})
    assert code == 1
    assert error_line(err) == ("Error: SOURCE_DATE_EPOCH is 'abc'; set it to a whole number of seconds since 1970, "
                               "or unset it")


@pytest.mark.parametrize("damage", ["binary", "folder"])
def test_a_damaged_lock_is_an_error(mini: Path, tmp_path: Path, damage: str) -> None:
    lock = mini / "notes.lock"
    if damage == "binary":
        lock.write_bytes(b"\x00\xff\xfe garbage")
    else:
        lock.mkdir()
    code, _, err = run("build", "--decks", str(mini), "-o", str(tmp_path / "x.apkg"))
    assert code == 1
    line = error_line(err)
    assert line.startswith(f"Error: {lock}:1:1: cannot read it (") and line.endswith(
        "); restore it from git, or regenerate it with `muscle-deck lock`")
    assert not (tmp_path / "x.apkg").exists()


def test_diff_refuses_a_zip_bomb_before_unpacking(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.apkg"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("collection.anki2", "w", force_zip64=True) as entry:
            block = bytes(1 << 20)
            for _ in range(600):  # 600 MB of zeros, a few hundred kB packed
                entry.write(block)
    assert bomb.stat().st_size < 2_000_000
    started = time.monotonic()
    code, _, err = run("diff", str(bomb), str(bomb))
    assert code == 1
    assert error_line(err) == (f"Error: {bomb}: its collection.anki2 unpacks to 629,145,600 bytes, more than the "
                               "67,108,864 this tool reads; is it a muscle-deck package?")
    assert time.monotonic() - started < 5


def test_diff_of_notes_that_hold_other_than_text(mini: Path, tmp_path: Path) -> None:
    import sqlite3

    good = tmp_path / "good.apkg"
    build(mini, TEMPLATES, good, Selection())
    odd = tmp_path / "odd.apkg"
    with zipfile.ZipFile(good) as archive:
        archive.extract("collection.anki2", tmp_path)
    conn = sqlite3.connect(tmp_path / "collection.anki2")
    conn.execute("UPDATE notes SET flds = ? WHERE id = (SELECT min(id) FROM notes)", (b"\x00\xff",))
    conn.commit()
    conn.close()
    with zipfile.ZipFile(odd, "w") as archive:
        archive.write(tmp_path / "collection.anki2", "collection.anki2")
    code, _, err = run("diff", str(good), str(odd))
    assert code == 1
    assert error_line(err).startswith(f"Error: {odd}: a note holds something other than text")
