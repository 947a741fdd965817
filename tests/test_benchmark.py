"""The benchmark compares like with like: its synthetic decks are valid decks, and its
bare-genanki baseline writes the same notes a build writes (timings are not asserted here)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import ROOT, TEMPLATES

from builder.build import build
from builder.diff import notes
from builder.select import Selection

sys.path.insert(0, str(ROOT / "benchmarks"))

import run  # noqa: E402


def test_synthetic_deck_and_baseline_write_the_same_notes(tmp_path: Path) -> None:
    decks = run.synthetic(230, tmp_path)
    ours, baseline = tmp_path / "ours.apkg", tmp_path / "baseline.apkg"
    result = build(decks, TEMPLATES, ours, Selection())
    assert result.muscles == 230
    count = run.notes_json(decks, tmp_path / "notes.json")
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "baseline.py"), str(tmp_path / "notes.json"),
                    str(baseline)], check=True)
    mine, theirs = notes(ours), notes(baseline)
    assert count == result.notes == len(theirs)
    assert {g: (n.fields, n.tags) for g, n in mine.items()} == {g: (n.fields, n.tags) for g, n in theirs.items()}
    for package in (ours, baseline):  # both deflated, as a user's download is
        with zipfile.ZipFile(package) as archive:
            assert archive.getinfo("collection.anki2").compress_type == zipfile.ZIP_DEFLATED
