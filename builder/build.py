"""The whole program on one screen: load → render → select → stamp → write."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from . import lock
from .load import load
from .model import Card, Facts
from .package import Stamped, note_type_digest, write
from .render import is_own, render
from .select import Selection, select


@dataclass(frozen=True)
class BuildResult:
    """What a build wrote."""

    output: Path
    notes: int
    muscles: int  # the muscles the filters selected
    own_cards: int  # cards about one muscle each
    across: int  # cards across muscles
    by_kind: dict[str, int]
    unlocked: int  # notes whose content is not yet in decks/notes.lock


def build(decks: Path, templates: Path, output: Path, selection: Selection | None = None,
          at: int | None = None) -> BuildResult:
    """Build an .apkg of the selected cards; write nothing if anything is wrong."""
    facts = load(decks)  # the fact files, read safely and checked
    cards = render(facts, templates)  # every card of the full deck
    chosen = select(facts, cards, selection or Selection())  # the subset asked for
    stamps = stamp(chosen.cards, note_type_digest(templates), lock.read(decks),
                   lock.now() if at is None else at)  # each note's version time, from the lock
    write(stamps.notes, {r.id: r.name for r in facts.registry.regions.values()}, templates, stamps.model_mod,
          output, protected=(decks, templates))  # the package, atomically
    own = sum(1 for c in chosen.cards if is_own(c))
    return BuildResult(output, len(chosen.cards), len(chosen.muscles), own, len(chosen.cards) - own,
                       dict(Counter(c.kind for c in chosen.cards)), stamps.unlocked)


class Stamps(NamedTuple):
    """The notes with their GUIDs and version times, the note type's time, and how many notes
    (and the note type) differ from the lock."""

    notes: list[Stamped]
    model_mod: int
    unlocked: int


def stamp(cards: list[Card], note_type: str, versions: dict[str, lock.Version], at: int) -> Stamps:
    """Each card's note with its GUID and the time its content was released; content the lock
    does not have gets the build time `at` (`note_type`: the note type's digest)."""
    model_mod, model_new = lock.stamped(lock.MODEL_KEY, note_type, versions, at)
    unlocked = int(model_new)
    notes = []
    for card in cards:
        mod, new = lock.stamped(card.key, lock.digest(card), versions, at)
        notes.append(Stamped(card, lock.guid(card.key), mod))
        unlocked += new
    return Stamps(notes, model_mod, unlocked)


def full_deck(decks: Path, templates: Path) -> tuple[Facts, list[Card], dict[str, str]]:
    """The facts, every card, and every note's key → content digest (with the note type's)."""
    facts = load(decks)
    cards = render(facts, templates)
    keyed = {c.key: lock.digest(c) for c in cards}
    keyed[lock.MODEL_KEY] = note_type_digest(templates)
    return facts, cards, keyed


def relock(decks: Path, templates: Path, at: int | None = None) -> tuple[int, int]:
    """Record the full deck's current notes in the lock; (changed, removed) counts."""
    facts, _, keyed = full_deck(decks, templates)
    old = lock.read(decks)
    new = lock.updated(keyed, old, facts.registry.removed, lock.now() if at is None else at)
    changed = sum(1 for k, v in new.items() if k not in old or old[k].digest != v.digest)
    removed = sum(1 for v in new.values() if v.digest == lock.REMOVED)
    lock.write(decks, new)
    return changed, removed


def lock_problems(decks: Path, templates: Path) -> list[str]:
    """Why the committed lock is out of date (empty when it is current)."""
    facts, _, keyed = full_deck(decks, templates)
    return lock.problems(keyed, lock.read(decks), facts.registry.removed)
