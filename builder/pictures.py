"""Pictures: the rendered images a card may show, from the media folder's manifest (builder/media.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .model import Facts, Picture

# What each view shows, said under the image in the renderer's colours (templates/style.css).
LEGENDS = {"attachment": (("origin", "origin"), ("insertion", "insertion"))}
ALT = {"location": "{name} in red, in place", "attachment": "{name}: origin in red, insertion in blue"}


def with_pictures(facts: Facts, folder: Path | None = None) -> Facts:
    """The facts with each muscle's images (muscle → view → picture), from `folder`'s manifest
    (default: the deck's own media folder); none where there is no manifest."""
    from .media import images_by_muscle

    current = {old: m.id for m in facts.muscles for old in m.former_ids} | {m.id: m.id for m in facts.muscles}
    pictures: dict[str, dict[str, Picture]] = {}
    for muscle, views in images_by_muscle(folder).items():
        if muscle in current:  # a renamed muscle keeps its images
            name = facts.muscle(current[muscle]).name
            pictures[current[muscle]] = {view: Picture(image.file, ALT[view].format(name=name), image.credit,
                                                       LEGENDS.get(view, ())) for view, image in views.items()}
    return replace(facts, pictures=pictures)
