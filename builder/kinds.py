"""Card kinds, each declared once: what it asks, from which facts, its key and its template.

A kind is one `Kind` in KINDS: its name (the note's Kind field, `--card`), what it asks (shown by
`muscle-deck kinds`), and the function that makes its drafts from the facts, each with its note
key and its answer as data. Its question is worded by the template templates/cards/<name>.txt.
Adding a kind is that template plus its entry in KINDS (then `muscle-deck lock`).

A note's key names what the card asks (the muscle and part, the nerve, the movement at a joint,
the landmark, the space, the group a list is declared to be split by), never how long its
answer is or in which order parts are written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from . import relations
from .model import (
    ACROSS,
    TAG,
    Action,
    Boundary,
    Cue,
    Facts,
    Formed,
    Innervation,
    Item,
    Muscle,
    Part,
    Passage,
    Registry,
    Space,
    nerve_chain,
    nerve_path,
)
from .relations import MAX_ITEMS, Member, Mention


@dataclass(frozen=True)
class Draft:
    """A card before its question is worded: its key, its question template's context, and the
    card's data."""

    key: str
    context: dict[str, Any]
    subject: str  # the words of the question to set in bold
    answer: tuple[Item, ...]
    muscles: tuple[Muscle, ...]
    sources: tuple[str, ...]  # source ids
    tags: tuple[str, ...]
    where: str
    own: bool = False
    ref: str = ""  # for a muscle's own card: how its fact file names it ('long-head/origin')
    noun: str = ""
    hint: str = ""
    cues: tuple[Cue, ...] = ()
    notes: tuple[str, ...] = ()
    core: bool = True
    pictures: tuple[str, ...] = ()  # the muscle's image views its back shows ('attachments')
    front: str = ""  # the muscle's image view its front shows ('location')
    deck: str | None = None  # None: the region of its muscles


@dataclass(frozen=True)
class Kind:
    """A card kind: its name, what it asks, and the drafts it makes: from each muscle's facts
    (a muscle's own cards), from the facts across muscles, or both."""

    name: str
    asks: str
    each_muscle: Callable[[Muscle, Facts], Iterable[Draft]] | None = None
    across_muscles: Callable[[Facts], Iterable[Draft]] | None = None

    def drafts(self, facts: Facts) -> Iterator[Draft]:
        """Every draft of this kind: each muscle's, then those across muscles."""
        if self.each_muscle:
            for muscle in facts.muscles:
                yield from self.each_muscle(muscle, facts)
        if self.across_muscles:
            yield from self.across_muscles(facts)


# --- a muscle's own cards ----------------------------------------------------------------------

def where(region: str, group: str | None, reg: Registry) -> str:
    """'Lower limb › Gluteal region': the context line above a muscle's question."""
    r = reg.regions[region]
    return r.name + (f" › {r.groups[group]}" if group else "")


def part_key(parts: tuple[Part, ...]) -> str:
    """The part a card shared by several parts is keyed by: the first of their ids in sorted
    order, so that reordering parts never changes a note's identity."""
    return min(p.id for p in parts)


@dataclass(frozen=True)
class Own:
    """One of a muscle's own cards: the parts it asks about (none: the whole muscle, or all its
    parts alike), what distinguishes it ('hip' for an action card), and what it answers with."""

    muscle: Muscle
    parts: tuple[Part, ...]
    extra: str | None
    value: Any

    @property
    def whole(self) -> bool:
        return len(self.parts) == len(self.muscle.parts)


def alike(muscle: Muscle, fact: str) -> list[Own]:
    """A fact's value for the muscle (no parts), or its values with the parts that have each."""
    found: dict[object, list[Part]] = {}
    for part, value in muscle.units(fact):
        found.setdefault(value, []).extend([part] if part else [])
    return [Own(muscle, tuple(parts), None, value) for value, parts in found.items()]


def own_draft(facts: Facts, kind: str, own: Own, answer: tuple[Item, ...], context: dict[str, Any] | None = None,
              sources: tuple[str, ...] = (), **extra: Any) -> Draft:
    """A muscle's own card: its key, the notes and cues its fact file gives this card, its tags."""
    muscle, reg = own.muscle, facts.registry
    ref = card_ref(own, kind)
    key = muscle.identity + (f":{part_key(own.parts)}" if own.parts else "") + f"/{kind}" + \
        (f"/{own.extra}" if own.extra else "")
    notes = [n for n in muscle.notes if n.card == ref]
    cues = tuple(Cue(facts.muscle(c.muscle).name, c.cue) for c in muscle.confusable if c.card == ref)
    phrase, bold = subject(muscle, () if own.whole else own.parts)
    tags = (f"{TAG}::card::{kind}", f"{TAG}::muscle::{muscle.id}",
            f"{TAG}::region::{muscle.region}" + (f"::{muscle.group}" if muscle.group else ""),
            *(f"{TAG}::nerve::{nerve_path(n, reg)}" for n in muscle.nerves()))
    return Draft(key, {"subject": phrase, "plural": muscle.plural, **(context or {})}, bold, answer, (muscle,),
                 (sources or muscle.sources) + tuple(s for n in notes for s in n.sources), tags,
                 where(muscle.region, muscle.group, reg), own=True, ref=ref, cues=cues,
                 notes=tuple(n.text for n in notes), **extra)


def card_ref(own: Own, kind: str) -> str:
    """How a fact file names one of its muscle's cards: '[part/]kind[/extra]' (a card shared by
    parts is named by the first of their ids in sorted order)."""
    part = f"{part_key(own.parts)}/" if own.parts else ""
    return part + kind + (f"/{own.extra}" if own.extra else "")


def subject(muscle: Muscle, parts: tuple[Part, ...]) -> tuple[str, str]:
    """'the long head of the biceps femoris' and the words of it to set in bold ('biceps
    femoris'); a part whose name names its muscle reads alone ('the iliocostalis lumborum')."""
    names = " and ".join(p.name for p in parts)
    if parts and muscle.names_itself(parts):
        return f"the {names}", names
    name = lower_first(muscle.name)
    return (f"the {names} of " if parts else "") + f"the {name}", name


def lower_first(text: str) -> str:
    """'Gluteus medius' → 'gluteus medius', for a name in the middle of a sentence ('CN XI' stays)."""
    return text[:1].lower() + text[1:] if len(text) < 2 or text[1:2].islower() else text


def upper_first(text: str) -> str:
    """'forced expiration' → 'Forced expiration' (the rest as it is)."""
    return text[:1].upper() + text[1:]


def attachments(muscle: Muscle, facts: Facts, kind: str) -> Iterator[Draft]:
    for own in alike(muscle, kind):
        yield own_draft(facts, kind, own, (Item(own.value.text),), pictures=("attachment",))


def origin(muscle: Muscle, facts: Facts) -> Iterator[Draft]:
    return attachments(muscle, facts, "origin")


def insertion(muscle: Muscle, facts: Facts) -> Iterator[Draft]:
    return attachments(muscle, facts, "insertion")


def actions(muscle: Muscle, facts: Facts) -> Iterator[Draft]:
    """A card per joint; parts that act alike at a joint share it."""
    reg = facts.registry
    joints: dict[tuple[str, tuple[Action, ...]], list[Part]] = {}
    for part, acts in muscle.units("actions"):
        for joint in dict.fromkeys(a.joint for a in acts):  # type: ignore[attr-defined]
            at_joint = tuple(a for a in acts if a.joint == joint)  # type: ignore[attr-defined]
            joints.setdefault((joint, at_joint), []).extend([part] if part else [])
    for (joint, acts), parts in joints.items():
        answer = tuple(Item(upper_first(reg.movements[a.movement]), qualifier=a.qualifier or "",
                            detail=a.detail or "", label="prime mover" if a.prime else "") for a in acts)
        yield own_draft(facts, "actions", Own(muscle, tuple(parts), joint, acts), answer,
                        {"joint": reg.joints[joint].name}, noun="actions")


def innervation(muscle: Muscle, facts: Facts) -> Iterator[Draft]:
    reg = facts.registry
    for own in alike(muscle, "innervation"):
        supply: tuple[Innervation, ...] = own.value
        answer = tuple(Item(reg.nerves[i.nerve].name, detail=i.note or "", roots=root_runs(i.roots, i.main_roots))
                       for i in supply)
        marking = tuple(dict.fromkeys(s for i in supply for s in i.main_from))
        yield own_draft(facts, "innervation", own, answer,
                        {"cranial": all(reg.nerves[i.nerve].cranial for i in supply)}, noun="nerves",
                        sources=tuple(dict.fromkeys(muscle.sources + marking)), hint=main_hint(marking, reg))


MAIN_REFERENCE = "moore-coa-8"  # CONTENT.md: where references disagree, the deck follows Moore


def main_hint(marking: tuple[str, ...], reg: Registry) -> str:
    """What the marked root levels are, naming the references that mark them when Moore, the
    deck's main reference, is not one of them."""
    if not marking:
        return ""
    if MAIN_REFERENCE in marking:
        return "Marked: the main segments."
    return f"Marked: the main segments, as {' and '.join(reg.sources[s].short for s in marking)} " + \
        ("give them." if len(marking) > 1 else "gives them.")


SEGMENTS = [f"C{i}" for i in range(1, 9)] + [f"T{i}" for i in range(1, 13)] + [f"L{i}" for i in range(1, 6)] + \
    [f"S{i}" for i in range(1, 6)] + ["Co1"]


def root_runs(roots: tuple[str, ...], main: tuple[str, ...]) -> tuple[tuple[str, bool], ...]:
    """Root levels as a card shows them: three or more consecutive levels alike in being main
    or not as a range ('C5–T1'), others one by one; each with whether it is main."""
    ordered = sorted(roots, key=SEGMENTS.index)
    runs: list[list[str]] = []
    for root in ordered:
        last = runs[-1][-1] if runs else None
        if last and SEGMENTS.index(root) == SEGMENTS.index(last) + 1 and (root in main) == (last in main):
            runs[-1].append(root)
        else:
            runs.append([root])
    shown: list[tuple[str, bool]] = []
    for run in runs:
        if len(run) >= 3:
            shown.append((f"{run[0]}–{run[-1]}", run[0] in main))
        else:
            shown += [(r, r in main) for r in run]
    return tuple(shown)


def blood_supply(muscle: Muscle, facts: Facts) -> Iterator[Draft]:
    for own in alike(muscle, "blood_supply"):
        yield own_draft(facts, "blood-supply", own, (Item(own.value),), core=False)


def textbook(source_ids: Iterable[str], reg: Registry) -> bool:
    """Whether a fact is cited to a textbook or an atlas (a standard course's clinical boxes)."""
    return any(reg.sources[s].kind in ("textbook", "atlas") for s in source_ids)


def clinical(muscle: Muscle, facts: Facts) -> Iterator[Draft]:
    """A muscle's clinical facts, each its own card."""
    for fact in muscle.clinical:
        yield own_draft(facts, "clinical", Own(muscle, (), fact.id, fact), (Item(fact.answer),),
                        {"question": fact.question}, sources=fact.sources, core=textbook(fact.sources, facts.registry))


def conditions(facts: Facts) -> Iterator[Draft]:
    """The registry's clinical facts: about the muscles they name and those their nerves supply."""
    reg = facts.registry
    found = relations.supplied(facts)
    for fact_id, fact in sorted(reg.clinical.items()):
        chosen = relations.members([Mention(facts.muscle(m), None) for m in fact.muscles]
                                   + [Mention(m.muscle, None) for n in fact.nerves for m in found.get(n, [])])
        regions = {m.muscle.region for m in chosen}
        place = "Clinical" + (f" › {reg.regions[next(iter(regions))].name}" if len(regions) == 1 else "")
        yield across(facts, "clinical", f"clinical:{fact_id}", "", chosen, (Item(fact.answer),), place,
                     {"question": fact.question}, "", fact.sources,
                     tags=[f"{TAG}::nerve::{nerve_path(n, reg)}" for n in fact.nerves],
                     core=textbook(fact.sources, reg))


def reverse(muscle: Muscle, facts: Facts) -> Iterator[Draft]:
    """Name the muscle (or part) from its clue, else from its landmarks; parts asked the same
    question share one card, which then asks for the muscle."""
    reg = facts.registry
    asked: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[Part]] = {}
    for part in muscle.parts if not (muscle.origin and muscle.insertion) else [None]:
        question = reverse_question(muscle, part)
        if question is not None:
            asked.setdefault(question, []).extend([part] if part else [])
    for (clue, origin_sites, insertion_sites), parts in asked.items():
        own = Own(muscle, tuple(parts), None, clue)
        by_part = len(parts) == 1 and not own.whole
        if by_part and muscle.names_itself(own.parts):
            answer = Item(upper_first(parts[0].name))
        else:
            answer = Item(muscle.name, part=parts[0].name if by_part else "",
                          qualifier=("also " + ", ".join(muscle.aliases)) if muscle.aliases else "")
        yield own_draft(facts, "reverse", own, (answer,), {
            "clue": clue, "by_part": by_part, "origin": [reg.landmarks[s] for s in origin_sites],
            "insertion": [reg.landmarks[s] for s in insertion_sites]}, pictures=("attachment",))


def reverse_question(muscle: Muscle, part: Part | None) -> tuple[str, tuple[str, ...], tuple[str, ...]] | None:
    """What the reverse card of the muscle (or a part) asks from: its clue, else the first
    landmarks of its origin and insertion; None if it lacks either."""
    origin_ = muscle.origin or (part.origin if part else None)
    insertion_ = muscle.insertion or (part.insertion if part else None)
    if not (origin_ and insertion_):
        return None
    clue = part.clue if part else muscle.clue
    if clue:
        return clue, (), ()
    return "", origin_.sites[:3], insertion_.sites[:3]


def location(muscle: Muscle, facts: Facts) -> Iterator[Draft]:
    """Which muscle is shown in red: the card exists where the muscle has a location view."""
    if "location" not in facts.pictures.get(muscle.id, {}):
        return
    answer = Item(muscle.name, detail=where(muscle.region, muscle.group, facts.registry))
    yield own_draft(facts, "location", Own(muscle, (), None, None), (answer,), front="location",
                    hint=muscle.description or "")


def form(muscle: Muscle, facts: Facts) -> Iterator[Draft]:
    if muscle.form:
        f = muscle.form
        text = "; ".join(filter(None, (f.shape, f.fibres and f"{f.fibres} fibres")))
        yield own_draft(facts, "form", Own(muscle, (), None, f), (Item(upper_first(text)),), sources=f.sources,
                        core=False)


PASSING = {  # relation → how the question says it (for one structure; the template makes it plural)
    "pierces": "pierces", "between-heads": "passes between the two heads of", "through": "passes through",
    "within": "lies within", "crosses": "crosses", "lies-on": "lies on", "emerges-above": "emerges above",
    "emerges-below": "emerges below",
}


def passes(muscle: Muscle, facts: Facts) -> Iterator[Draft]:
    """Structures that pierce a muscle or pass between, through or on it: a card a question
    ('Which nerves pierce the coracobrachialis?'), keyed by the relation and the kind of
    structure, so that adding a structure changes the card's answer, not its identity."""
    asked: dict[tuple[str, str, str], list[Passage]] = {}
    for passage in muscle.passes:
        asked.setdefault((passage.relation, passage.kind, passage.detail or ""), []).append(passage)
    for (relation, kind, detail), found in asked.items():
        extra = "-".join(filter(None, (relation, kind, slug(detail))))  # a key names no free text
        context = {"kind": kind, "relation": relation, "verb": PASSING.get(relation, relation.replace("-", " ")),
                   "detail": detail, "many": len(found) > 1}
        if relation == "tendon-under":
            context["detail"] = facts.registry.landmarks.get(detail, detail)
            answer: tuple[Item, ...] = (Item(muscle.name),)
        else:
            answer = tuple(Item(upper_first(p.structure)) for p in found)
        yield own_draft(facts, "passes", Own(muscle, (), extra, found), answer, context,
                        sources=tuple(s for p in found for s in p.sources), noun="structures")


def forms(facts: Facts) -> Iterator[Draft]:
    """A ligament, aponeurosis or tendon that is a muscle's own: which muscles form it (the
    conjoint tendon: internal oblique and transversus abdominis), keyed by the structure."""
    found: dict[str, list[tuple[Muscle, Formed]]] = {}
    for muscle in facts.muscles:
        for formed in muscle.forms:
            found.setdefault(slug(formed.structure), []).append((muscle, formed))
    for structure, pairs in sorted(found.items()):
        answer = tuple(Item(m.name, detail=f.detail or "") for m, f in pairs)
        draft = across(facts, "forms", f"structure:{structure}", "", [Member(m) for m, _ in pairs], answer,
                       "Muscles in place", {"structure": pairs[0][1].structure, "many": len(pairs) > 1},
                       pairs[0][1].structure, tuple(s for _, f in pairs for s in f.sources), noun="muscles")
        yield draft


def slug(text: str) -> str:
    """'Inguinal ligament' → 'inguinal-ligament'."""
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


# --- cards across muscles ----------------------------------------------------------------------

def across(facts: Facts, kind: str, base: str, suffix: str, chosen: Iterable[Member], answer: tuple[Item, ...],
           place: str, context: dict[str, Any], bold: str, sources: tuple[str, ...] = (), tags: Iterable[str] = (),
           noun: str = "", **extra: Any) -> Draft:
    """A card across muscles: keyed by what it asks (`base`, and the declared `suffix`), filed
    under its muscles' region, or under 'across' when they span regions."""
    muscles = tuple(dict.fromkeys(m.muscle for m in chosen))
    regions = sorted({m.region for m in muscles})
    key = f"{base}/{kind}" + (f"/{suffix}" if suffix else "")
    return Draft(key, context, bold, answer, muscles, sources or tuple(s for m in muscles for s in m.sources),
                 (f"{TAG}::card::{kind}", *(f"{TAG}::region::{r}" for r in regions), *tags), place,
                 noun=noun, deck=regions[0] if len(regions) == 1 else ACROSS, **extra)


def nerve_muscles(facts: Facts) -> Iterator[Draft]:
    """Which muscles a nerve supplies. Nerves that supply exactly the same muscles are asked
    once: by the branch where one is a branch of another (the mandibular, not the trigeminal
    nerve), else together on the card of the first of them."""
    reg = facts.registry
    found = {n: m for n, m in sorted(relations.supplied(facts).items())
             if not all(names_nerve(x.muscle, reg.nerves[n].name) for x in m)}  # 'nerve to stapedius': nothing to ask
    alike: dict[tuple[str, ...], list[str]] = {}
    for nerve_id, chosen in found.items():
        alike.setdefault(tuple(m.item().text + m.item().part for m in chosen), []).append(nerve_id)
    for nerve_ids in alike.values():
        wider = {w for n in nerve_ids for w in nerve_chain(n, reg.nerves)[:-1]}
        asked = [n for n in nerve_ids if n not in wider]
        yield from _nerve_cards(facts, asked, found[asked[0]])


def _nerve_cards(facts: Facts, nerve_ids: list[str], found: list[Member]) -> Iterator[Draft]:
    reg = facts.registry
    nerve_id, names = nerve_ids[0], [lower_first(reg.nerves[n].name) for n in nerve_ids]
    said = names[0] if len(names) == 1 else ", ".join(names[:-1]).replace(" nerve,", ",") + " and " + names[-1]
    plural = len(names) > 1 or any(w in names[0] for w in ("branches", "rami", "nerves"))
    branches = any(n.part_of == nerve_id or n.continues == nerve_id for n in reg.nerves.values())
    for listing in relations.listings(f"nerve:{nerve_id}", found, facts):
        answer, bold, noun = listing.answer, said, "muscles"
        if len(answer) < len(listing.members):  # whole groups said as such: the count would mislead
            noun = ""
        if listing.whole_group:  # listing the group would say nothing new: ask which nerve supplies all of it
            direct = all(i.nerve == nerve_id for m in listing.members for _, s in m.muscle.units("innervation")
                         for i in s)  # type: ignore[attr-defined]
            answer = (Item(upper_first(said), detail="" if direct else f"through {'their' if plural else 'its'} "
                                                                        "branches"),)
            bold, noun = listing.group, ""
        yield across(facts, "nerve-muscles", f"nerve:{nerve_id}", listing.suffix, listing.members, answer,
                     "Nerve supply" + (f" › {listing.group}" if listing.group else ""),
                     {"nerve": said, "group": listing.group, "branches": branches, "plural": plural,
                      "whole_group": listing.whole_group}, bold,
                     tags=[f"{TAG}::nerve::{nerve_path(n, reg)}" for n in nerve_ids], noun=noun)


def names_nerve(muscle: Muscle, nerve: str) -> bool:
    """Whether a nerve's name names the muscle ('nerve to stapedius', 'masseteric nerve')."""
    return muscle.name.split(" (")[0].lower() in nerve.lower()


NOT_ASKED = {"stabilization", "support"}  # not a motion to recall a list of muscles for
NOT_ASKED_AT = {"fascia"}  # fascia and skin: tension


def action_muscles(facts: Facts) -> Iterator[Draft]:
    reg = facts.registry
    mentions: dict[tuple[str, str], list[Mention]] = {}
    for muscle in facts.muscles:
        for part, acts in muscle.units("actions"):
            for a in acts:  # type: ignore[attr-defined]
                if a.movement not in NOT_ASKED and a.joint not in NOT_ASKED_AT:
                    mentions.setdefault((a.joint, a.movement), []).append(
                        Mention(muscle, part, a.qualifier or "", a.prime))
    for (joint, movement), found in sorted(mentions.items()):
        chosen = relations.members(found)
        for listing in relations.listings(f"action:{joint}:{movement}", chosen, facts):
            yield across(facts, "action-muscles", f"action:{joint}:{movement}", listing.suffix, listing.members,
                         listing.answer, "Movements" + (f" › {listing.group}" if listing.group else ""),
                         {"joint": reg.joints[joint].name, "movement": reg.movements[movement],
                          "group": listing.group, "prime_only": listing.prime_only},
                         reg.movements[movement], noun="muscles",
                         hint="Other muscles assist; only the prime movers are asked." if listing.prime_only else "")


def lesion(facts: Facts) -> Iterator[Draft]:
    reg = facts.registry
    found = relations.supplied(facts)
    for nerve_id, injury in sorted(reg.lesions.items()):
        answer = tuple(Item(f"{reg.joints[joint].name}: {reg.movements[movement]}")
                       for joint, movement in injury.weakened)
        nerve = lower_first(reg.nerves[nerve_id].name)
        yield across(facts, "lesion", f"nerve:{nerve_id}", "", found.get(nerve_id, []), answer, "Nerve injury",
                     {"nerve": nerve}, nerve, injury.sources, [f"{TAG}::nerve::{nerve_path(nerve_id, reg)}"],
                     noun="movements")


def attachment_muscles(facts: Facts) -> Iterator[Draft]:
    """Which muscles arise from (insert on) a landmark or any of its parts. One muscle is the
    reverse card's question; an identical list is asked once: by the landmark that contains the
    others, the origin before the insertion."""
    reg = facts.registry
    asked: set[tuple[str, ...]] = set()
    for fact, verb in (("origin", "arise from"), ("insertion", "insert on")):
        found = relations.attached(facts, fact)
        for landmark, chosen in sorted(found.items(), key=lambda kv: (depth(kv[0], reg.landmark_parents), kv[0])):
            names = tuple(m.muscle.id + ":" + ",".join(p.id for p in m.parts) for m in chosen)
            listings = () if len(chosen) < 2 or names in asked else \
                tuple(relations.listings(f"landmark:{landmark}:{fact}", chosen, facts))
            if listings:  # a list declared not asked leaves an identical one of its parts to be asked
                asked.add(names)
            for listing in listings:
                yield across(facts, "attachment-muscles", f"landmark:{landmark}:{fact}", listing.suffix,
                             listing.members,
                             listing.answer, "Attachments", {"landmark": reg.landmarks[landmark], "verb": verb,
                                                             "group": listing.group},
                             reg.landmarks[landmark], noun="muscles", core=False)


def depth(landmark: str, parents: dict[str, str]) -> int:
    """How many landmarks a landmark is part of (the wholest landmarks are asked first)."""
    return len(relations.with_wholes(landmark, parents)) - 1


def myotome(facts: Facts) -> Iterator[Draft]:
    reg = facts.registry
    for root, m in sorted(reg.myotomes.items(), key=lambda kv: SEGMENTS.index(kv[0])):
        chosen = [Member(facts.muscle(i)) for i in m.muscles]
        keys = ", ".join(lower_first(c.muscle.name) for c in chosen)
        yield across(facts, "myotome", f"root:{root}", "", chosen,
                     (Item(f"{reg.joints[m.joint].name}: {reg.movements[m.movement]}"),), "Myotomes",
                     {"root": root}, root, m.sources, [f"{TAG}::root::{root}"],
                     hint=f"Key {'muscles' if len(chosen) > 1 else 'muscle'}: {keys}")


# --- spaces ------------------------------------------------------------------------------------

SIDES = {"floor": "the floor", "roof": "the roof", "apex": "the apex", "base": "the base",
         "formed-by": "", "between": "", "in-front": "", "behind": ""}


def side_name(side: str) -> str:
    """'lateral' → 'the lateral boundary', 'anterior-wall' → 'the anterior wall'."""
    if side in SIDES:
        return SIDES[side]
    if side.endswith("-wall") or side.endswith("-ring"):
        return "the " + side.replace("-", " ")
    return f"the {side} boundary"


def space_draft(facts: Facts, space: Space, kind: str, suffix: str, answer: tuple[Item, ...],
                context: dict[str, Any], bold: str, noun: str = "", card: str = "") -> Draft:
    """A card about a space; its note goes on the one card it qualifies (`card`: 'contents',
    'name' or a side)."""
    reg = facts.registry
    muscles = tuple(dict.fromkeys(facts.muscle(m) for b in space.boundaries for m in b.muscles))
    key = f"space:{space.id}/{kind}" + (f"/{suffix}" if suffix else "")
    noted = bool(space.note) and space.note_on == card
    tags = (f"{TAG}::card::{kind}", f"{TAG}::region::{space.region}", f"{TAG}::space::{space.id}")
    return Draft(key, {"space": space.name, "space_kind": space.kind, **context}, bold, answer, muscles,
                 space.sources + (space.note_sources if noted else ()), tags,
                 f"{reg.regions[space.region].name} › Spaces", noun=noun,
                 notes=(space.note,) if noted and space.note else (), deck=space.region)


def space_boundaries(facts: Facts) -> Iterator[Draft]:
    """What forms one side of a space: a card for each side that a muscle helps to form (a side
    given in several pieces, such as the popliteal fossa's above and below, is one card)."""
    reg = facts.registry
    for space in reg.spaces.values():
        sides: dict[str, list[Item]] = {}
        for b in space.boundaries:
            pieces = [Item(facts.muscle(m).name) for m in b.muscles]
            pieces += [Item(upper_first(reg.landmarks[x])) for x in b.landmarks]
            sides.setdefault(b.side, []).extend(pieces)
        for side, answer in sides.items():
            if any(b.muscles for b in space.boundaries if b.side == side):
                yield space_draft(facts, space, "space-boundaries", side, tuple(dict.fromkeys(answer)),
                                  {"side": side_name(side), "side_id": side}, space.name, noun="structures",
                                  card=side)


def space_from_boundaries(facts: Facts) -> Iterator[Draft]:
    """Name the space from what bounds it."""
    for space in facts.registry.spaces.values():
        if len(space.boundaries) < 2:
            continue
        sides = [b for b in space.boundaries if b.side not in ("floor", "roof", "apex", "base")][:4]
        said = list(dict.fromkeys(piece for b in sides for piece in pieces(b, facts)))
        if len(said) < 2:
            continue
        yield space_draft(facts, space, "space-name", "", (Item(upper_first(space.name)),),
                          {"bounds": said}, "", card="name")


def pieces(side: Boundary, facts: Facts) -> list[str]:
    """What forms one side, as a question lists it: its wording, or its muscles and landmarks."""
    if side.text:
        return [side.text]
    return [lower_first(facts.muscle(m).name) for m in side.muscles] + \
        [f"the {facts.registry.landmarks[x]}" for x in side.landmarks]


def space_contents(facts: Facts) -> Iterator[Draft]:
    for space in facts.registry.spaces.values():
        if space.contents:
            answer = tuple(Item(upper_first(c.structure), qualifier=c.kind if c.kind in ("nerve", "artery", "vein") and
                                c.kind not in c.structure.lower() else "") for c in space.contents)
            yield space_draft(facts, space, "space-contents", "", answer,
                              {"level": space.level or ""}, space.name, noun="structures", card="contents")


def muscle_spaces(muscle: Muscle, facts: Facts) -> Iterator[Draft]:
    """What a muscle bounds: the spaces it forms a side of."""
    found: dict[str, list[str]] = {}  # space id → the sides the muscle forms (the inguinal canal's roof and wall)
    for space in facts.registry.spaces.values():
        for b in space.boundaries:
            if muscle.id in b.muscles:
                found.setdefault(space.id, []).append(side_name(b.side).removeprefix("the "))
    if sum(map(len, found.values())) >= 2 and len(found) <= MAX_ITEMS:
        spaces = [facts.registry.spaces[s] for s in found]
        answer = tuple(Item(upper_first(s.name), detail=" and ".join(found[s.id])) for s in spaces)
        sources = tuple(dict.fromkeys(x for s in spaces for x in s.sources))
        yield own_draft(facts, "muscle-spaces", Own(muscle, (), None, None), answer, sources=sources, noun="spaces")


KINDS: tuple[Kind, ...] = (
    Kind("origin", "Where a muscle (or one of its parts) arises", origin),
    Kind("insertion", "Where a muscle (or one of its parts) inserts", insertion),
    Kind("actions", "What a muscle does at one joint (one card per joint)", actions),
    Kind("innervation", "The nerve(s) and root levels that supply a muscle", innervation),
    Kind("blood-supply", "The arteries that supply a muscle", blood_supply),
    Kind("form", "A muscle's shape and fibre arrangement", form),
    Kind("passes", "A nerve, vessel, duct or tendon that pierces a muscle or passes between, through or on it",
         passes),
    Kind("forms", "The muscles whose own fibres form a ligament, aponeurosis or tendon", across_muscles=forms),
    Kind("clinical", "One clinical fact: a sign, test, reflex, injury or syndrome", clinical, conditions),
    Kind("location", "Which muscle an image shows in red", location),
    Kind("reverse", "Name the muscle from its origin and insertion", reverse),
    Kind("muscle-spaces", "Which spaces a muscle bounds", muscle_spaces),
    Kind("nerve-muscles", "Which muscles a nerve supplies, directly or through its branches",
         across_muscles=nerve_muscles),
    Kind("action-muscles", "Which muscles produce a movement at a joint (prime movers first)",
         across_muscles=action_muscles),
    Kind("lesion", "Which movements an injury of a nerve weakens", across_muscles=lesion),
    Kind("attachment-muscles", "Which muscles arise from, or insert on, a landmark or any of its parts",
         across_muscles=attachment_muscles),
    Kind("myotome", "The movement that tests a spinal segment, and its key muscles", across_muscles=myotome),
    Kind("space-boundaries", "Which muscles form one side of a space, triangle or canal",
         across_muscles=space_boundaries),
    Kind("space-name", "Name the space, triangle or canal from what bounds it", across_muscles=space_from_boundaries),
    Kind("space-contents", "What passes through a space, canal or opening", across_muscles=space_contents),
)


def card_refs(muscle: Muscle, facts: Facts) -> list[str]:
    """The references of a muscle's own cards, as its notes and cues name them: 'origin',
    'actions/hip', 'clinical/<id>', a part's prefixed by its id ('long-head/origin')."""
    return [d.ref for kind in KINDS if kind.each_muscle for d in kind.each_muscle(muscle, facts)]
