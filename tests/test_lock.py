"""notes.lock and note versions: what a build and `lock --check` accept, and, in Anki, released
content always winning over a build of content the lock does not have."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from conftest import TEMPLATES, collection, error_line, import_apkg, run

from builder import lock
from builder.build import build, relock
from builder.select import Selection

T0, T1 = 1_800_000_000, 1_800_100_000
MINIMUS = Path("lower-limb/gluteal/gluteus-minimus.yaml")
RELEASED, EDITED = "Anterior surface of the greater trochanter", "Anterolateral surface of the greater trochanter"






def edit(decks: Path, old: str, new: str) -> None:
    path = decks / MINIMUS
    path.write_text(path.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def insertion(col: object) -> str:
    """The back of gluteus minimus's insertion card, as the collection holds it."""
    query = '"tag:muscle-deck::muscle::gluteus-minimus" "tag:muscle-deck::card::insertion"'
    return str(col.get_note(col.find_notes(query)[0])["Back"])  # type: ignore[attr-defined]


# --- released content wins -------------------------------------------------------------------

def test_a_local_build_never_shadows_the_released_notes(mini: Path, tmp_path: Path) -> None:
    """An edit built without `lock` (then reverted, or later released differently) must not stay
    in a collection for good: Anki updates a note only when the incoming one is newer."""
    relock(mini, TEMPLATES, at=T0)
    release = tmp_path / "release.apkg"
    build(mini, TEMPLATES, release, Selection(), at=T1)
    edit(mini, RELEASED, EDITED)
    edited = tmp_path / "edited.apkg"
    assert build(mini, TEMPLATES, edited, Selection(), at=T1 + 100).unlocked == 1
    edit(mini, EDITED, RELEASED)
    reverted = tmp_path / "reverted.apkg"
    assert build(mini, TEMPLATES, reverted, Selection(), at=T1 + 200).unlocked == 0

    with collection(tmp_path / "released-first.anki2") as col:  # the released deck, then the local builds
        import_apkg(col, release)
        log = import_apkg(col, edited)
        assert (len(log.new), len(log.updated)) == (0, 0)  # the released notes stay as they are
        import_apkg(col, reverted)
        assert RELEASED in insertion(col)

    with collection(tmp_path / "local-first.anki2") as col:  # the local build, then the release
        import_apkg(col, edited)
        assert EDITED in insertion(col)
        log = import_apkg(col, release)
        assert len(log.updated) == 1 and RELEASED in insertion(col)  # the re-release of the locked content wins
        import_apkg(col, edited)
        edit(mini, RELEASED, EDITED)  # the edit is released after all: locked, then built
        relock(mini, TEMPLATES, at=T1 + 300)
        release2 = tmp_path / "release2.apkg"
        build(mini, TEMPLATES, release2, Selection(), at=T1 + 400)
        log = import_apkg(col, release2)
        assert len(log.updated) == 1 and EDITED in insertion(col)


def test_a_new_note_built_before_it_is_locked_gives_way_to_its_release(mini: Path, tmp_path: Path) -> None:
    relock(mini, TEMPLATES, at=T0)
    path = mini / MINIMUS
    path.write_text(path.read_text(encoding="utf-8") + "blood_supply: Superior gluteal artery\n", encoding="utf-8")
    local = tmp_path / "local.apkg"
    build(mini, TEMPLATES, local, Selection(cards=("blood-supply",)), at=T1 + 1000)
    path.write_text(path.read_text(encoding="utf-8").replace("Superior gluteal artery\n",
                                                             "Superior and inferior gluteal arteries\n"))
    relock(mini, TEMPLATES, at=T1)  # released with other content, at a time before the local build
    release = tmp_path / "release.apkg"
    build(mini, TEMPLATES, release, Selection(cards=("blood-supply",)), at=T1)
    with collection(tmp_path / "col.anki2") as col:
        assert len(import_apkg(col, local).new) == 2
        log = import_apkg(col, release)
        assert len(log.updated) == 1
        query = '"tag:muscle-deck::muscle::gluteus-minimus"'
        assert "inferior gluteal" in col.get_note(col.find_notes(query)[0])["Back"]


def test_unlocked_notes_carry_times_older_than_their_release() -> None:
    versions = {"a/origin": lock.Version("a/origin", lock.guid("a/origin"), "d1", T0),
                lock.MODEL_KEY: lock.Version(lock.MODEL_KEY, lock.guid(lock.MODEL_KEY), "m", T0 - 50)}
    assert lock.stamped("a/origin", "d1", versions, T1) == (T0, False)  # as released
    assert lock.stamped("a/origin", "d2", versions, T1) == (T0 - 1, True)  # edited: just before the release
    assert lock.stamped("b/origin", "d3", versions, T1) == (T0 - 50, True)  # new: the note type's release
    assert lock.stamped("b/origin", "d3", {}, T1) == (T1, True)  # no lock at all: the build time
    assert lock.released("a/origin", "d2", versions, T0 - 10) == T0 + 1  # a release is always later


# --- what the lock and SOURCE_DATE_EPOCH may hold ------------------------------------------------

@pytest.mark.parametrize("value", ["abc", "-1", "1e9", "²", "١٢٣", "9" * 13, "9" * 5000, "9300000000000000"])
def test_source_date_epoch_is_a_time_the_build_can_use(mini: Path, tmp_path: Path, value: str) -> None:
    out = tmp_path / "x.apkg"
    code, _, err = run("build", "--decks", str(mini), "-o", str(out), env={"SOURCE_DATE_EPOCH": value})
    assert code == 1
    shown = value if len(value) <= 40 else value[:40] + "…"
    assert error_line(err) == (f"Error: SOURCE_DATE_EPOCH is {shown!r}; set it to a whole number of seconds since "
                               "1970 (at most 12 digits 0-9), or unset it")
    assert not out.exists()
    assert run("build", "--decks", str(mini), "-o", str(out), env={"SOURCE_DATE_EPOCH": "1800000000"})[0] == 0


@pytest.mark.parametrize("value", ["²", "١٢٣", "-5", "", "1e20", "9" * 13, "9" * 5000, "99999999999999999999"])
def test_a_lock_time_a_build_cannot_use_fails_lock_check_too(mini: Path, tmp_path: Path, value: str) -> None:
    relock(mini, TEMPLATES, at=T0)
    path = mini / lock.LOCK_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    fields = lines[4].split("\t")
    lines[4] = "\t".join([*fields[:3], value])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = f"Error: {path}:5:1: malformed line; regenerate the file with `muscle-deck lock`"
    for command in (["build", "-o", str(tmp_path / "x.apkg")], ["lock", "--check"]):
        code, _, err = run(*command, "--decks", str(mini))
        assert code == 1
        assert error_line(err) == expected
    assert not (tmp_path / "x.apkg").exists()


@pytest.mark.parametrize("damage", ["binary", "folder", "pipe", "device", "dangling link"])
def test_a_lock_that_is_not_a_plain_text_file_is_an_error(mini: Path, tmp_path: Path, damage: str) -> None:
    path = mini / lock.LOCK_FILE
    reason = "not a regular file (a device, pipe or folder)"
    if damage == "binary":
        path.write_bytes(b"\x00\xff\xfe garbage")
        reason = "not UTF-8 text"
    elif damage == "folder":
        path.mkdir()
    elif sys.platform == "win32":
        pytest.skip("POSIX special files")
    elif damage == "pipe":
        os.mkfifo(path)
    elif damage == "device":
        if not Path("/dev/zero").exists():
            pytest.skip("needs /dev/zero")
        path.symlink_to("/dev/zero")
    else:
        path.symlink_to(tmp_path / "nowhere")
        reason = "cannot read it: No such file or directory"
    for command in (["build", "-o", str(tmp_path / "x.apkg")], ["lock", "--check"]):
        started = time.monotonic()
        code, _, err = run(*command, "--decks", str(mini))
        assert code == 1
        assert error_line(err) == (f"Error: {path}:1:1: {reason}; restore it from git, or regenerate it with "
                                   "`muscle-deck lock`")
        assert time.monotonic() - started < 30  # it did not wait on the pipe, nor read the device
    assert not (tmp_path / "x.apkg").exists()
