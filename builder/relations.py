"""Cards across muscles, computed from the whole fact graph: nerve → muscles, movement →
muscles, nerve injury → weakened movements, landmark → muscles, myotome → movement, and the
clinical facts about nerves or several muscles.

Each card states the full answer from the whole deck, whatever subset is built, so its content,
GUID and version are the same everywhere; a subset includes it when any of its muscles is
selected. A list answer counts muscles, not heads (a muscle whose parts differ is one item, its
parts named where only some of them are meant), and never asks more than MAX_ITEMS: a movement
falls back to its prime movers, other lists split by group of muscles, and what still does not
fit is left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from .model import TAG, Facts, Muscle, Part, Plan, nerve_chain, nerve_path

MAX_ITEMS = 8
# Movements that are not a motion to recall a list of muscles for, and joints whose movements
# are not (fascia and skin: tension).
NOT_ASKED = {"stabilization", "support"}
NOT_ASKED_AT = {"fascia"}


@dataclass(frozen=True)
class Item:
    """One muscle of a list answer: the parts meant (none: the whole muscle), and how it acts."""

    muscle: Muscle
    parts: tuple[Part, ...] = ()
    qualifier: str = ""
    prime: bool = False

    def context(self) -> dict[str, object]:
        parts = " and ".join(p.name for p in self.parts)
        if self.muscle.names_itself(self.parts):  # 'Iliocostalis lumborum', not 'Iliocostalis, iliocostalis lumborum'
            return {"name": parts[:1].upper() + parts[1:], "part": "", "qualifier": self.qualifier,
                    "prime": self.prime}
        return {"name": self.muscle.name, "part": parts, "qualifier": self.qualifier, "prime": self.prime}


def plans(facts: Facts) -> list[Plan]:
    """Every card across muscles, in a stable order."""
    supplied = _supplied(facts)
    return [*_nerve_plans(facts, supplied), *_action_plans(facts), *_lesion_plans(facts, supplied),
            *_attachment_plans(facts), *_myotome_plans(facts), *_condition_plans(facts, supplied)]


@dataclass(frozen=True)
class _Mention:
    """A muscle or part met while walking the facts, before mentions are merged into items."""

    muscle: Muscle
    part: Part | None
    qualifier: str = ""
    prime: bool = False


def _items(mentions: list[_Mention]) -> list[Item]:
    """One item per muscle, prime movers first, then by name. A muscle meant whole (or in
    every one of its parts) names no part; a qualifier is kept where all agree."""
    by_muscle: dict[str, list[_Mention]] = {}
    for mention in mentions:
        by_muscle.setdefault(mention.muscle.id, []).append(mention)
    items = []
    for group in by_muscle.values():
        muscle = group[0].muscle
        parts = tuple(dict.fromkeys(m.part for m in group if m.part is not None))
        whole = any(m.part is None for m in group) or set(parts) == set(muscle.parts)
        qualifiers = {m.qualifier for m in group}
        items.append(Item(muscle, () if whole else parts, qualifiers.pop() if len(qualifiers) == 1 else "",
                          any(m.prime for m in group)))
    return sorted(items, key=lambda i: (not i.prime, i.muscle.name))


def _supplied(facts: Facts) -> dict[str, list[Item]]:
    """Nerve → the muscles it supplies, directly or through its divisions and branches."""
    mentions: dict[str, list[_Mention]] = {}
    for muscle in facts.muscles:
        for part, supply in muscle.units("innervation"):
            for nerve in dict.fromkeys(n for i in supply for n in nerve_chain(i.nerve, facts.registry.nerves)):  # type: ignore[attr-defined]
                mentions.setdefault(nerve, []).append(_Mention(muscle, part))
    return {nerve: _items(found) for nerve, found in mentions.items()}


def _nerve_plans(facts: Facts, supplied: dict[str, list[Item]]) -> Iterator[Plan]:
    reg = facts.registry
    for nerve_id, items in sorted(supplied.items()):
        for suffix, group, chunk in _fit(items, facts):
            yield _plan(facts, "nerve-muscles", f"nerve:{nerve_id}", suffix, chunk,
                        [f"{TAG}::nerve::{nerve_path(nerve_id, reg)}"], _within("Nerve supply", group),
                        nerve=reg.nerves[nerve_id].name, group=group)


def _action_plans(facts: Facts) -> Iterator[Plan]:
    reg = facts.registry
    mentions: dict[tuple[str, str], list[_Mention]] = {}
    for muscle in facts.muscles:
        for part, actions in muscle.units("actions"):
            for a in actions:  # type: ignore[attr-defined]
                if a.movement not in NOT_ASKED and a.joint not in NOT_ASKED_AT:
                    mentions.setdefault((a.joint, a.movement), []).append(
                        _Mention(muscle, part, a.qualifier or "", a.prime))
    for (joint, movement), found in sorted(mentions.items()):
        items = _items(found)
        base = f"action:{joint}:{movement}"
        context = {"joint": reg.joints[joint].name, "movement": reg.movements[movement]}
        prime = [i for i in items if i.prime]
        if len(items) > MAX_ITEMS and 0 < len(prime) <= MAX_ITEMS:
            yield _plan(facts, "action-muscles", base, "prime", prime, [], "Movements", group="", prime_only=True,
                        **context)
            continue
        for suffix, group, chunk in _fit(items, facts):
            yield _plan(facts, "action-muscles", base, suffix, chunk, [], _within("Movements", group), group=group,
                        prime_only=False, **context)


def _lesion_plans(facts: Facts, supplied: dict[str, list[Item]]) -> Iterator[Plan]:
    reg = facts.registry
    for nerve_id, lesion in sorted(reg.lesions.items()):
        joints: dict[str, list[str]] = {}
        for joint, movement in lesion.weakened:
            joints.setdefault(reg.joints[joint].name, []).append(reg.movements[movement])
        plan = _plan(facts, "lesion", f"nerve:{nerve_id}", "", supplied.get(nerve_id, []),
                     [f"{TAG}::nerve::{nerve_path(nerve_id, reg)}"], "Nerve injury",
                     nerve=reg.nerves[nerve_id].name, joints=joints, weakened=len(lesion.weakened))
        yield replace(plan, sources=lesion.sources)


def _attachment_plans(facts: Facts) -> Iterator[Plan]:
    reg = facts.registry
    for fact, verb in (("origin", "arise from"), ("insertion", "insert on")):
        mentions: dict[str, list[_Mention]] = {}
        for muscle in facts.muscles:
            for part, attachment in muscle.units(fact):
                for site in attachment.sites:  # type: ignore[attr-defined]
                    mentions.setdefault(site, []).append(_Mention(muscle, part))
        for site, found in sorted(mentions.items()):
            items = _items(found)
            if 2 <= len(items) <= MAX_ITEMS:  # one muscle is the reverse card's question; too many cannot be recalled
                yield _plan(facts, "attachment-muscles", f"landmark:{site}:{fact}", "", items, [], "Attachments",
                            landmark=reg.landmarks[site], verb=verb)


def _myotome_plans(facts: Facts) -> Iterator[Plan]:
    reg = facts.registry
    for root, myotome in sorted(reg.myotomes.items()):
        items = [Item(facts.muscle(m)) for m in myotome.muscles]
        plan = _plan(facts, "myotome", f"root:{root}", "", items, [f"{TAG}::root::{root}"], "Myotomes",
                     root=root, joint=reg.joints[myotome.joint].name, movement=reg.movements[myotome.movement])
        yield replace(plan, sources=myotome.sources)


def _condition_plans(facts: Facts, supplied: dict[str, list[Item]]) -> Iterator[Plan]:
    """The registry's clinical facts: about the muscles they name and those their nerves supply."""
    reg = facts.registry
    for fact_id, fact in sorted(reg.clinical.items()):
        items = _items([_Mention(facts.muscle(m), None) for m in fact.muscles]
                       + [_Mention(i.muscle, None) for n in fact.nerves for i in supplied.get(n, [])])
        tags = [f"{TAG}::nerve::{nerve_path(n, reg)}" for n in fact.nerves]
        regions = {i.muscle.region for i in items}
        where = "Clinical" + (f" › {reg.regions[regions.pop()].name}" if len(regions) == 1 else "")
        plan = _plan(facts, "clinical", f"clinical:{fact_id}", "", items, tags, where,
                     question=fact.question, answer=fact.answer)
        yield replace(plan, sources=fact.sources)


def _fit(items: list[Item], facts: Facts) -> Iterator[tuple[str, str, list[Item]]]:
    """The whole list, or the list split by group of muscles when it is too long; a group that
    is still too long is left out. (key suffix, group name, items)"""
    if len(items) <= MAX_ITEMS:
        yield "", "", items
        return
    by_group: dict[tuple[str, str], list[Item]] = {}
    for item in items:
        by_group.setdefault((item.muscle.region, item.muscle.group or ""), []).append(item)
    for (region, group), chunk in sorted(by_group.items()):
        if len(chunk) <= MAX_ITEMS:
            r = facts.registry.regions[region]
            yield f"group:{group or region}", r.groups.get(group, r.name), chunk


def _within(where: str, group: str) -> str:
    return where + (f" › {group}" if group else "")


def _plan(facts: Facts, kind: str, base: str, suffix: str, items: list[Item], tags: list[str], where: str,
          **context: object) -> Plan:
    muscles = tuple(i.muscle for i in items)
    regions = sorted({m.region for m in muscles})
    key = f"{base}/{kind}" + (f"/{suffix}" if suffix else "")
    return Plan(key, kind, {"items": [i.context() for i in items], "count": len(items), **context}, muscles,
                tuple(s for m in muscles for s in m.sources),
                (f"{TAG}::card::{kind}", *(f"{TAG}::region::{r}" for r in regions), *tags),
                regions[0] if len(regions) == 1 else "", where)

