"""Render: facts → cards. Each kind's drafts get their question from the kind's template
(templates/cards/<kind>.txt, plain text in Jinja's sandbox) and become Card records, in the
order a course teaches them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import TemplateError
from .kinds import KINDS, Draft, Kind, lower_first, upper_first
from .model import TAG, Card, Facts, Picture, Registry
from .relations import course_position


def render(facts: Facts, templates: Path) -> list[Card]:
    """Every card of the full deck, in course order (see `course_order`)."""
    env = environment(templates, "cards")
    cards = [card(env, kind, draft, facts) for kind in KINDS for draft in kind.drafts(facts)]
    return sorted(cards, key=lambda c: course_order(c, facts))


def environment(templates: Path, folder: str, finalize: Any = None) -> Any:
    """Jinja's immutable sandbox over one folder of templates, strict about undefined values."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from .files import TemplateLoader

    if not (templates / folder).is_dir():
        raise TemplateError(f"{templates / folder}:1:1: no such folder; pass --templates a folder laid out "
                            "like templates/")
    env = ImmutableSandboxedEnvironment(loader=TemplateLoader(templates / folder, templates), autoescape=False,
                                        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                                        keep_trailing_newline=False, auto_reload=False, finalize=finalize)
    env.filters["lower_first"] = lower_first
    env.filters["upper_first"] = upper_first
    env.globals["range"] = short_range
    return env


MAX_RANGE = 1000  # a card's template never counts further; nested loops over range() stay quick


def short_range(*args: int) -> range:
    """range() for templates, at most MAX_RANGE items (Jinja's sandbox allows 100,000)."""
    found = range(*args)
    if len(found) > MAX_RANGE:
        raise OverflowError(f"range() in a template gives at most {MAX_RANGE} items")
    return found


def fill(env: Any, name: str, context: dict[str, Any], about: str) -> str:
    """A template rendered, or a TemplateError naming the template, its line and the card."""
    from jinja2 import TemplateError as JinjaError

    try:
        return str(env.get_template(name).render(context))
    except JinjaError as err:
        where = getattr(err, "filename", None) or f"templates/{name}"
        line = getattr(err, "lineno", None) or 1
        raise TemplateError(f"{where}:{line}:1: {err.message or err} (while rendering {about}); "
                            "fix the template") from None
    except UnicodeDecodeError:
        raise TemplateError(f"templates/{name}:1:1: not valid UTF-8; save it with UTF-8 encoding") from None
    except Exception as err:  # noqa: BLE001 (a template's own failure: 1/0, a recursive include, …)
        raise TemplateError(f"templates/{name}:1:1: the template fails ({type(err).__name__}: {err}) while "
                            f"rendering {about}; fix the template") from None


def card(env: Any, kind: Kind, draft: Draft, facts: Facts) -> Card:
    """One draft, its question worded by its kind's template, as a Card."""
    question = " ".join(fill(env, f"{kind.name}.txt", draft.context, draft.key).split())
    if not question:
        raise TemplateError(f"templates/cards/{kind.name}.txt:1:1: the question is empty (while rendering "
                            f"{draft.key}); fix the template")
    names = "; ".join(", ".join((m.name, *m.aliases, *m.rare_aliases)) for m in draft.muscles)
    pictures = facts.pictures.get(draft.muscles[0].id, {}) if draft.own else {}
    deck = draft.deck if draft.deck is not None else draft.muscles[0].region
    tags = draft.tags if draft.core else (*draft.tags, f"{TAG}::yield::extra")
    # what the registry says of this card by its note key: a note on a card across muscles, and why
    # a long list is asked whole
    note = facts.registry.card_notes.get(draft.key)
    notes = draft.notes + ((note.text,) if note else ())
    sources = draft.sources + (note.sources if note else ())
    hint = " ".join(filter(None, (draft.hint, facts.registry.whole_lists.get(draft.key))))
    return Card(draft.key, kind.name, draft.own, draft.where, question, draft.subject, draft.answer, draft.noun,
                hint, draft.cues, notes, cited(sources, facts.registry),
                _shown(pictures, (draft.front,)), _shown(pictures, draft.pictures),
                tuple(m.id for m in draft.muscles), names, tags, deck, draft.core)


def _shown(pictures: dict[str, Picture], views: tuple[str, ...]) -> tuple[Picture, ...]:
    return tuple(pictures[v] for v in views if v in pictures)


def cited(ids: tuple[str, ...], reg: Registry) -> tuple[str, ...]:
    """A card's sources as the card names them: each label once, in order."""
    return tuple(dict.fromkeys(reg.sources[s].short for s in ids))


_KIND_ORDER = {kind.name: i for i, kind in enumerate(KINDS)}
_LATER = ("reverse", "location")  # kinds that name a muscle from its attachments or its picture


def course_order(card: Card, facts: Facts) -> tuple[Any, ...]:
    """Where a card comes among new cards: region as the registry orders them (cards across
    regions last); in a region, each muscle's own cards by group and muscle, then the cards that
    name a muscle from its attachments or picture, then the cards across its muscles."""
    regions = list(facts.registry.regions)
    region = regions.index(card.deck) if card.deck in regions else len(regions)
    first = facts.muscle(card.muscles[0]) if card.muscles else None
    where = course_position(first, facts)[1:] if first else (0, "")
    phase = (1 if card.kind in _LATER else 0) if card.own else 2
    return region, phase, where if card.own else (), _KIND_ORDER[card.kind], card.key
