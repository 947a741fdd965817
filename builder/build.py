"""The whole program on one screen: load → render → select → stamp → package."""

from __future__ import annotations

import gc
import pickle
from collections import Counter
from collections.abc import Generator, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import cache, lock, select
from .model import Card, Facts
from .package import Stamped, note_type_digest, write
from .render import Rendered
from .select import Selection


class Deck:
    """The full deck: checked facts, every card, and each card's GUID and content digest by key.

    In the cache a deck is stored as its fact files as read and its cards as rendered, each part
    the very pickle its process made, then the deck itself; the facts are put together again
    only when something asks for them (a plain build of the whole deck needs only the cards and
    the region names)."""

    def __init__(self, facts: Facts, cards: Iterable[Rendered] = ()) -> None:
        """`cards`: as `render.rendered` gives them (more may be `add`ed)."""
        self._facts: Facts | None = facts
        self._registry = facts.registry
        self._read: list[bytes] = []  # from the cache: the fact files as read, each part pickled
        self.regions = {r.id: r.name for r in facts.registry.regions.values()}
        self.read_parts = 0  # how many parts of fact files the cache holds before the cards
        self._no_cards()
        self.add(cards)

    def _no_cards(self) -> None:
        self.cards: list[Card] = []
        self.guids: dict[str, str] = {}
        self.digests: dict[str, str] = {}

    def add(self, cards: Iterable[Rendered]) -> list[Card]:
        """Add cards as `render.rendered` gives them; they are returned as Cards."""
        added = []
        for fields, guid, digest in cards:
            card = Card._make(fields)
            added.append(card)
            self.guids[card.key] = guid
            self.digests[card.key] = digest
        self.cards.extend(added)
        return added

    @property
    def facts(self) -> Facts:
        if self._facts is None:
            from .load import assemble

            self._facts = assemble(self._registry, (f for part in self._read for f in pickle.loads(part)))
        return self._facts

    def __getstate__(self) -> dict[str, object]:  # the cache stores the fact files and the cards before it
        return {"registry": self._registry, "regions": self.regions, "read_parts": self.read_parts}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._facts = None
        self._registry = state["registry"]
        self.regions = state["regions"]
        self.read_parts = state["read_parts"]
        self._read = []
        self._no_cards()


def _cached(name: str) -> Deck | None:
    """The deck stored in the cache under `name`: its fact files as read, its cards, itself."""
    pieces = cache.pieces(name)
    if not pieces or not isinstance(pieces[-1], Deck):
        return None
    full: Deck = pieces.pop()
    full._read = pieces[:full.read_parts]
    for part in pieces[full.read_parts:]:
        full.add(part)
    return full


@contextmanager
def gc_paused() -> Iterator[None]:
    """Cyclic garbage collection off while a build runs.

    A build makes millions of small objects that live until it ends and form no cycles worth
    collecting; the collector's passes over them cost about a third of a large build's time
    and free nothing (peak memory is the same with it off)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass(frozen=True)
class BuildResult:
    """What a build wrote."""

    output: Path
    notes: int
    muscles: int
    by_kind: dict[str, int]
    unlocked: int  # notes whose content is not yet in decks/notes.lock
    deck: Deck = field(repr=False, compare=False)  # the full deck the notes were chosen from


def build(decks: Path, templates: Path, output: Path, selection: Selection | None = None,
          at: int | None = None) -> BuildResult:
    """Build an .apkg of the selected cards; write nothing if anything is wrong."""
    with gc_paused():
        return _build(decks, templates, output, selection, at)


def _build(decks: Path, templates: Path, output: Path, selection: Selection | None,
           at: int | None) -> BuildResult:
    full, coming = _deck(decks, templates)
    with closing(coming):  # stopped early (an error): so are the processes rendering cards
        selection = selection or Selection()
        keeps = select.chooser(full.facts if selection.by_muscle else None, selection)
        versions = lock.read(decks)
        at = lock.now() if at is None else at
        model_mod, model_changed = lock.stamped(lock.MODEL_KEY, note_type_digest(templates), versions, at)
        chosen: list[Card] = []
        changed = int(model_changed)

        def notes() -> Iterator[Stamped]:  # written as the cards are rendered
            nonlocal changed
            for part in coming:
                for card in part:
                    if keeps(card):
                        chosen.append(card)
                        mod, new = lock.stamped(card.key, full.digests[card.key], versions, at)
                        changed += new
                        yield Stamped(card, full.guids[card.key], mod)
            select.check(full.cards, chosen, selection)  # before the package replaces anything

        write(notes(), full.regions, templates, model_mod, output, protected=(decks, templates))
    return BuildResult(output, len(chosen), len({m for c in chosen for m in c.muscles}),
                       dict(Counter(c.kind for c in chosen)), changed, full)


def deck(decks: Path, templates: Path) -> Deck:
    """Load, check and render the full deck (reused from the cache when no input changed)."""
    full, coming = _deck(decks, templates)
    with gc_paused(), closing(coming):
        for _ in coming:
            pass
    return full


def _at_once(cards: list[Card]) -> Generator[list[Card], None, None]:
    yield cards


def _deck(decks: Path, templates: Path) -> tuple[Deck, Generator[list[Card], None, None]]:
    """The full deck, and its cards in parts as they come: all at once from the cache, else as
    they are rendered. The deck's card lists are complete (and it is cached) once the parts
    have run out."""
    name = "deck-" + cache.key(decks, templates) if cache.folder() is not None else ""
    cached = _cached(name) if name else None
    if cached is not None:
        return cached, _at_once(cached.cards)
    from .load import load
    from .parallel import Ahead
    from .render import compile_all, rendered

    entry = cache.Entry(name)  # the fact files as read go into it, then the cards as rendered
    read_parts = 0

    def store(part: object, pickled: bytes | None) -> None:
        nonlocal read_parts
        entry.add(pickled if pickled is not None else pickle.dumps(part, pickle.HIGHEST_PROTOCOL))
        read_parts += 1

    try:
        with gc_paused(), Ahead(lambda: compile_all(templates)) as compiled:  # meanwhile: load
            facts = load(decks, store if entry.writing else None)
            parts = rendered(facts, templates, compiled.result)
    except BaseException:
        entry.discard()
        raise
    full = Deck(facts)

    def filling() -> Generator[list[Card], None, None]:
        with closing(parts), entry:  # closed early, or failed: nothing is cached
            yield []  # (started here at once, so that closing it always discards the entry)
            for part, pickled in parts:
                if entry.writing:
                    entry.add(part, pickled)
                yield full.add(part)
            if entry.writing:
                full.read_parts = read_parts
                entry.add(full)
                entry.commit()

    coming = filling()
    next(coming)
    return full, coming


def full_deck(decks: Path, templates: Path) -> tuple[Facts, list[Card], dict[str, str]]:
    """The facts, every card, and every note's key → content digest (with the note type's)."""
    full = deck(decks, templates)
    keyed = dict(full.digests)
    keyed[lock.MODEL_KEY] = note_type_digest(templates)
    return full.facts, full.cards, keyed


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
