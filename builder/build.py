"""The whole program on one screen: load → render → select → note → stamp → write.

Every command runs the same first stages (`cards`): `build` writes the selected cards as an
Anki package, `preview` as a page, `export` as CSV or a study sheet, `stats` and `list` count them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from . import lock
from .load import load
from .model import Card, Facts
from .note import Fields, fields, note_environment
from .package import Stamped, note_type_digest, write
from .pictures import with_pictures
from .render import render
from .select import Selection, select


class Chosen(NamedTuple):
    """The facts, the full deck's cards, and the cards and muscles a selection keeps."""

    facts: Facts
    every: list[Card]
    cards: list[Card]
    muscles: int


def cards(decks: Path, templates: Path, selection: Selection | None = None, media: Path | None = None) -> Chosen:
    """Load → render → select: the cards a selection keeps, in course order. The images come from
    `media`, by default the media folder beside `decks`."""
    facts = with_pictures(load(decks), media_folder(decks, media))  # the fact files, checked; their images
    every = render(facts, templates)  # every card of the full deck
    chosen = select(facts, every, selection or Selection())  # the subset asked for
    return Chosen(facts, every, chosen.cards, len(chosen.muscles))


def media_folder(decks: Path, media: Path | None = None) -> Path:
    """The images that go with a decks folder: `media/` beside it, as `schema/` is."""
    return media or decks.parent / "media"


def notes(chosen: list[Card], templates: Path, media: Callable[[str], str] | None = None) -> list[Fields]:
    """Each card's Anki note fields (`media`: how an image is referred to, as note_environment)."""
    env = note_environment(templates, media)
    return [fields(card, env) for card in chosen]


@dataclass(frozen=True)
class BuildResult:
    """What a build wrote."""

    output: Path
    notes: int
    muscles: int  # the muscles the selected cards are about
    own_cards: int  # cards about one muscle each
    across: int  # cards across muscles
    by_kind: dict[str, int]
    unlocked: int  # notes whose content is not yet in decks/notes.lock


def build(decks: Path, templates: Path, output: Path, selection: Selection | None = None,
          at: int | None = None, media: Path | None = None) -> BuildResult:
    """Build an .apkg of the selected cards; write nothing if anything is wrong."""
    chosen = cards(decks, templates, selection, media)
    stamps = stamp(chosen.cards, notes(chosen.cards, templates), note_type_digest(templates), lock.read(decks),
                   lock.now() if at is None else at)  # each note's version time, from the lock
    regions = {r.id: r.name for r in chosen.facts.registry.regions.values()}
    write(stamps.notes, regions, templates, stamps.model_mod, output, protected=(decks, templates),
          media=media_folder(decks, media))
    own = sum(1 for c in chosen.cards if c.own)
    about = {m for c in chosen.cards for m in c.muscles}
    return BuildResult(output, len(chosen.cards), len(about), own, len(chosen.cards) - own,
                       dict(Counter(c.kind for c in chosen.cards)), stamps.unlocked)


class Stamps(NamedTuple):
    """The notes with their GUIDs and version times, the note type's time, and how many notes
    (and the note type) differ from the lock."""

    notes: list[Stamped]
    model_mod: int
    unlocked: int


def stamp(chosen: list[Card], fields_: list[Fields], note_type: str, versions: dict[str, lock.Version],
          at: int) -> Stamps:
    """Each card's note with its GUID, its version time from the lock, and its place among new
    cards (the card's place in course order); `note_type`: the note type's digest."""
    model_mod, model_new = lock.stamped(lock.MODEL_KEY, note_type, versions, at)
    unlocked = int(model_new)
    stamped = []
    for position, (card, note) in enumerate(zip(chosen, fields_, strict=True), 1):
        mod, new = lock.stamped(card.key, lock.digest(note, card.tags), versions, at)
        stamped.append(Stamped(card, note, lock.guid(card.key), mod, position))
        unlocked += new
    return Stamps(stamped, model_mod, unlocked)


def full_deck(decks: Path, templates: Path) -> tuple[Facts, dict[str, str]]:
    """The facts and every note's key → content digest (with the note type's)."""
    chosen = cards(decks, templates)
    keyed = {c.key: lock.digest(n, c.tags) for c, n in zip(chosen.every, notes(chosen.every, templates), strict=True)}
    keyed[lock.MODEL_KEY] = note_type_digest(templates)
    return chosen.facts, keyed


def relock(decks: Path, templates: Path, at: int | None = None) -> tuple[int, int]:
    """Record the full deck's current notes in the lock; (changed, removed) counts."""
    facts, keyed = full_deck(decks, templates)
    old = lock.read(decks)
    new = lock.updated(keyed, old, facts.registry.removed, lock.now() if at is None else at)
    changed = sum(1 for k, v in new.items() if k not in old or old[k].digest != v.digest)
    removed = sum(1 for v in new.values() if v.digest == lock.REMOVED)
    lock.write(decks, new)
    return changed, removed


def lock_problems(decks: Path, templates: Path) -> list[str]:
    """Why the committed lock is out of date (empty when it is current)."""
    facts, keyed = full_deck(decks, templates)
    return lock.problems(keyed, lock.read(decks), facts.registry.removed)
