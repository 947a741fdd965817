"""Domain objects: the facts of the deck, read from YAML, and the cards made from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple

TAG = "muscle-deck"  # the prefix of every tag the deck's notes carry


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
class Clinical:
    """A clinical fact as a question and its short answer, with its own sources."""

    id: str
    question: str
    answer: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Note:
    """A variant or disagreement, shown on the one card (`card`: a card reference) it qualifies."""

    card: str
    text: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Confusable:
    """A muscle easily confused with this one, and the cue that tells them apart on one card."""

    muscle: str
    card: str
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
    clue: str | None = None


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
    plural: bool = False
    description: str | None = None
    origin: Attachment | None = None
    insertion: Attachment | None = None
    actions: tuple[Action, ...] = ()
    innervation: tuple[Innervation, ...] = ()
    blood_supply: str | None = None
    clue: str | None = None
    clinical: tuple[Clinical, ...] = ()
    confusable: tuple[Confusable, ...] = ()
    notes: tuple[Note, ...] = ()
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

    def reverse_question(self, part: Part | None) -> object:
        """What the reverse card of the muscle (or a part) asks from: its clue, else the first
        landmarks of its origin and insertion; None if it lacks either."""
        origin = self.origin or (part.origin if part else None)
        insertion = self.insertion or (part.insertion if part else None)
        if not (origin and insertion):
            return None
        clue = part.clue if part else self.clue
        return clue or (origin.sites[:3], insertion.sites[:3])

    def own_cards(self) -> list[OwnCard]:
        """The muscle's own cards, in order: origin, insertion, actions (a card a joint),
        innervation, blood supply, each clinical fact, reverse. Where the muscle's parts differ,
        a card per part; parts with the same answer share one card (the first one's)."""
        cards = [OwnCard(kind, parts, None, value) for kind in ("origin", "insertion")
                 for parts, value in self._alike(kind)]
        joints: dict[tuple[str, tuple[Action, ...]], list[Part]] = {}
        for part, actions in self.units("actions"):
            for joint in dict.fromkeys(a.joint for a in actions):  # type: ignore[attr-defined]
                at_joint = tuple(a for a in actions if a.joint == joint)  # type: ignore[attr-defined]
                joints.setdefault((joint, at_joint), []).extend([part] if part else [])
        cards += [OwnCard("actions", tuple(parts), joint, actions) for (joint, actions), parts in joints.items()]
        cards += [OwnCard(kind, parts, None, value) for kind, fact in (("innervation", "innervation"),
                                                                       ("blood-supply", "blood_supply"))
                  for parts, value in self._alike(fact)]
        cards += [OwnCard("clinical", (), c.id, c) for c in self.clinical]
        asked: dict[object, list[Part]] = {}
        for part in self.parts if not (self.origin and self.insertion) else [None]:
            question = self.reverse_question(part)
            if question is not None:
                asked.setdefault(question, []).extend([part] if part else [])
        cards += [OwnCard("reverse", tuple(parts), None, question) for question, parts in asked.items()]
        return cards

    def _alike(self, fact: str) -> list[tuple[tuple[Part, ...], object]]:
        """A fact's value for the muscle (no parts), or its values with the parts that have each."""
        alike: dict[object, list[Part]] = {}
        for part, value in self.units(fact):
            alike.setdefault(value, []).extend([part] if part else [])
        return [(tuple(parts), value) for value, parts in alike.items()]

    def names_itself(self, parts: tuple[Part, ...]) -> bool:
        """Whether the parts' names already name the muscle ('iliocostalis lumborum'), so that they
        read alone rather than as 'the lumborum part of the iliocostalis'."""
        base = self.name.split(" (")[0].lower().rstrip("s")
        return bool(parts) and all(base in p.name.lower() for p in parts)

    def card_refs(self) -> list[str]:
        """The references of the muscle's own cards, as notes and cues name them: 'origin',
        'actions/hip', 'clinical/<id>', a part's prefixed by its id ('long-head/origin')."""
        return [card.ref for card in self.own_cards()]

    def actions_of(self, part: Part | None) -> tuple[Action, ...]:
        """What one part does (its own actions, else the muscle's), or with no part, what the
        whole muscle does: its own actions and those of its parts."""
        if part is None:
            return self.all_actions()
        return part.actions or self.actions

    def all_actions(self) -> tuple[Action, ...]:
        """Every action of the muscle and of its parts."""
        return self.actions + tuple(a for p in self.parts for a in p.actions)

    def nerves(self) -> tuple[str, ...]:
        """Ids of every nerve that supplies the muscle or one of its parts."""
        found = [i.nerve for i in self.innervation]
        found += [i.nerve for p in self.parts for i in p.innervation]
        return tuple(dict.fromkeys(found))


class OwnCard(NamedTuple):
    """One of a muscle's own cards: its kind, the parts it asks about (none: the whole muscle,
    or all its parts alike) and what it answers with."""

    kind: str
    parts: tuple[Part, ...]
    extra: str | None  # the joint of an action card, the id of a clinical one
    value: object

    @property
    def ref(self) -> str:
        """How a fact file names the card: the first part's, where parts share it."""
        return card_ref(self.parts[0] if self.parts else None, self.kind, self.extra)


def nerve_chain(nerve_id: str, nerves: dict[str, Nerve]) -> list[str]:
    """A nerve and the nerves it is part of, outermost first: ['sciatic', 'sciatic-tibial-division']."""
    chain = [nerve_id]
    while (parent := nerves[chain[0]].part_of) and parent not in chain:
        chain.insert(0, parent)
    return chain


def nerves_injured_with(nerve_id: str, nerves: dict[str, Nerve]) -> set[str]:
    """The nerves whose injury takes this one out: the nerves it is part of, and those it
    continues (with theirs): for the tibial nerve, the sciatic nerve and its tibial division."""
    found: set[str] = set()
    todo = [nerve_id]
    while todo:
        nerve = nerves[todo.pop()]
        if nerve.id not in found:
            found.add(nerve.id)
            todo += [n for n in (nerve.part_of, nerve.continues) if n]
    return found


def card_ref(part: Part | None, kind: str, extra: str | None = None) -> str:
    """How a fact file names one of its muscle's cards: '[part/]kind[/extra]'."""
    return (f"{part.id}/" if part else "") + kind + (f"/{extra}" if extra else "")


@dataclass(frozen=True)
class Nerve:
    """A nerve of the registry and the spinal segments whose fibres it carries."""

    id: str
    name: str
    roots: tuple[str, ...] = ()
    cranial: bool = False
    part_of: str | None = None
    continues: str | None = None


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
class Lesion:
    """The movements an injury of a nerve clearly weakens or abolishes."""

    nerve: str
    weakened: tuple[tuple[str, str], ...]  # (joint, movement)
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Condition:
    """A clinical fact about a nerve or several muscles (a reflex, a palsy, a sign), as a
    question and its short answer."""

    id: str
    question: str
    answer: str
    nerves: tuple[str, ...]
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
    lesions: dict[str, Lesion] = field(default_factory=dict)
    clinical: dict[str, Condition] = field(default_factory=dict)


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


@dataclass(frozen=True)
class Plan:
    """A card to render: its note key, its kind's template and context, and its bookkeeping."""

    key: str
    kind: str
    context: dict[str, Any]
    muscles: tuple[Muscle, ...]
    sources: tuple[str, ...]
    tags: tuple[str, ...]
    deck: str  # a region id, or "" for the top deck
    where: str = ""


def nerve_path(nerve_id: str, reg: Registry) -> str:
    """'sciatic::sciatic-tibial-division': a nerve under the nerves it is part of, as tags show it."""
    return "::".join(nerve_chain(nerve_id, reg.nerves))


@dataclass(frozen=True)
class Card:
    """One Anki note: what it asks, what it answers, and where it comes from."""

    key: str
    kind: str
    front: str
    back: str
    sources: str
    muscle_names: str
    muscles: tuple[str, ...]
    tags: tuple[str, ...]
    deck: str  # a region id, or "" for the top deck
