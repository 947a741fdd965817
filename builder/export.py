"""Export: the selected cards as CSV or TSV (Anki's text import, other apps) or a Markdown study sheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from .model import ACROSS, Card, Facts
from .note import Fields
from .output import target, write_text
from .package import ACROSS_NAME, MODEL_NAME
from .select import Selection

SUFFIXES = {"csv": ".csv", "tsv": ".tsv", "markdown": ".md"}
COLUMNS = ("Front", "Back", "Sources", "Muscle", "Kind", "Tags", "GUID")


def export(decks: Path, templates: Path, fmt: str, selection: Selection | None = None,
           output: Path | None = None) -> tuple[str, int]:
    """The selected cards in a format; written atomically to `output` when given. (text, notes)."""
    from .build import cards, notes

    if output is not None:
        target(output, (decks, templates), suffix=SUFFIXES[fmt])
    chosen = cards(decks, templates, selection)
    if fmt == "markdown":
        text = markdown(chosen.facts, chosen.cards, templates)
    else:
        text = table(chosen.cards, notes(chosen.cards, templates), "\t" if fmt == "tsv" else ",")
    if output is not None:
        write_text(output, text, protected=(decks, templates), suffix=SUFFIXES[fmt])
    return text, len(chosen.cards)


# --- CSV and TSV ---------------------------------------------------------------------------

def table(cards: Sequence[Card], fields: Sequence[Fields], delimiter: str) -> str:
    """Anki's text-import header lines, then one row per note: its fields as HTML, tags, GUID.

    The `#` lines tell Anki (2.1.55 and later) the separator, that fields are HTML, the note type,
    and which columns hold the tags and the GUID, so an import updates the deck's own notes;
    `#columns:` names the columns for other apps (which should skip lines starting with `#`).
    A cell that a spreadsheet would run as a formula (starting with = + - @) is prefixed with '."""
    from .lock import guid

    out = io.StringIO()
    out.write(f"#separator:{'tab' if delimiter == chr(9) else 'comma'}\n#html:true\n#notetype:{MODEL_NAME}\n"
              f"#tags column:{COLUMNS.index('Tags') + 1}\n#guid column:{COLUMNS.index('GUID') + 1}\n"
              f"#columns:{delimiter.join(COLUMNS)}\n")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    for card, note in zip(cards, fields, strict=True):
        writer.writerow([_cell(v) for v in (*note, " ".join(card.tags), guid(card.key))])
    return out.getvalue()


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


# --- Markdown ------------------------------------------------------------------------------

def markdown(facts: Facts, cards: Sequence[Card], templates: Path) -> str:
    """A printable study sheet (templates/sheet.md): region, then muscle; question → answer."""
    from .render import environment, fill

    env = environment(templates, "sheet", finalize=md)
    env.filters["md"] = md
    env.filters["sources"] = lambda listed: list(dict.fromkeys(s for c in listed for s in c.sources))
    by_muscle: dict[str, list[Card]] = {}
    across: dict[str, list[Card]] = {}
    for card in cards:
        if card.own:
            by_muscle.setdefault(card.muscles[0], []).append(card)
        else:
            across.setdefault(card.deck, []).append(card)
    regions = []
    for region in [*facts.registry.regions.values(), None]:
        rid = region.id if region else ACROSS
        muscles = [facts.muscle(m) for m in by_muscle if facts.muscle(m).region == rid]
        if muscles or rid in across:
            regions.append({"name": region.name if region else ACROSS_NAME, "muscles": [
                {"muscle": m, "group": region.groups.get(m.group or "", "") if region else "", "cards": by_muscle[m.id]}
                for m in muscles], "across": across.get(rid, [])})
    shorts = {s for c in cards for s in c.sources}
    references = sorted((s.short, s.citation) for s in facts.registry.sources.values() if s.short in shorts)
    return fill(env, "sheet.md", {"regions": regions, "references": dict(references)}, "the study sheet")


def md(value: object) -> object:
    """Plain text that Markdown shows as written (values marked safe pass as they are)."""
    if hasattr(value, "__html__"):
        return value
    text = str(value)
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return text
