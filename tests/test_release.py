"""The update a learner makes: this build imported over the previous release (the deck as it was
before cards were split into one question each), with real Anki, after reviewing every card."""

from __future__ import annotations

from pathlib import Path

from conftest import DECKS, ROOT, TEMPLATES, collection, import_apkg, review_all

from builder import lock
from builder.build import build
from builder.diff import notes
from builder.load import load
from builder.select import Selection

PREVIOUS = ROOT / "tests" / "samples" / "previous-release.apkg"  # built from main at 5005df0


def test_updating_over_the_previous_release_keeps_every_history(tmp_path: Path) -> None:
    new = tmp_path / "new.apkg"
    build(DECKS, TEMPLATES, new, Selection())
    old_notes, new_notes = notes(PREVIOUS), notes(new)
    with collection(tmp_path / "col.anki2") as col:
        import_apkg(col, PREVIOUS)
        reviewed = review_all(col)
        assert reviewed == len(old_notes)
        log = import_apkg(col, new)
        kept = old_notes.keys() & new_notes.keys()
        assert len(log.new) == len(new_notes.keys() - old_notes.keys())
        assert len(log.updated) + len(log.duplicate) == len(kept)
        assert not log.conflicting and not log.missing_notetype
        # every card that stays keeps its review: one rep each, and the whole review log
        reps = {col.get_note(col.get_card(c).nid).guid: col.get_card(c).reps for c in col.find_cards("")}
        assert all(reps[guid] == 1 for guid in kept)
        assert col.db.scalar("select count() from revlog") == reviewed
        # the search the changelog gives finds exactly the notes this release drops
        stale = {col.get_note(n).guid for n in col.find_notes('"Sources:*md-source*"')}
        assert stale == old_notes.keys() - new_notes.keys()
    # every note the release drops is recorded as removed, with the reason a learner reads
    versions = lock.read(DECKS)
    removed = load(DECKS).registry.removed
    by_guid = {v.guid: v for v in versions.values()}
    for guid in old_notes.keys() - new_notes.keys():
        version = by_guid[guid]
        assert version.digest == lock.REMOVED, version.key
        assert lock.is_removed(version.key, removed), version.key
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    for entry in removed:
        assert f"`{entry}`" in changelog, f"CHANGELOG.md does not tell learners about {entry}"
