"""Domain objects: the facts of the deck, read from YAML, and the cards made from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple


@dataclass(frozen=True)
class Attachment:
    """An origin or insertion: the textbook wording and the landmarks it names."""

    text: str
    sites: tuple[str, ...]


@dataclass(frozen=True)
class Action:
    """One movement at one joint, optionally by some fibres only."""

    joint: str
    movement: str
    qualifier: str | None = None
    detail: str | None = None
    prime: bool = False


@dataclass(frozen=True)
class Innervation:
    """A nerve that supplies a muscle, with the root levels that reach the muscle."""

    nerve: str
    roots: tuple[str, ...]
    main_roots: tuple[str, ...] = ()
    note: str | None = None


@dataclass(frozen=True)
class Cited:
    """A statement with its own sources (a clinical fact, or a note on a variant)."""

    text: str
    sources: tuple[str, ...]
    about: str = "clinical"


@dataclass(frozen=True)
class Confusable:
    """A muscle easily confused with another, and the cue that tells them apart."""

    muscle: str
    cue: str


@dataclass(frozen=True)
class Part:
    """A head or part of a muscle whose facts differ from the rest."""

    id: str
    name: str
    origin: Attachment | None = None
    insertion: Attachment | None = None
    actions: tuple[Action, ...] = ()
    innervation: tuple[Innervation, ...] = ()
    blood_supply: str | None = None


@dataclass(frozen=True)
class Muscle:
    """A muscle, as one fact file states it."""

    id: str
    name: str
    region: str
    path: str
    group: str | None = None
    former_ids: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    description: str | None = None
    origin: Attachment | None = None
    insertion: Attachment | None = None
    actions: tuple[Action, ...] = ()
    innervation: tuple[Innervation, ...] = ()
    blood_supply: str | None = None
    clinical: tuple[Cited, ...] = ()
    confusable: tuple[Confusable, ...] = ()
    notes: tuple[Cited, ...] = ()
    parts: tuple[Part, ...] = ()
    sources: tuple[str, ...] = ()

    @property
    def identity(self) -> str:
        """The id its notes are known by: the first id it ever had."""
        return self.former_ids[0] if self.former_ids else self.id

    def units(self, fact: str) -> list[tuple[Part | None, object]]:
        """(part, value) pairs for a fact: the muscle's own, or one per part that states it."""
        own = getattr(self, fact)
        if own:
            return [(None, own)]
        return [(p, getattr(p, fact)) for p in self.parts if getattr(p, fact)]

    def nerves(self) -> tuple[str, ...]:
        """Ids of every nerve that supplies the muscle or one of its parts."""
        found = [i.nerve for i in self.innervation]
        found += [i.nerve for p in self.parts for i in p.innervation]
        return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class Nerve:
    """A nerve of the registry and the spinal segments whose fibres it carries."""

    id: str
    name: str
    roots: tuple[str, ...] = ()
    cranial: bool = False
    part_of: str | None = None
    lesion: Cited | None = None


@dataclass(frozen=True)
class Source:
    """A reference that facts cite."""

    id: str
    kind: str
    short: str
    citation: str
    url: str | None = None


@dataclass(frozen=True)
class Region:
    """A region of the body, with its groups of muscles."""

    id: str
    name: str
    groups: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Joint:
    """A joint and the movements it allows."""

    id: str
    name: str
    movements: tuple[str, ...]


@dataclass(frozen=True)
class Myotome:
    """A spinal segment, the movement that tests it, and its key muscles."""

    root: str
    joint: str
    movement: str
    muscles: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Registry:
    """Every id that fact files refer to."""

    regions: dict[str, Region]
    joints: dict[str, Joint]
    movements: dict[str, str]
    nerves: dict[str, Nerve]
    sources: dict[str, Source]
    landmarks: dict[str, str]
    removed: dict[str, str]
    myotomes: dict[str, Myotome] = field(default_factory=dict)


@dataclass(frozen=True)
class Facts:
    """The whole deck's facts: the registry and every muscle, sorted by id."""

    registry: Registry
    muscles: tuple[Muscle, ...]

    @cached_property
    def by_id(self) -> dict[str, Muscle]:
        """Muscles by id."""
        return {m.id: m for m in self.muscles}

    def muscle(self, muscle_id: str) -> Muscle:
        """The muscle with this id."""
        return self.by_id[muscle_id]


class Card(NamedTuple):
    """One Anki note: what it asks, what it answers, and where it comes from.

    A named tuple rather than a dataclass: a large deck has ~100,000 of them, and tuples are
    several times faster to store in and read back from the build cache."""

    key: str
    kind: str
    front: str
    back: str
    sources: str
    muscle_names: str
    muscles: tuple[str, ...]
    tags: tuple[str, ...]
    deck: str  # a region id, or "" for the top deck
