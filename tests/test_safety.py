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
from conftest import ROOT, TEMPLATES, collection, error_line, import_apkg, run

from builder.build import build
from builder.select import Selection

MEDIUS = "lower-limb/gluteal/gluteus-medius.yaml"
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX special files and signals")






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
        ("Origin of {{ ''.__class__.__mro__ }}?", "access to attribute '__class__' of 'str' object is unsafe"),
        ("Origin of {{ no_such_value }}?", "'no_such_value' is undefined"),
        ("Origin of {{ subject }", "unexpected '}'"),
        ("Origin of {{ 1 / 0 }}?", "ZeroDivisionError"),
        ("Origin of {{ '%d' % 'x' }}?", "TypeError"),
        ("Origin of {{ subject|truncate(-5) }}?", "AssertionError"),
        ("Origin of {% include 'origin.txt' %}?", "RecursionError"),
        ("{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}?",
         "range() in a template gives at most 1000 items"),
    ],
)
def test_bad_templates_give_clean_errors(mini: Path, tmp_path: Path, template: str, message: str) -> None:
    templates = templates_copy(tmp_path)
    (templates / "cards" / "origin.txt").write_text(template, encoding="utf-8")
    out = tmp_path / "deck.apkg"
    code, _, err = run("build", "--decks", str(mini), "--templates", str(templates), "-o", str(out))
    assert code == 1
    line = error_line(err)
    assert line.startswith("Error: ") and "origin.txt:1:1: " in line and message in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda t: [shutil.rmtree(p) if p.is_dir() else p.unlink() for p in list(t.iterdir())],
         "cards:1:1: no such folder; pass --templates a folder laid out like templates/"),
        (lambda t: (t / "model" / "front.html").unlink(),
         "front.html:1:1: cannot read it: No such file or directory; pass --templates a folder laid out like "
         "templates/"),
        (lambda t: (t / "style.css").write_bytes(b"\xff\xfe body {}"), "style.css:1:1: not valid UTF-8"),
        (lambda t: (t / "cards" / "origin.txt").write_bytes(b"Origin of {{ subject }}?\xff"),
         "origin.txt:1:1: not valid UTF-8; save it with UTF-8 encoding"),
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


@POSIX
@pytest.mark.parametrize(
    ("name", "make", "message"),
    [
        ("style.css", "secret", "style.css:1:1: is a link to {secret}, outside {templates}; copy the file into the "
                                "folder instead"),
        ("model/front.html", "secret", "front.html:1:1: is a link to {secret}, outside {templates}"),
        ("cards/leak.txt", "secret", "leak.txt:1:1: is a link to {secret}, outside {templates}"),
        ("style.css", "fifo", "style.css:1:1: not a regular file (a device, pipe or folder); replace it with a plain "
                              "text file"),
        ("cards/origin.txt", "fifo", "origin.txt:1:1: not a regular file (a device, pipe or folder)"),
        ("style.css", "zero", "style.css:1:1: is a link to /dev/zero, outside {templates}"),
        ("style.css", "huge", "style.css:1:1: is 2,097,152 bytes, more than the 1,048,576 it may have; shorten it"),
    ],
)
def test_templates_are_plain_files_inside_their_folder(mini: Path, tmp_path: Path, name: str, make: str,
                                                       message: str) -> None:
    """A template that leads elsewhere could put a secret (a CI token in /proc/self/environ) into
    every package; a pipe would hang the build, a device fill the memory."""
    templates = templates_copy(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("MY_CI_TOKEN=ghp_FAKE_SECRET_123", encoding="utf-8")
    path = templates / name
    path.unlink(missing_ok=True)
    if make == "secret":
        path.symlink_to(secret)
    elif make == "fifo":
        os.mkfifo(path)
    elif make == "zero":
        if not Path("/dev/zero").exists():
            pytest.skip("needs /dev/zero")
        path.symlink_to("/dev/zero")
    else:
        path.write_bytes(b"/* x */" * (2 * 1024 * 1024 // 7) + b" " * (2 * 1024 * 1024 % 7))
    if name == "cards/leak.txt":
        (templates / "cards" / "origin.txt").write_text("Origin of {% include 'leak.txt' %}?", encoding="utf-8")
    for command in (["build", "-o", str(tmp_path / "deck.apkg")], ["preview", "-o", str(tmp_path / "preview")]):
        started = time.monotonic()
        code, _, err = run(*command, "--decks", str(mini), "--templates", str(templates))
        assert code == 1
        assert message.format(secret=secret, templates=templates) in error_line(err)
        assert time.monotonic() - started < 30
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decks", "secret.txt", "templates"]


@POSIX
def test_a_link_inside_the_templates_folder_is_fine(mini: Path, tmp_path: Path) -> None:
    templates = templates_copy(tmp_path)
    (templates / "style.css").rename(templates / "model" / "style.css")
    (templates / "style.css").symlink_to(Path("model") / "style.css")
    code, _, err = run("build", "--decks", str(mini), "--templates", str(templates), "-o", str(tmp_path / "x.apkg"))
    assert code == 0, err


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


def test_the_system_s_temporary_folder_is_not_needed(mini: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A full or missing TMPDIR is not the output's fault: the build works beside the output."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-folder"))
    build(mini, TEMPLATES, tmp_path / "deck.apkg", Selection())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck.apkg", "decks"]


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


@POSIX
@pytest.mark.parametrize("command", ["preview", "build", "export"])
@pytest.mark.parametrize("leads_to", ["a deck file", "a file elsewhere", "nothing"])
def test_an_output_that_is_a_link_is_refused_not_followed(mini: Path, tmp_path: Path, command: str,
                                                          leads_to: str) -> None:
    """A link committed at dist/preview/index.html must not make `preview` overwrite what it leads
    to (a fact file, ~/.ssh/authorized_keys), nor create a file where it points."""
    victim = {"a deck file": mini / "registry" / "registry.yaml",
              "a file elsewhere": tmp_path / "home" / ".ssh" / "authorized_keys",
              "nothing": tmp_path / "nowhere" / "deep" / "file"}[leads_to]
    if leads_to == "a file elsewhere":
        victim.parent.mkdir(parents=True)
        victim.write_text("ssh-ed25519 AAAAlegit me@laptop\n", encoding="utf-8")
    before = victim.read_bytes() if victim.exists() else None
    out = {"preview": tmp_path / "dist" / "preview", "build": tmp_path / "deck.apkg",
           "export": tmp_path / "cards.md"}[command]
    link = out / "index.html" if command == "preview" else out
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(victim)
    extra = ["--format", "markdown"] if command == "export" else []
    code, _, err = run(command, *extra, "--decks", str(mini), "-o", str(out))
    assert code == 1
    assert error_line(err) == (f"Error: {link}: is a link; a command writes only a file or folder of its own, never "
                               "through a link: remove the link or choose another path with -o")
    assert link.is_symlink()
    assert (victim.read_bytes() if victim.exists() else None) == before
    assert not (tmp_path / "nowhere").exists()


@POSIX
def test_outputs_create_no_folder_outside_the_path_given(mini: Path, tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "deep")
    code, _, err = run("build", "--decks", str(mini), "-o", str(tmp_path / "dangling" / "x" / "deck.apkg"))
    assert code == 1
    assert error_line(err) == (f"Error: {tmp_path / 'dangling'}: is not a folder (a file, or a link to nothing); "
                               "choose another path with -o")
    assert not (tmp_path / "nowhere").exists()


@POSIX
def test_link_loops_at_the_output_are_errors(mini: Path, tmp_path: Path) -> None:
    (tmp_path / "o.apkg").symlink_to("o.apkg")
    code, _, err = run("build", "--decks", str(mini), "-o", str(tmp_path / "o.apkg"))
    assert code == 1 and "o.apkg: is a link;" in error_line(err)
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    code, _, err = run("build", "--decks", str(mini), "-o", str(tmp_path / "a" / "x.apkg"))
    assert code == 1 and error_line(err).startswith("Error: ")


def test_the_checkout_s_own_decks_are_protected_whatever_decks_is_given(mini: Path, tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(mini, checkout / "decks")
    shutil.copytree(TEMPLATES, checkout / "templates")
    monkeypatch.chdir(checkout)
    for target in ("decks/registry/x.apkg", "templates/x.apkg"):
        code, _, err = run("build", "--decks", str(mini), "--templates", str(TEMPLATES), "-o", target)
        assert code == 1
        assert "the output would be written inside" in error_line(err)
    assert not (checkout / "decks" / "registry" / "x.apkg").exists()


def test_writers_creating_the_same_folders_at_once_all_succeed(tmp_path: Path) -> None:
    import threading

    from builder.output import replacing

    folder = tmp_path / "a" / "b" / "c"

    def write(number: int, barrier: threading.Barrier, failures: list[BaseException]) -> None:
        barrier.wait()
        try:
            with replacing(folder / f"deck{number}.apkg") as tmp:
                tmp.write_bytes(bytes([number]) * 1000)
        except BaseException as err:
            failures.append(err)

    for _ in range(20):
        shutil.rmtree(tmp_path / "a", ignore_errors=True)
        barrier = threading.Barrier(8)
        failures: list[BaseException] = []
        threads = [threading.Thread(target=write, args=(n, barrier, failures)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert sorted(os.listdir(folder)) == sorted(f"deck{n}.apkg" for n in range(8))


def test_commands_that_write_refuse_the_installed_copy_of_the_deck(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside a checkout the deck comes from the installed package: `new`, `lock` and `schema`
    must not change it, or every later command would read the change."""
    from builder import paths

    package = tmp_path / "site-packages" / "builder"
    shipped = package / "_data" / "decks"
    shutil.copytree(ROOT / "tests" / "samples" / "mini", shipped)
    shutil.copytree(TEMPLATES, package / "_data" / "templates")
    monkeypatch.setattr(paths, "package_folder", lambda: package)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    before = {p: p.read_bytes() for p in package.rglob("*") if p.is_file()}
    for args, option in ((["new", "piriformis", "--region", "lower-limb"], "--decks"), (["lock"], "--decks"),
                         (["schema"], "--out"), (["lock", "--decks", str(shipped)], "--decks")):
        code, _, err = run(*args)
        assert code == 1
        assert error_line(err) == (f"Error: {shipped}: is the copy of the deck installed with muscle-deck, which no "
                                   "command changes; run this inside a checkout of the project, or pass "
                                   f"{option} a folder of your own")
    assert {p: p.read_bytes() for p in package.rglob("*") if p.is_file()} == before
    assert run("validate")[0] == 0  # reading it is fine
    assert run("schema", "--out", "schema")[0] == 0


@POSIX
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("command", [["list"], ["export", "--format", "csv"]])
def test_a_standard_output_that_cannot_be_written_is_an_error(mini: Path, command: list[str]) -> None:
    with open("/dev/full", "w", encoding="utf-8") as full:
        done = subprocess.run([sys.executable, "-m", "builder", *command, "--decks", str(mini)], cwd=ROOT,
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr == "Error: cannot write to standard output: No space left on device\n"


# --- the schema command ------------------------------------------------------------------------

def checkout_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder laid out like a checkout (decks/, templates/, schema/), as the working folder."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "tests" / "samples" / "mini", checkout / "decks")
    shutil.copytree(TEMPLATES, checkout / "templates")
    monkeypatch.chdir(checkout)
    assert run("schema")[0] == 0
    return checkout


@POSIX
def test_schema_reads_the_decks_folder_as_validate_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = checkout_in(tmp_path, monkeypatch)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-API-KEY=abc123\n", encoding="utf-8")
    leak = checkout / "decks" / "lower-limb" / "leak.yaml"
    leak.symlink_to(secret)
    for check in ([], ["--check"]):
        code, _, err = run("schema", *check)
        assert code == 1
        assert err.splitlines()[0] == (f"{Path('decks/lower-limb/leak.yaml')}:1:1: is a link to {secret}, outside "
                                       "the decks folder; copy the file here instead")
    assert leak.is_symlink() and secret.read_text(encoding="utf-8") == "TOP-SECRET-API-KEY=abc123\n"
    leak.unlink()
    os.mkfifo(leak)
    started = time.monotonic()
    code, _, err = run("schema", "--check")
    assert code == 1 and "leak.yaml:1:1: not a regular file (a device, pipe or folder)" in err
    assert time.monotonic() - started < 10
    leak.unlink()
    leak.mkdir()  # a folder named like a fact file is a folder: its files are read, it is not
    assert run("schema", "--check")[0] == 0


@POSIX
def test_schema_never_waits_on_a_pipe_at_a_schema_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = checkout_in(tmp_path, monkeypatch)
    fact = checkout / "schema" / "fact-file.schema.json"
    fact.unlink()
    os.mkfifo(fact)
    started = time.monotonic()
    code, _, err = run("schema", "--check")
    assert code == 1
    assert error_line(err).startswith(f"Error: {Path('schema/fact-file.schema.json')}: not a regular file")
    code, _, err = run("schema")
    assert code == 1 and "is not a regular file (a device, pipe or socket)" in error_line(err)
    assert time.monotonic() - started < 10


# --- errors -----------------------------------------------------------------------------------

def test_the_library_s_errors_are_its_own(mini: Path) -> None:
    """Code that uses builder as a library catches MuscleDeckError, whatever drives it; only the
    command line turns it into `Error: …` and exit code 1."""
    import click

    from builder import errors, render
    from builder.load import load

    (mini / MEDIUS).write_text("id: [\n", encoding="utf-8")
    with pytest.raises(errors.ValidationError) as caught:
        load(mini)
    assert not isinstance(caught.value, click.ClickException)
    assert str(caught.value) == "1 problem in the fact files; fix them and run again (nothing was written)"
    assert render.TemplateError is errors.TemplateError
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, Exception)]
    assert all(issubclass(c, errors.MuscleDeckError) and not issubclass(c, click.ClickException) for c in classes)


# --- other bad input --------------------------------------------------------------------------

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
