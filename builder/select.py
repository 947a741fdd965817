"""Select: the subset of cards a user asked for. OR within one filter, AND across filters."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .errors import SelectionError
from .model import Card, Facts, Muscle
from .render import KINDS, TAG, nerve_path


@dataclass(frozen=True)
class Selection:
    """The filters of `build` and `list`; an empty filter selects everything."""

    regions: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    muscles: tuple[str, ...] = ()
    nerves: tuple[str, ...] = ()
    cards: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()

    @property
    def by_muscle(self) -> bool:
        """Whether a filter selects muscles (rather than card kinds or tags)."""
        return bool(self.regions or self.groups or self.muscles or self.nerves)


def muscles(facts: Facts, sel: Selection) -> list[Muscle]:
    """The muscles the muscle filters (region, group, muscle, nerve) select."""
    all_ = facts.muscles
    _known("--region", sel.regions, {m.region for m in all_})
    _known("--group", sel.groups, {m.group for m in all_ if m.group})
    _known("--muscle", sel.muscles, {m.id for m in all_})
    _known("--nerve", sel.nerves, {n for m in all_ for path in _nerve_paths(m, facts) for n in path})
    chosen = [m for m in all_ if _matches(m, sel, facts)]
    if not chosen:
        raise SelectionError("no muscle matches all of these filters together: "
                             + _describe(sel) + "; loosen one of them")
    return chosen


def cards(facts: Facts | None, all_cards: Iterable[Card], sel: Selection) -> list[Card]:
    """The cards of the selected muscles that also match the card-kind and tag filters.

    `facts` is needed only when the selection filters muscles (`sel.by_muscle`)."""
    keeps = chooser(facts, sel)
    all_cards = list(all_cards)
    chosen = [c for c in all_cards if keeps(c)]
    check(all_cards, chosen, sel)
    return chosen


def chooser(facts: Facts | None, sel: Selection) -> Callable[[Card], bool]:
    """Whether a card is selected, one card at a time (for cards still being made); `check`
    the selection once every card has been seen."""
    ids: set[str] | None = None  # None: every muscle
    if sel.by_muscle:
        assert facts is not None, "muscle filters need the facts"
        ids = {m.id for m in muscles(facts, sel)}
    _known("--card", sel.cards, set(KINDS))
    tags = [_tag(t) for t in sel.tags]

    def keeps(c: Card) -> bool:
        return bool((c.muscles if ids is None else ids.intersection(c.muscles))
                    and (not sel.cards or c.kind in sel.cards)
                    and (not tags or any(t == want or t.startswith(want + "::") for t in c.tags for want in tags)))

    return keeps


def check(all_cards: Sequence[Card], chosen: Sequence[Card], sel: Selection) -> None:
    """Raise SelectionError if a --tag names no tag of the deck, or if no card was chosen."""
    tags = [_tag(t) for t in sel.tags]
    if tags:
        _known("--tag", tuple(t[len(TAG) + 2:] for t in tags),
               {t[len(TAG) + 2:] for c in all_cards for t in _prefixes(c.tags)})
    if not chosen:
        raise SelectionError("no card matches all of these filters together: "
                             + _describe(sel) + "; loosen one of them")


def _matches(m: Muscle, sel: Selection, facts: Facts) -> bool:
    return ((not sel.regions or m.region in sel.regions)
            and (not sel.groups or m.group in sel.groups)
            and (not sel.muscles or m.id in sel.muscles)
            and (not sel.nerves or any(n in path for path in _nerve_paths(m, facts)
                                       for n in sel.nerves)))


def _nerve_paths(m: Muscle, facts: Facts) -> list[list[str]]:
    return [nerve_path(n, facts.registry).split("::") for n in m.nerves()]


def _tag(value: str) -> str:
    value = value.strip(":")
    return value if value.startswith(TAG + "::") else f"{TAG}::{value}"


def _prefixes(tags: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for tag in tags:
        parts = tag.split("::")
        out.update("::".join(parts[:i]) for i in range(2, len(parts) + 1))
    return out


def _known(option: str, values: tuple[str, ...], valid: set[str]) -> None:
    unknown = [v for v in values if v not in valid]
    if unknown:
        raise SelectionError(f"{option} {unknown[0]!r} matches nothing; valid values: "
                             + ", ".join(sorted(valid)))


def _describe(sel: Selection) -> str:
    parts = [f"--{name[:-1]} {' / '.join(values)}" for name, values in vars(sel).items() if values]
    return ", ".join(parts) or "(no filters)"
