"""Render: facts → cards, through one Jinja template per card kind (sandboxed, autoescaped)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import relations
from .errors import TemplateError
from .model import TAG, Action, Card, Facts, Innervation, Muscle, OwnCard, Part, Plan, Registry, nerve_path

# A card template's output: front, back and sources, in this order, between these markers.
SPLIT = "<!--muscle-deck:split-->"

# Card kind → what it asks. The order is the order of `muscle-deck kinds`.
KINDS: dict[str, str] = {
    "origin": "Where a muscle (or one of its parts) arises",
    "insertion": "Where a muscle (or one of its parts) inserts",
    "actions": "What a muscle does at one joint (one card per joint)",
    "innervation": "The nerve(s) and root levels that supply a muscle",
    "blood-supply": "The arteries that supply a muscle",
    "clinical": "One clinical fact: a sign, test, reflex, injury or syndrome",
    "reverse": "Name the muscle from its origin and insertion",
    "nerve-muscles": "Which muscles a nerve supplies",
    "action-muscles": "Which muscles produce a movement at a joint (prime movers first)",
    "lesion": "Which movements an injury of a nerve weakens",
    "attachment-muscles": "Which muscles arise from, or insert on, a landmark",
    "myotome": "The movement and key muscles that test a spinal segment",
}


# The kinds of card about one muscle (a clinical card may instead be about a nerve or several).
OWN_KINDS = ("origin", "insertion", "actions", "innervation", "blood-supply", "clinical", "reverse")


def is_own(card: Card) -> bool:
    """Whether a card is about one muscle (rather than across muscles)."""
    return card.kind in OWN_KINDS and not card.key.startswith("clinical:")


def render(facts: Facts, templates: Path) -> list[Card]:
    """Every card of the full deck, in a stable order: each muscle's own cards, then the cards
    across muscles."""
    env = environment(templates)
    plans = [plan for muscle in facts.muscles for plan in muscle_plans(muscle, facts)]
    plans += relations.plans(facts)
    return [card(env, plan, facts.registry) for plan in plans]


def environment(templates: Path) -> Any:
    """Jinja's immutable sandbox over templates/cards: autoescaped, strict about undefined values."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from .files import TemplateLoader

    if not (templates / "cards").is_dir():
        raise TemplateError(f"{templates / 'cards'}:1:1: no such folder; pass --templates a folder laid out "
                            "like templates/")
    env = ImmutableSandboxedEnvironment(loader=TemplateLoader(templates / "cards", templates), autoescape=True,
                                        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                        auto_reload=False)  # the templates do not change during a build
    env.filters["lower_first"] = lower_first
    env.filters["upper_first"] = upper_first
    return env


def card(env: Any, plan: Plan, reg: Registry) -> Card:
    """One plan rendered through its kind's template into a Card."""
    from jinja2 import TemplateError as JinjaError
    from markupsafe import escape

    name = f"{plan.kind}.html"
    try:
        html = env.get_template(name).render({"notes": [], "cues": [], **plan.context},
                                             sources=cited(plan.sources, reg), where=plan.where)
    except JinjaError as err:
        where = getattr(err, "filename", None) or f"templates/cards/{name}"
        line = getattr(err, "lineno", None) or 1
        raise TemplateError(f"{where}:{line}:1: {err.message or err} (while rendering {plan.key}); "
                            "fix the template") from None
    except UnicodeDecodeError:
        raise TemplateError(f"templates/cards/{name}:1:1: not valid UTF-8; save it with UTF-8 encoding") from None
    parts = html.split(SPLIT)
    if len(parts) != 3:
        raise TemplateError(f"templates/cards/{name}:1:1: a card template must extend '_card.html' and fill "
                            "its blocks")
    names = "; ".join(", ".join((m.name, *m.aliases)) for m in plan.muscles)
    return Card(plan.key, plan.kind, parts[0].strip(), parts[1].strip(), parts[2].strip(), str(escape(names)),
                tuple(m.id for m in plan.muscles), plan.tags, plan.deck)


def lower_first(text: str) -> str:
    """'Gluteus medius' → 'gluteus medius', for a name in the middle of a sentence ('CN XI' stays)."""
    return text[:1].lower() + text[1:] if len(text) < 2 or text[1:2].islower() else text


def upper_first(text: str) -> str:
    """'forced expiration' → 'Forced expiration' (the rest as it is, unlike Jinja's capitalize)."""
    return text[:1].upper() + text[1:]


def cited(ids: tuple[str, ...] | list[str], reg: Registry) -> list[str]:
    """A card's sources as the card names them: each once, in order."""
    return [reg.sources[s].short for s in dict.fromkeys(ids)]


def where(region: str, group: str | None, reg: Registry) -> str:
    """'Lower limb › Gluteal region': the context line above a muscle's question."""
    r = reg.regions[region]
    return r.name + (f" › {r.groups[group]}" if group else "")


# --- what cards each muscle gets --------------------------------------------------------------

def muscle_plans(muscle: Muscle, facts: Facts) -> Iterator[Plan]:
    """A muscle's own cards (see Muscle.own_cards), each with its template context."""
    reg = facts.registry
    own = _Own(muscle, facts)
    for card in muscle.own_cards():
        value: Any = card.value
        if card.kind in ("origin", "insertion"):
            yield own.plan(card, attachment=value.text)
        elif card.kind == "actions":
            yield own.plan(card, joint=reg.joints[str(card.extra)].name, actions=[_action(a, reg) for a in value])
        elif card.kind == "innervation":
            yield own.plan(card, nerves=[_nerve(i, reg) for i in value],
                           cranial=all(reg.nerves[i.nerve].cranial for i in value))
        elif card.kind == "blood-supply":
            yield own.plan(card, arteries=value)
        elif card.kind == "clinical":
            yield own.plan(card, question=value.question, answer=value.answer, cited=value.sources)
        else:
            yield own.plan(card, **_reverse(muscle, card.parts, reg))


class _Own:
    """What every card of one muscle shares, worked out once for all of them."""

    def __init__(self, muscle: Muscle, facts: Facts) -> None:
        reg = facts.registry
        self.muscle = muscle
        self.where = where(muscle.region, muscle.group, reg)
        self.subject = {"name": muscle.name, "plural": muscle.plural, "aliases": list(muscle.aliases)}
        self.tags = (f"{TAG}::muscle::{muscle.id}",
                     f"{TAG}::region::{muscle.region}" + (f"::{muscle.group}" if muscle.group else ""),
                     *(f"{TAG}::nerve::{nerve_path(n, reg)}" for n in muscle.nerves()))
        self.names = {m.id: m.name for m in facts.muscles}

    def plan(self, card: OwnCard, cited: tuple[str, ...] = (), **context: Any) -> Plan:
        muscle = self.muscle
        notes = [n for n in muscle.notes if n.card == card.ref]
        cues = [{"name": self.names[c.muscle], "cue": c.cue} for c in muscle.confusable if c.card == card.ref]
        first = card.parts[0] if card.parts else None
        key = muscle.identity + (f":{first.id}" if first else "") + f"/{card.kind}" + (f"/{card.extra}" if card.extra
                                                                                       else "")
        whole = len(card.parts) == len(muscle.parts)  # no parts, or all of them alike
        sources = (cited or muscle.sources) + tuple(s for n in notes for s in n.sources)
        context = {"muscle": self.subject, "part": "" if whole else " and ".join(p.name for p in card.parts),
                   "alone": muscle.names_itself(card.parts), "notes": [n.text for n in notes], "cues": cues, **context}
        return Plan(key, card.kind, context, (muscle,), sources, (f"{TAG}::card::{card.kind}", *self.tags),
                    muscle.region, self.where)


def _action(action: Action, reg: Registry) -> dict[str, Any]:
    return {"movement": reg.movements[action.movement], "qualifier": action.qualifier or "",
            "detail": action.detail or "", "prime": action.prime}


def _nerve(supply: Innervation, reg: Registry) -> dict[str, Any]:
    return {"name": reg.nerves[supply.nerve].name, "roots": list(supply.roots), "main_roots": list(supply.main_roots),
            "note": supply.note or ""}


def _reverse(muscle: Muscle, parts: tuple[Part, ...], reg: Registry) -> dict[str, Any]:
    """The reverse card's question: the muscle's (or its part's) clue, else its landmarks. Parts
    asked the same question share the card, which then asks for the muscle."""
    part = parts[0] if parts else None
    origin = muscle.origin or (part.origin if part else None)
    insertion = muscle.insertion or (part.insertion if part else None)
    assert origin and insertion  # own_cards() gives a reverse card only to those with both
    return {"clue": (part.clue if part else muscle.clue) or "", "shared": len(parts) > 1,
            "origin": [reg.landmarks[s] for s in origin.sites[:3]],
            "insertion": [reg.landmarks[s] for s in insertion.sites[:3]]}
