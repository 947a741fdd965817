"""Rebuilt decks update in place in Anki: reviews are never lost, builds are reproducible."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from conftest import TEMPLATES, collection, import_apkg, review_all, review_then_update

from builder import lock
from builder.build import build, cards, lock_problems, relock
from builder.errors import LockError
from builder.package import FIELDS, MODEL_ID, TOP_DECK_ID, deck_id
from builder.select import Selection

T0, T1, T2 = 1_800_000_000, 1_800_100_000, 1_800_200_000
BICEPS = Path("lower-limb/posterior-thigh/biceps-femoris.yaml")


def released(mini: Path, tmp_path: Path, name: str = "v1.apkg", **sel: tuple[str, ...]) -> Path:
    relock(mini, TEMPLATES, at=T0)
    out = tmp_path / name
    build(mini, TEMPLATES, out, Selection(**sel), at=T1)
    return out


def revlog(col: object) -> int:
    return col.db.scalar("select count() from revlog")  # type: ignore[attr-defined]


def test_edit_updates_only_that_muscles_changed_notes(mini: Path, tmp_path: Path) -> None:
    v1 = released(mini, tmp_path)
    with collection(tmp_path / "col.anki2") as col:
        assert len(import_apkg(col, v1).new) == 32
        reviewed = review_all(col)
        before = {c: col.get_card(c).reps for c in col.find_cards("")}
        # a contributor fixes the long head's origin, and a new release is built
        path = mini / BICEPS
        path.write_text(path.read_text(encoding="utf-8").replace("text: Ischial tuberosity",
                                                 "text: Medial facet of the ischial tuberosity"))
        v2 = tmp_path / "v2.apkg"
        relock(mini, TEMPLATES, at=T2)
        build(mini, TEMPLATES, v2, Selection(), at=T2)
        log = import_apkg(col, v2)
        updated = {col.get_note(n.id.nid)["Kind"]: col.get_note(n.id.nid) for n in log.updated}
        assert len(log.new) == 0
        # exactly the long head's origin card (the reverse card asks from the landmarks, not the text)
        assert sorted(updated) == ["origin"] and len(log.updated) == 1
        assert "long head" in updated["origin"]["Front"]
        assert "Medial facet of the ischial tuberosity" in updated["origin"]["Back"]
        assert len(log.duplicate) == 31
        assert len(col.find_notes("")) == 32
        after = {c: col.get_card(c).reps for c in col.find_cards("")}
        assert after == before and sum(after.values()) == reviewed
        assert revlog(col) == reviewed


def test_rebuild_without_change_updates_nothing(mini: Path, tmp_path: Path) -> None:
    v1 = released(mini, tmp_path)
    again = tmp_path / "again.apkg"
    build(mini, TEMPLATES, again, Selection(), at=T2)
    with collection(tmp_path / "col.anki2") as col:
        import_apkg(col, v1)
        review_all(col)
        log = import_apkg(col, again)
        assert (len(log.new), len(log.updated), len(log.duplicate)) == (0, 0, 32)


def test_subset_then_full_deck_keeps_history(mini: Path, tmp_path: Path) -> None:
    subset = released(mini, tmp_path, "subset.apkg", groups=("gluteal",))
    full = tmp_path / "full.apkg"
    build(mini, TEMPLATES, full, Selection(), at=T2)
    with collection(tmp_path / "col.anki2") as col:
        first = import_apkg(col, subset)
        reviewed = review_all(col)
        assert reviewed == len(first.new) == 18  # 12 muscle cards, 6 across muscles
        log = import_apkg(col, full)
        assert len(log.new) == 32 - 18
        assert len(log.updated) == 0 and len(log.duplicate) == 18
        assert len(col.find_notes("")) == 32
        assert revlog(col) == reviewed
        assert sum(col.get_card(c).reps for c in col.find_cards("")) == reviewed


def test_two_builds_are_byte_identical(mini: Path, tmp_path: Path) -> None:
    relock(mini, TEMPLATES, at=T0)
    a, b = tmp_path / "a.apkg", tmp_path / "b.apkg"
    build(mini, TEMPLATES, a, Selection(), at=T1)
    build(mini, TEMPLATES, b, Selection(), at=T2)  # a later clock changes nothing
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()


def test_renamed_muscle_keeps_its_guids(mini: Path, tmp_path: Path) -> None:
    v1 = released(mini, tmp_path)
    old = mini / "lower-limb/gluteal/gluteus-minimus.yaml"
    text = old.read_text(encoding="utf-8").replace("id: gluteus-minimus",
                                                   "id: glutaeus-minimus\nformer_ids: [gluteus-minimus]")
    old.unlink()
    (mini / "lower-limb/gluteal/glutaeus-minimus.yaml").write_text(text, encoding="utf-8")
    medius = mini / "lower-limb/gluteal/gluteus-medius.yaml"
    medius.write_text(medius.read_text(encoding="utf-8").replace("muscle: gluteus-minimus", "muscle: glutaeus-minimus"))
    # no released note disappears: the renamed muscle's notes keep their keys and GUIDs
    relock(mini, TEMPLATES, at=T2)
    v2 = tmp_path / "v2.apkg"
    build(mini, TEMPLATES, v2, Selection(), at=T2)
    with collection(tmp_path / "col.anki2") as col:
        reviewed, log = review_then_update(col, v1, v2)
        # its five notes are updated in place (their muscle tag changed), none is new
        assert len(log.new) == 0 and len(log.updated) == 5
        assert revlog(col) == reviewed
        assert col.find_notes("tag:muscle-deck::muscle::glutaeus-minimus")


def test_a_released_note_cannot_vanish_unlisted(mini: Path) -> None:
    relock(mini, TEMPLATES, at=T0)
    path = mini / "lower-limb/gluteal/gluteus-medius.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("blood_supply: Superior gluteal artery\n", ""), encoding="utf-8")
    found = lock_problems(mini, TEMPLATES)
    assert len(found) == 1
    assert found[0].startswith("1 released notes would disappear without being listed as removed: "
                               "gluteus-medius/blood-supply.")
    with pytest.raises(LockError):
        relock(mini, TEMPLATES, at=T1)
    (mini / "registry" / "removed.yaml").write_text(
        "removed:\n  gluteus-medius/blood-supply: folded into the gluteal arteries card\n", encoding="utf-8")
    assert lock_problems(mini, TEMPLATES) == [
        "1 released notes were removed (first: gluteus-medius/blood-supply); run `muscle-deck lock` "
        "to record it"]
    relock(mini, TEMPLATES, at=T1)
    assert lock_problems(mini, TEMPLATES) == []
    assert lock.read(mini)["gluteus-medius/blood-supply"].digest == lock.REMOVED


def test_note_type_and_deck_ids_are_pinned() -> None:
    # Changing any of these makes Anki treat a release as a different deck, or refuse updates.
    assert FIELDS == ("Front", "Back", "Sources", "Muscle", "Kind")
    assert MODEL_ID == 1735689201
    assert TOP_DECK_ID == 1735689202
    assert deck_id("lower-limb") == 1700000000000 + int(
        hashlib.sha256(b"muscle-deck/deck/lower-limb").hexdigest()[:10], 16) % 1_000_000_000
    assert lock.guid("gluteus-medius/origin") == "r=]z1H9(4i"


def test_guid_depends_on_key_only(mini: Path) -> None:
    import genanki

    assert lock.guid("gluteus-medius/origin") == genanki.guid_for("muscle-deck", "gluteus-medius/origin")
    assert lock.guid("gluteus-medius/origin") != lock.guid("gluteus-medius/insertion")
    before = {c.key: lock.guid(c.key) for c in cards(mini, TEMPLATES).every}
    path = mini / BICEPS  # content changes; identities do not
    path.write_text(path.read_text(encoding="utf-8").replace("Ischial tuberosity", "Medial facet of the ischial "
                                                                                   "tuberosity"), encoding="utf-8")
    after = cards(mini, TEMPLATES).every
    assert {c.key: lock.guid(c.key) for c in after} == before
