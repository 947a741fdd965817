"""Domain objects: the facts of the deck, read from YAML, and the cards made from them."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

TAG = "muscle-deck"  # the prefix of every tag the deck's notes carry
ACROSS = "across"  # the deck of cards whose muscles span regions (a subdeck of its own)


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
    main_from: tuple[str, ...] = ()  # the references that mark the main roots


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
class Form:
    """A muscle's shape and fibre arrangement, as a reference gives them."""

    shape: str | None
    fibres: str | None
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Passage:
    """A structure that pierces a muscle or passes between, through or on it."""

    structure: str
    kind: str  # nerve, artery, duct, tendon…
    relation: str  # pierces, between-heads, through, within, on-surface, crosses, wraps, lies-on, tendon-under
    detail: str | None
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Formed:
    """A ligament or aponeurosis that is the muscle's own (the inguinal ligament of the external oblique)."""

    structure: str
    detail: str | None
    sources: tuple[str, ...]


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
    rare_aliases: tuple[str, ...] = ()  # searchable, never shown on a card
    form: Form | None = None
    passes: tuple[Passage, ...] = ()
    forms: tuple[Formed, ...] = ()

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

    def names_itself(self, parts: tuple[Part, ...]) -> bool:
        """Whether the parts' names already name the muscle ('iliocostalis lumborum'), so that they
        read alone rather than as 'the lumborum part of the iliocostalis'."""
        base = self.name.split(" (")[0].lower().rstrip("s")
        return bool(parts) and all(base in p.name.lower() for p in parts)

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


def nerve_chain(nerve_id: str, nerves: dict[str, Nerve]) -> list[str]:
    """A nerve and the nerves it is a branch of (part of, or continues from), outermost first:
    ['sciatic', 'sciatic-tibial-division', 'tibial']. One rule for the whole tree: a nerve's
    muscles and tags include those of its branches."""
    chain = [nerve_id]
    while (parent := nerves[chain[0]].part_of or nerves[chain[0]].continues) and parent not in chain:
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
class CardNote:
    """A note on one card across muscles (a nerve's list whose classic answer differs)."""

    text: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Boundary:
    """One side of a space: the muscles and landmarks that form it, as a student says it."""

    side: str
    muscles: tuple[str, ...]
    landmarks: tuple[str, ...]
    text: str | None


@dataclass(frozen=True)
class Content:
    """A structure that passes through a space."""

    structure: str
    kind: str


@dataclass(frozen=True)
class Space:
    """A space, triangle, canal or wall that muscles bound, and what passes through it."""

    id: str
    name: str
    kind: str
    region: str
    boundaries: tuple[Boundary, ...]
    contents: tuple[Content, ...]
    sources: tuple[str, ...]
    part_of: str | None = None
    level: str | None = None
    note: str | None = None
    note_sources: tuple[str, ...] = ()
    note_on: str = "name"  # the card the note qualifies: 'contents', 'name' or a side


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
    landmark_parents: dict[str, str] = field(default_factory=dict)  # landmark → the landmark it is part of
    lists: dict[str, str | tuple[str, ...]] = field(default_factory=dict)  # list → 'prime-movers' or its groups
    card_notes: dict[str, CardNote] = field(default_factory=dict)  # note key → a note on that card
    whole_lists: dict[str, str] = field(default_factory=dict)  # note key → why a course asks its long list whole
    spaces: dict[str, Space] = field(default_factory=dict)

    def landmark_and_parts(self, landmark: str) -> set[str]:
        """A landmark and every landmark that is part of it, at any depth."""
        children: dict[str, list[str]] = {}
        for child, parent in self.landmark_parents.items():
            children.setdefault(parent, []).append(child)
        found, todo = set(), [landmark]
        while todo:
            current = todo.pop()
            if current not in found:
                found.add(current)
                todo += children.get(current, [])
        return found


@dataclass(frozen=True)
class Facts:
    """The whole deck's facts: the registry and every muscle, sorted by id."""

    registry: Registry
    muscles: tuple[Muscle, ...]
    pictures: dict[str, dict[str, Picture]] = field(default_factory=dict, hash=False)  # muscle → view → image

    @cached_property
    def by_id(self) -> dict[str, Muscle]:
        """Muscles by id."""
        return {m.id: m for m in self.muscles}

    def muscle(self, muscle_id: str) -> Muscle:
        """The muscle with this id."""
        return self.by_id[muscle_id]


def nerve_path(nerve_id: str, reg: Registry) -> str:
    """'sciatic::sciatic-tibial-division': a nerve under the nerves it is part of, as tags show it."""
    return "::".join(nerve_chain(nerve_id, reg.nerves))


@dataclass(frozen=True)
class Item:
    """One item of a card's answer: its text and what qualifies it."""

    text: str
    part: str = ""  # the part meant, after the name: 'long head'
    qualifier: str = ""  # shown small, in brackets: 'anterior fibres'
    detail: str = ""  # after a colon: 'strongest with the forearm supine'
    label: str = ""  # a tag after it: 'prime mover'
    roots: tuple[tuple[str, bool], ...] = ()  # root levels as written (a level or a range), and whether main
    group: str = ""  # the heading it is listed under, where a long list is grouped


@dataclass(frozen=True)
class Cue:
    """What tells this card's answer apart from a look-alike muscle's."""

    name: str
    text: str


@dataclass(frozen=True)
class Picture:
    """An image on a card: its media file, what it shows, and its credit line."""

    file: str
    alt: str
    credit: str
    legend: tuple[tuple[str, str], ...] = ()  # (colour class, meaning), given under the image


@dataclass(frozen=True)
class Card:
    """One Anki note as data: what it asks, its answer, and where it comes from. Each output
    (the Anki note, the preview, the study sheet, CSV) renders this record."""

    key: str  # the note's identity: what the card asks, never how its answer is presented
    kind: str
    own: bool  # about one muscle (rather than across muscles)
    where: str  # the context line above the question: 'Lower limb › Gluteal region'
    question: str  # plain text
    subject: str  # the words of the question to set in bold
    answer: tuple[Item, ...]
    noun: str = ""  # what the answer's items are ('muscles'): the question then says how many
    hint: str = ""
    cues: tuple[Cue, ...] = ()
    notes: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()  # short labels, each once
    front_images: tuple[Picture, ...] = ()
    images: tuple[Picture, ...] = ()  # on the back
    muscles: tuple[str, ...] = ()  # ids of the muscles it is about
    names: str = ""  # their names and aliases, for Anki's search
    tags: tuple[str, ...] = ()
    deck: str = ""  # a region id, or "across" for cards across regions
    core: bool = True  # central to a standard course
