"""Stats: what the deck covers and which optional facts are missing, to plan contributions."""

from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path

from .model import Card, Facts, Muscle

# The optional facts a muscle can have, and how to tell whether it has each one.
OPTIONAL = ("blood_supply", "clinical", "aliases", "confusable", "notes", "description", "group")


def stats(decks: Path, templates: Path, markdown: bool = False) -> str:
    """A plain-text report: muscles by region and group, cards by kind, missing optional facts;
    or, with `markdown`, the README's coverage table."""
    from .build import cards

    chosen = cards(decks, templates)
    return coverage_table(chosen.facts) if markdown else report(chosen.facts, chosen.every)


def report(facts: Facts, cards: list[Card]) -> str:
    """The report of `stats` for facts already loaded and rendered."""
    return "\n".join(_coverage(facts) + [""] + _kinds(cards) + [""] + _missing(facts.muscles)
                     + _without_image(facts)) + "\n"


def coverage_table(facts: Facts) -> str:
    """The README's coverage table (Markdown): muscles by region, with and without an image."""
    lines = ["| Region | Muscles | With a location image |", "| --- | ---: | ---: |"]
    for region in facts.registry.regions.values():
        muscles = [m for m in facts.muscles if m.region == region.id]
        shown = sum(1 for m in muscles if "location" in facts.pictures.get(m.id, {}))
        lines.append(f"| {region.name} | {len(muscles)} | {shown} |")
    shown = sum(1 for m in facts.muscles if "location" in facts.pictures.get(m.id, {}))
    lines.append(f"| **Total** | **{len(facts.muscles)}** | **{shown}** |")
    return "\n".join(lines) + "\n"


def _without_image(facts: Facts) -> list[str]:
    without = [m.id for m in facts.muscles if "location" not in facts.pictures.get(m.id, {})]
    lines = ["", f"Muscles without an image  {len(without)} of {len(facts.muscles)}" + (":" if without else "")]
    lines += textwrap.wrap(", ".join(without), width=96, initial_indent=" " * 6, subsequent_indent=" " * 6,
                           break_on_hyphens=False)
    return lines


def has(muscle: Muscle, fact: str) -> bool:
    """Whether a muscle states an optional fact (for the whole muscle or in its parts)."""
    if fact == "blood_supply":
        return bool(muscle.units("blood_supply"))
    return bool(getattr(muscle, fact))


def _table(rows: list[tuple[str, str]]) -> list[str]:
    width = max(len(label) for label, _ in rows)
    number = max(len(value) for _, value in rows)
    return [f"  {label:<{width}}  {value:>{number}}" for label, value in rows]


def _coverage(facts: Facts) -> list[str]:
    by_region = Counter(m.region for m in facts.muscles)
    by_group = Counter((m.region, m.group) for m in facts.muscles)
    rows: list[tuple[str, str]] = []
    for region in facts.registry.regions.values():
        rows.append((f"{region.id}", str(by_region[region.id])))
        for group in region.groups:
            rows.append((f"  {group}", str(by_group[(region.id, group)])))
        if by_group[(region.id, None)] and region.groups:
            rows.append(("  (no group)", str(by_group[(region.id, None)])))
    rows.append(("total", str(len(facts.muscles))))
    return ["Muscles by region and group"] + _table(rows)


def _kinds(cards: list[Card]) -> list[str]:
    from .kinds import KINDS

    counts = Counter(c.kind for c in cards)
    rows = [(kind.name, str(counts[kind.name])) for kind in KINDS]
    rows.append(("total", str(len(cards))))
    return ["Cards by kind"] + _table(rows)


def _missing(muscles: tuple[Muscle, ...]) -> list[str]:
    lines = ["Optional facts missing (muscles without them)"]
    width = max(map(len, OPTIONAL))
    for fact in OPTIONAL:
        without = [m.id for m in muscles if not has(m, fact)]
        head = f"  {fact:<{width}}  {len(without):>3} of {len(muscles)}"
        if not without:
            lines.append(head)
            continue
        lines.append(head + ":")
        lines += textwrap.wrap(", ".join(without), width=96, initial_indent=" " * 6,
                               subsequent_indent=" " * 6, break_on_hyphens=False)
    return lines
