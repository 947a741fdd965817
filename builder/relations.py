"""Cards across muscles, computed from the whole fact graph: nerve → muscles, action → muscles,
nerve lesion → deficit, attachment → muscles, myotome → key muscles.

Each card states the full answer from the whole deck, whatever subset is built, so its content,
GUID and version are the same everywhere; a subset includes it when any of its muscles is
selected. A list longer than MAX_ITEMS is not asked whole: action lists fall back to the prime
movers or split by group, other lists split by group, and what still does not fit is left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from .model import Facts, Muscle, Part
from .render import TAG, Plan, cited, nerve_path

MAX_ITEMS = 8
# Movements that are not a motion to recall a list of muscles for.
NOT_ASKED = {"stabilization", "tension", "support"}

class Item(NamedTuple):
    """One muscle (or part) in a list answer."""

    muscle: Muscle
    part: Part | None = None
    qualifier: str = ""
    prime: bool = False
    detail: str = ""

    @property
    def sort_key(self) -> tuple[bool, str, str]:
        return (not self.prime, self.muscle.name, self.part.name if self.part else "")

    def context(self) -> dict[str, object]:
        return {"name": self.muscle.name, "part": self.part.name if self.part else "",
                "qualifier": self.qualifier, "prime": self.prime, "detail": self.detail}


def plans(facts: Facts) -> Iterator[Plan]:
    """Every relational card of the deck."""
    supplied = _supplied(facts)
    yield from _nerve_plans(facts, supplied)
    yield from _action_plans(facts)
    yield from _lesion_plans(facts, supplied)
    yield from _attachment_plans(facts)
    yield from _myotome_plans(facts)


def _supplied(facts: Facts) -> dict[str, list[Item]]:
    """Nerve → the muscles it supplies, directly or through its divisions and branches."""
    by_nerve: dict[str, list[Item]] = {}
    chains: dict[str, list[str]] = {}  # nerve → it and the nerves it is part of
    for m in facts.muscles:
        for part, supply in m.units("innervation"):
            for i in supply:  # type: ignore[attr-defined]
                if i.nerve not in chains:
                    chains[i.nerve] = nerve_path(i.nerve, facts.registry).split("::")
                for nerve in chains[i.nerve]:
                    by_nerve.setdefault(nerve, []).append(Item(m, part))
    return {nerve: _merge(items) for nerve, items in by_nerve.items()}


def _nerve_plans(facts: Facts, supplied: dict[str, list[Item]]) -> Iterator[Plan]:
    reg = facts.registry
    for nerve_id, items in sorted(supplied.items()):
        nerve = reg.nerves[nerve_id]
        for suffix, where, chunk in _fit(items, facts):
            yield _plan(facts, "nerve-muscles", f"nerve:{nerve_id}", suffix, chunk,
                        [f"{TAG}::nerve::{nerve_path(nerve_id, reg)}"],
                        nerve=nerve.name, where=where)


def _action_plans(facts: Facts) -> Iterator[Plan]:
    reg = facts.registry
    by_action: dict[tuple[str, str], list[Item]] = {}
    for m in facts.muscles:
        for part, actions in m.units("actions"):
            for a in actions:  # type: ignore[attr-defined]
                if a.movement not in NOT_ASKED:
                    by_action.setdefault((a.joint, a.movement), []).append(
                        Item(m, part, a.qualifier or "", a.prime, a.detail or ""))
    for (joint, movement), items in sorted(by_action.items()):
        items = _merge(items)
        base = f"action:{joint}:{movement}"
        context = {"joint": reg.joints[joint].name, "movement": reg.movements[movement]}
        prime = [i for i in items if i.prime]
        if len(items) > MAX_ITEMS and 0 < len(prime) <= MAX_ITEMS:
            yield _plan(facts, "action-muscles", base, "prime", prime, [], where="", prime_only=True,
                        **context)
            continue
        for suffix, where, chunk in _fit(items, facts):
            yield _plan(facts, "action-muscles", base, suffix, chunk, [], where=where,
                        prime_only=False, **context)


def _lesion_plans(facts: Facts, supplied: dict[str, list[Item]]) -> Iterator[Plan]:
    reg = facts.registry
    for nerve_id, items in sorted(supplied.items()):
        nerve = reg.nerves[nerve_id]
        if not nerve.lesion:
            continue
        weakened: dict[tuple[str, str], None] = {}
        for item in items:
            actions = item.part.actions if item.part and item.part.actions else item.muscle.actions
            for a in actions:
                if a.movement not in NOT_ASKED:
                    weakened[(a.joint, a.movement)] = None
        movements = [f"{reg.joints[j].name}: {reg.movements[mv]}" for j, mv in weakened]
        plan = _plan(facts, "lesion", f"nerve:{nerve_id}", "", sorted(items, key=lambda i: i.sort_key),
                     [f"{TAG}::nerve::{nerve_path(nerve_id, reg)}"], nerve=nerve.name,
                     movements=movements, sign=nerve.lesion.text, where="")
        plan.sources.extend(nerve.lesion.sources)
        plan.context["sources"] = cited(plan.sources, facts.registry)
        yield plan


def _attachment_plans(facts: Facts) -> Iterator[Plan]:
    reg = facts.registry
    for fact, verb in (("origin", "arise from"), ("insertion", "insert on")):
        by_site: dict[str, list[Item]] = {}
        for m in facts.muscles:
            for part, attachment in m.units(fact):
                for site in attachment.sites:  # type: ignore[attr-defined]
                    by_site.setdefault(site, []).append(Item(m, part))
        for site, items in sorted(by_site.items()):
            items = _merge(items)
            if len(items) < 2 or len(items) > MAX_ITEMS:
                continue  # one muscle is the reverse card's question; too many cannot be recalled
            yield _plan(facts, "attachment-muscles", f"landmark:{site}:{fact}", "", items, [],
                        landmark=reg.landmarks[site], verb=verb, where="")


def _myotome_plans(facts: Facts) -> Iterator[Plan]:
    reg = facts.registry
    for root, myotome in sorted(reg.myotomes.items()):
        items = [Item(facts.muscle(m)) for m in myotome.muscles]
        plan = _plan(facts, "myotome", f"root:{root}", "", items, [f"{TAG}::root::{root}"],
                     root=root, joint=reg.joints[myotome.joint].name,
                     movement=reg.movements[myotome.movement], where="")
        plan.sources = list(myotome.sources)
        plan.context["sources"] = cited(plan.sources, facts.registry)
        yield plan


def _merge(items: list[Item]) -> list[Item]:
    """One item per muscle and part (a muscle listed twice for one movement appears once)."""
    seen: dict[tuple[str, str], Item] = {}
    for item in items:
        key = (item.muscle.id, item.part.id if item.part else "")
        if key in seen:
            old = seen[key]
            same = old.qualifier == item.qualifier
            seen[key] = Item(item.muscle, item.part, old.qualifier if same else "", old.prime or item.prime,
                             old.detail if same and old.detail == item.detail else "")
        else:
            seen[key] = item
    return sorted(seen.values(), key=lambda i: i.sort_key)


def _fit(items: list[Item], facts: Facts) -> Iterator[tuple[str, str, list[Item]]]:
    """The whole list (merged already), or the list split by group when it is too long;
    over-long groups are left out."""
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


def _plan(facts: Facts, kind: str, base: str, suffix: str, items: list[Item], tags: list[str],
          **context: object) -> Plan:
    muscles = tuple(dict.fromkeys(i.muscle for i in items))
    regions = sorted({m.region for m in muscles})
    key = f"{base}/{kind}" + (f"/{suffix}" if suffix else "")
    source_ids = [s for m in muscles for s in m.sources]
    plan = Plan(kind=kind, key=key, context={}, muscles=muscles, sources=source_ids,
                deck=regions[0] if len(regions) == 1 else "")
    plan.context = {"items": [i.context() for i in items], "count": len(items), "notes": [],
                    "sources": cited(source_ids, facts.registry), **context}
    plan.tags = [f"{TAG}::card::{kind}"] + [f"{TAG}::region::{r}" for r in regions] + tags
    return plan

