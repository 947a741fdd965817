"""Pictures: the rendered images a card may show, read from the media folder's manifest."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

from .model import Facts, Picture

MANIFEST = "sources.csv"
# What each view shows, said under the image (the colours are the renderer's).
LEGENDS = {"attachment": (("origin", "origin"), ("insertion", "insertion"))}


def with_pictures(facts: Facts, folder: Path | None = None) -> Facts:
    """The facts with each muscle's images (muscle → view → picture), from `folder`'s manifest
    (default: the deck's own media folder); unchanged where there is no manifest."""
    from .paths import default_media

    manifest = (folder or default_media()) / MANIFEST
    if not manifest.is_file():
        return facts
    with manifest.open(encoding="utf-8", newline="") as rows:
        pictures: dict[str, dict[str, Picture]] = {}
        for row in csv.DictReader(rows):
            if row["muscle"] in facts.by_id:
                name = facts.muscle(row["muscle"]).name
                pictures.setdefault(row["muscle"], {})[row["view"]] = Picture(
                    row["file"], f"{name}: {row['view']} view", row["credit"], LEGENDS.get(row["view"], ()))
    return replace(facts, pictures=pictures)
