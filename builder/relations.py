"""The fact graph across muscles: which muscles a nerve supplies, which produce a movement, which
attach to a landmark, and how a list of them becomes a card's answer.

A list answer counts muscles, not heads (a muscle whose parts differ is one item, its parts
named where only some of them are meant). How a long list is asked is declared, never derived
from its length (the registry's `lists:`): by its prime movers, or one card per named group of
muscles. An undeclared list longer than MAX_ITEMS stays one card whose items are grouped under
their groups' names, so adding a muscle changes a note's content, never its identity.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .model import Facts, Item, Muscle, Part, nerve_chain

MAX_ITEMS = 8
PRIME = "prime-movers"
NOT_ASKED = "not-asked"


@dataclass(frozen=True)
class Member:
    """One muscle of a list answer: the parts meant (none: the whole muscle), and how it acts."""

    muscle: Muscle
    parts: tuple[Part, ...] = ()
    qualifier: str = ""
    prime: bool = False

    def item(self, group: str = "") -> Item:
        """The answer item that names this muscle (and its parts)."""
        parts = " and ".join(p.name for p in self.parts)
        label = "prime mover" if self.prime else ""
        if self.muscle.names_itself(self.parts):  # 'Iliocostalis lumborum', not 'Iliocostalis, iliocostalis lumborum'
            return Item(parts[:1].upper() + parts[1:], qualifier=self.qualifier, label=label, group=group)
        return Item(self.muscle.name, part=parts, qualifier=self.qualifier, label=label, group=group)


@dataclass(frozen=True)
class Mention:
    """A muscle or part met while walking the facts, before mentions are merged into members."""

    muscle: Muscle
    part: Part | None
    qualifier: str = ""
    prime: bool = False


def members(mentions: list[Mention]) -> list[Member]:
    """One member per muscle, prime movers first, then by name. A muscle meant whole (or in
    every one of its parts) names no part; a qualifier is kept where all agree."""
    by_muscle: dict[str, list[Mention]] = {}
    for mention in mentions:
        by_muscle.setdefault(mention.muscle.id, []).append(mention)
    found = []
    for group in by_muscle.values():
        muscle = group[0].muscle
        parts = tuple(sorted(dict.fromkeys(m.part for m in group if m.part is not None), key=muscle.parts.index))
        whole = any(m.part is None for m in group) or set(parts) == set(muscle.parts)
        qualifiers = {m.qualifier for m in group}
        found.append(Member(muscle, () if whole else parts, qualifiers.pop() if len(qualifiers) == 1 else "",
                            any(m.prime for m in group)))
    return sorted(found, key=lambda m: (not m.prime, m.muscle.name))


def supplied(facts: Facts) -> dict[str, list[Member]]:
    """Nerve → the muscles it supplies, directly or through its branches."""
    mentions: dict[str, list[Mention]] = {}
    for muscle in facts.muscles:
        for part, supply in muscle.units("innervation"):
            for nerve in dict.fromkeys(n for i in supply for n in nerve_chain(i.nerve, facts.registry.nerves)):  # type: ignore[attr-defined]
                mentions.setdefault(nerve, []).append(Mention(muscle, part))
    return {nerve: members(found) for nerve, found in mentions.items()}


def attached(facts: Facts, fact: str) -> dict[str, list[Member]]:
    """Landmark → the muscles whose origin (or insertion) names it or one of its parts."""
    reg = facts.registry
    mentions: dict[str, list[Mention]] = {}
    for muscle in facts.muscles:
        for part, attachment in muscle.units(fact):
            for site in attachment.sites:  # type: ignore[attr-defined]
                for landmark in with_wholes(site, reg.landmark_parents):
                    mentions.setdefault(landmark, []).append(Mention(muscle, part))
    return {landmark: members(found) for landmark, found in mentions.items()}


def with_wholes(landmark: str, parents: dict[str, str]) -> list[str]:
    """A landmark and the landmarks it is part of, innermost first."""
    chain = [landmark]
    while (parent := parents.get(chain[-1])) and parent not in chain:
        chain.append(parent)
    return chain


@dataclass(frozen=True)
class Listing:
    """One card's share of a list: its key suffix, the group it asks about, its muscles, its
    answer, and whether they are every muscle of that group."""

    suffix: str
    group: str  # the group's name, where the card asks about one group
    members: tuple[Member, ...]
    answer: tuple[Item, ...]
    prime_only: bool = False
    whole_group: bool = False


def listings(subject: str, found: list[Member], facts: Facts) -> Iterator[Listing]:
    """How the list of `subject` ('nerve:tibial', 'action:hip:flexion') is asked, as declared in
    the registry's `lists:`; undeclared, it is one card, grouped when long."""
    declared = facts.registry.lists.get(subject)
    if declared == NOT_ASKED:
        return
    if declared == PRIME:
        prime = tuple(m for m in found if m.prime)
        if prime:
            yield Listing("prime", "", prime, tuple(m.item() for m in prime), prime_only=True)
        return
    if isinstance(declared, tuple):
        for group in declared:
            chunk = tuple(m for m in found if (m.muscle.group or m.muscle.region) == group)
            if chunk:
                every = {m.id for m in facts.muscles if (m.group or m.region) == group}
                whole = every <= {m.muscle.id for m in chunk if not m.parts}
                yield Listing(f"group:{group}", group_name(chunk[0].muscle, facts), chunk,
                              tuple(m.item() for m in chunk), whole_group=whole)
        return
    groups = {group_name(m.muscle, facts) for m in found}
    if len(found) <= MAX_ITEMS or len(groups) == 1:
        yield Listing("", "", tuple(found), tuple(m.item() for m in found))
        return
    ordered = tuple(sorted(found, key=lambda m: course_position(m.muscle, facts)))
    yield Listing("", "", ordered, grouped(ordered, facts))


def grouped(ordered: tuple[Member, ...], facts: Facts) -> tuple[Item, ...]:
    """A long list's items under their groups' names; a group whose every muscle is listed is
    one item, 'all its muscles', as a course says it ('all the muscles of the sole')."""
    items: list[Item] = []
    for member in ordered:
        group = member.muscle.group or member.muscle.region
        name = group_name(member.muscle, facts)
        every = [m for m in facts.muscles if (m.group or m.region) == group]
        listed = {m.muscle.id for m in ordered if (m.muscle.group or m.muscle.region) == group and not m.parts}
        if len(every) > 1 and {m.id for m in every} <= listed:
            if not items or items[-1].group != name:
                items.append(Item(f"all its {len(every)} muscles", group=name))
        else:
            items.append(member.item(name))
    return tuple(items)


def group_name(muscle: Muscle, facts: Facts) -> str:
    """The name of a muscle's group ('Posterior compartment of leg'), or of its region."""
    region = facts.registry.regions[muscle.region]
    return region.groups.get(muscle.group or "", region.name)


def course_position(muscle: Muscle, facts: Facts) -> tuple[int, int, str]:
    """Where a course meets a muscle: its region, its group as the registry orders them, its name."""
    regions = list(facts.registry.regions)
    groups = list(facts.registry.regions[muscle.region].groups)
    group = groups.index(muscle.group) if muscle.group in groups else len(groups)
    return regions.index(muscle.region), group, muscle.name.lower()
