"""Render: facts → cards, through one Jinja template per card kind (sandboxed, autoescaped)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import MuscleDeckError
from .model import Action, Card, Facts, Innervation, Muscle, Part, Registry
from .progress import track

TAG = "muscle-deck"
_SPLIT = "<!--muscle-deck:split-->"

# Card kind → what it asks. The order is the order of `muscle-deck list --cards`.
KINDS: dict[str, str] = {
    "origin": "Where a muscle (or one of its parts) arises",
    "insertion": "Where a muscle (or one of its parts) inserts",
    "actions": "What a muscle does at one joint (one card per joint)",
    "innervation": "The nerve(s) and root levels that supply a muscle",
    "blood-supply": "The arteries that supply a muscle",
    "clinical": "A muscle's clinical relevance",
    "reverse": "Name the muscle from its origin and insertion",
    "nerve-muscles": "Which muscles a nerve supplies",
    "action-muscles": "Which muscles produce a movement at a joint (prime movers first)",
    "lesion": "What an injury of a nerve weakens, and the sign it shows",
    "attachment-muscles": "Which muscles arise from, or insert on, a landmark",
    "myotome": "The movement and key muscles that test a spinal segment",
}


@dataclass
class Plan:
    """A card to be rendered: its identity, template context and bookkeeping."""

    kind: str
    key: str
    context: dict[str, Any]
    muscles: tuple[Muscle, ...]
    sources: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    deck: str = ""


class TemplateError(MuscleDeckError):
    """A card template cannot be read or rendered."""


def environment(templates: Path) -> Any:
    """The Jinja environment: sandboxed, autoescaped, and strict about undefined values."""
    from jinja2 import FileSystemBytecodeCache, FileSystemLoader, StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from .cache import folder

    where = folder()
    compiled = None
    if where is not None:  # compiled templates, keyed by their source: skips compiling next time
        try:
            (where / "templates").mkdir(parents=True, exist_ok=True)
            compiled = FileSystemBytecodeCache(str(where / "templates"))
        except OSError:
            compiled = None
    env = ImmutableSandboxedEnvironment(
        loader=FileSystemLoader(str(templates / "cards")), bytecode_cache=compiled,
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, auto_reload=False,
    )
    env.filters["lower_first"] = lower_first
    return env


def lower_first(text: str) -> str:
    """'Gluteus medius' → 'gluteus medius', for a name in the middle of a sentence."""
    return text[:1].lower() + text[1:] if text[1:2].islower() or len(text) < 2 else text


def render(facts: Facts, templates: Path) -> list[Card]:
    """Every card of the full deck, in a stable order."""
    from jinja2 import TemplateError as JinjaError

    env = environment(templates)
    compiled: dict[str, Any] = {}
    cards = []
    for plan in plans(facts):
        try:
            if plan.kind not in compiled:
                compiled[plan.kind] = env.get_template(f"{plan.kind}.html")
            html = compiled[plan.kind].render(plan.context)
        except JinjaError as err:
            where = getattr(err, "filename", None) or f"templates/cards/{plan.kind}.html"
            line = getattr(err, "lineno", None) or 1
            raise TemplateError(f"{where}:{line}:1: {err.message or err} (while rendering "
                                f"{plan.key}); fix the template") from None
        parts = html.split(_SPLIT)
        if len(parts) != 3:
            raise TemplateError(f"templates/cards/{plan.kind}.html:1:1: a card template must extend "
                                "'_card.html' and fill its blocks")
        front, back, sources = (p.strip() for p in parts)
        cards.append(Card(
            key=plan.key, kind=plan.kind, front=front, back=back, sources=sources,
            muscle_names="; ".join(_names(m) for m in plan.muscles),
            muscles=tuple(m.id for m in plan.muscles),
            tags=tuple(dict.fromkeys(plan.tags)), deck=plan.deck,
        ))
    return cards


def _names(muscle: Muscle) -> str:
    return ", ".join((muscle.name,) + muscle.aliases)


# --- what cards each muscle gets --------------------------------------------------------------

def plans(facts: Facts) -> Iterator[Plan]:
    """The cards of the deck: muscle by muscle, kind by kind; then the cards across muscles."""
    from .relations import plans as relation_plans

    for muscle in track(facts.muscles, "Rendering cards"):
        yield from _muscle_plans(muscle, facts)
    yield from relation_plans(facts)


def _muscle_plans(muscle: Muscle, facts: Facts) -> Iterator[Plan]:
    reg = facts.registry
    for kind, fact in (("origin", "origin"), ("insertion", "insertion")):
        for part, value in muscle.units(fact):
            yield _plan(kind, muscle, part, facts, fact, attachment=value,
                        confusable=_confusable(muscle, facts))
    for part, actions in muscle.units("actions"):
        for joint, group in _by_joint(actions):  # type: ignore[arg-type]
            yield _plan("actions", muscle, part, facts, "actions", extra=joint,
                        joint=reg.joints[joint].name,
                        actions=[_action(a, reg) for a in group])
    for part, supply in muscle.units("innervation"):
        yield _plan("innervation", muscle, part, facts, "innervation",
                    nerves=[_nerve(i, reg) for i in supply])  # type: ignore[attr-defined]
    for part, arteries in muscle.units("blood_supply"):
        yield _plan("blood-supply", muscle, part, facts, "blood_supply", arteries=arteries)
    if muscle.clinical:
        plan = _plan("clinical", muscle, None, facts, "clinical",
                     items=[c.text for c in muscle.clinical])
        for item in muscle.clinical:
            plan.sources.extend(item.sources)
        plan.context["sources"] = _sources(plan.sources, reg)
        yield plan
    yield from _reverse_plans(muscle, facts)


def _reverse_plans(muscle: Muscle, facts: Facts) -> Iterator[Plan]:
    split = not muscle.origin or not muscle.insertion
    units = muscle.parts if split else (None,)
    for part in units:
        origin = muscle.origin or (part.origin if part else None)
        insertion = muscle.insertion or (part.insertion if part else None)
        if origin and insertion:
            yield _plan("reverse", muscle, part, facts, "general", origin=origin,
                        insertion=insertion, confusable=_confusable(muscle, facts))


def _plan(kind: str, muscle: Muscle, part: Part | None, facts: Facts, about: str,
          extra: str | None = None, **context: Any) -> Plan:
    reg = facts.registry
    region = reg.regions[muscle.region]
    key = muscle.identity + (f":{part.id}" if part else "") + f"/{kind}" + (f"/{extra}" if extra else "")
    notes = [n for n in muscle.notes if n.about == about]
    source_ids = list(muscle.sources) + [s for n in notes for s in n.sources]
    where = region.name + (f" › {region.groups[muscle.group]}" if muscle.group else "")
    plan = Plan(kind=kind, key=key, context={}, muscles=(muscle,), sources=source_ids,
                deck=muscle.region)
    plan.context = {
        "muscle": {"name": muscle.name, "aliases": list(muscle.aliases),
                   "description": muscle.description or ""},
        "part": part.name if part else "",
        "where": where,
        "notes": [n.text for n in notes],
        "sources": _sources(source_ids, reg),
        **context,
    }
    plan.tags = [f"{TAG}::card::{kind}", f"{TAG}::muscle::{muscle.id}",
                 f"{TAG}::region::{muscle.region}" + (f"::{muscle.group}" if muscle.group else "")]
    plan.tags += [f"{TAG}::nerve::{nerve_path(n, reg)}" for n in muscle.nerves()]
    return plan


def nerve_path(nerve_id: str, reg: Registry) -> str:
    """'sciatic::sciatic-tibial-division': a nerve under the nerves it is part of."""
    chain = [nerve_id]
    while (parent := reg.nerves[chain[0]].part_of) and parent not in chain:
        chain.insert(0, parent)
    return "::".join(chain)


def _by_joint(actions: tuple[Action, ...]) -> list[tuple[str, list[Action]]]:
    groups: dict[str, list[Action]] = {}
    for action in actions:
        groups.setdefault(action.joint, []).append(action)
    return list(groups.items())


def _action(action: Action, reg: Registry) -> dict[str, Any]:
    return {"movement": reg.movements[action.movement], "qualifier": action.qualifier or "",
            "detail": action.detail or "", "prime": action.prime}


def _nerve(supply: Innervation, reg: Registry) -> dict[str, Any]:
    nerve = reg.nerves[supply.nerve]
    return {"name": nerve.name, "roots": list(supply.roots), "main_roots": list(supply.main_roots),
            "note": supply.note or ""}


def _confusable(muscle: Muscle, facts: Facts) -> list[dict[str, str]]:
    return [{"name": facts.muscle(c.muscle).name, "cue": c.cue} for c in muscle.confusable]


def _sources(ids: list[str], reg: Registry) -> list[dict[str, str]]:
    return [{"short": reg.sources[s].short, "citation": reg.sources[s].citation}
            for s in dict.fromkeys(ids)]
