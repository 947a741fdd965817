"""Select: the subset of cards a user asked for. OR within one filter, AND across filters."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, fields

from .errors import SelectionError
from .kinds import KINDS
from .model import TAG, Card, Facts, Muscle, nerve_chain


@dataclass(frozen=True)
class Selection:
    """The filters of `build`, `list`, `preview` and `export`; an empty filter selects everything."""

    regions: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    muscles: tuple[str, ...] = ()  # ids, names or aliases, in any case
    nerves: tuple[str, ...] = ()
    cards: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chosen:
    """The cards a selection keeps, and the muscles its filters select."""

    cards: list[Card]
    muscles: list[Muscle]


def select(facts: Facts, cards: list[Card], sel: Selection) -> Chosen:
    """The cards of the selected muscles that match the card-kind and tag filters (a card across
    muscles is kept when any of its muscles is selected; a card about no muscle, such as a space
    bounded by bones, when a muscle of its region is)."""
    muscles = select_muscles(facts, sel)
    ids = {m.id for m in muscles}
    regions = {m.region for m in muscles}
    for kind in sel.cards:
        _known("--card", kind, [k.name for k in KINDS], show_all=True)
    tags = [_tag(t) for t in sel.tags]
    if tags:
        deck_tags = {p for c in cards for p in _prefixes(c.tags)}
        for tag in tags:
            _known("--tag", tag[len(TAG) + 2:], {t[len(TAG) + 2:] for t in deck_tags})
    kept = [c for c in cards
            if (ids.intersection(c.muscles) if c.muscles else c.deck in regions)
            and (not sel.cards or c.kind in sel.cards)
            and (not tags or any(t == want or t.startswith(want + "::") for t in c.tags for want in tags))]
    if not kept:
        raise SelectionError("no card matches all of these filters together: " + _describe(sel)
                             + "; loosen one of them")
    return Chosen(kept, muscles)


def select_muscles(facts: Facts, sel: Selection) -> list[Muscle]:
    """The muscles the muscle filters (region, group, muscle, nerve) select."""
    every = facts.muscles
    for region in sel.regions:
        _known("--region", region, {m.region for m in every}, show_all=True)
    for group in sel.groups:
        _known("--group", group, {m.group for m in every if m.group})
    for nerve in sel.nerves:
        _known("--nerve", nerve, {n for m in every for i in m.nerves() for n in nerve_chain(i, facts.registry.nerves)})
    wanted = {_muscle_id(value, facts) for value in sel.muscles}
    chosen = [m for m in every
              if (not sel.regions or m.region in sel.regions)
              and (not sel.groups or m.group in sel.groups)
              and (not wanted or m.id in wanted)
              and (not sel.nerves or any(n in sel.nerves for i in m.nerves()
                                         for n in nerve_chain(i, facts.registry.nerves)))]
    if not chosen:
        raise SelectionError("no muscle matches all of these filters together: " + _describe(sel)
                             + "; loosen one of them")
    return chosen


def _muscle_id(value: str, facts: Facts) -> str:
    """The muscle a --muscle value names: by id, former id, name or alias, in any case, with
    hyphens, underscores and spaces alike (`peroneus-longus` is the alias "Peroneus longus")."""
    names: dict[str, str] = {}
    for m in facts.muscles:
        for name in (m.id, *m.former_ids, m.name, *m.aliases):
            names.setdefault(_words(name), m.id)
    found = names.get(_words(value))
    if found:
        return found
    close = difflib.get_close_matches(_words(value), list(names), n=8, cutoff=0.6)
    suggestions = list(dict.fromkeys(facts.muscle(names[c]).name for c in close))[:3]
    raise SelectionError(f"--muscle {value!r} matches no muscle's id, name or alias"
                         + (f"; did you mean {_either(suggestions)}?" if suggestions else "")
                         + " `muscle-deck list` shows every muscle")


def _words(name: str) -> str:
    """A muscle's name or id as words: in one case, hyphens and underscores as spaces."""
    return " ".join(name.casefold().replace("-", " ").replace("_", " ").split())


def _known(option: str, value: str, valid: Iterable[str], show_all: bool = False) -> None:
    valid = sorted(valid)
    if value in valid:
        return
    message = f"{option} {value!r} matches nothing"
    if show_all:
        message += "; valid values: " + ", ".join(valid)
    else:
        close = difflib.get_close_matches(value, valid, n=3, cutoff=0.6)
        message += f"; did you mean {_either(close)}?" if close else "; check the spelling"
    raise SelectionError(message)


def _either(words: list[str]) -> str:
    quoted = [f"'{w}'" for w in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _tag(value: str) -> str:
    value = value.strip(":")
    return value if value.startswith(TAG + "::") else f"{TAG}::{value}"


def _prefixes(tags: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for tag in tags:
        parts = tag.split("::")
        out.update("::".join(parts[:i]) for i in range(2, len(parts) + 1))
    return out


def _describe(sel: Selection) -> str:
    described = [f"--{f.name[:-1]} {' / '.join(getattr(sel, f.name))}" for f in fields(sel) if getattr(sel, f.name)]
    return ", ".join(described) or "(no filters)"
