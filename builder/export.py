"""Export: the selected cards as CSV or TSV (Anki's text import, other apps) or a Markdown study sheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path

from .model import Card, Facts
from .output import target, write_text
from .package import MODEL_NAME
from .render import is_own
from .select import Selection

FORMATS = ("csv", "tsv", "markdown")
SUFFIXES = {"csv": ".csv", "tsv": ".tsv", "markdown": ".md"}
COLUMNS = ("Front", "Back", "Sources", "Muscle", "Kind", "Tags", "GUID")


def export(decks: Path, templates: Path, fmt: str, selection: Selection | None = None,
           output: Path | None = None) -> tuple[str, int]:
    """The selected cards in a format; written atomically to `output` when given. (text, notes)."""
    from .load import load
    from .render import render
    from .select import select

    if output is not None:
        target(output, (decks, templates), suffix=SUFFIXES[fmt])
    facts = load(decks)
    chosen = select(facts, render(facts, templates), selection or Selection()).cards
    text = markdown(facts, chosen) if fmt == "markdown" else table(chosen, "\t" if fmt == "tsv" else ",")
    if output is not None:
        write_text(output, text, protected=(decks, templates), suffix=SUFFIXES[fmt])
    return text, len(chosen)


# --- CSV and TSV ---------------------------------------------------------------------------

def table(cards: Sequence[Card], delimiter: str) -> str:
    """Anki's text-import header lines, then one row per note; the card HTML kept as is.

    The `#` lines tell Anki (2.1.55 and later) the separator, that fields are HTML, the note type,
    and which columns hold the tags and the GUID, so an import updates the deck's own notes;
    `#columns:` names the columns for other apps (which should skip lines starting with `#`)."""
    from .lock import guid

    out = io.StringIO()
    out.write(f"#separator:{'tab' if delimiter == chr(9) else 'comma'}\n#html:true\n#notetype:{MODEL_NAME}\n"
              f"#tags column:{COLUMNS.index('Tags') + 1}\n#guid column:{COLUMNS.index('GUID') + 1}\n"
              f"#columns:{delimiter.join(COLUMNS)}\n")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    for c in cards:
        writer.writerow((c.front, c.back, c.sources, c.muscle_names, c.kind, " ".join(c.tags), guid(c.key)))
    return out.getvalue()


# --- Markdown ------------------------------------------------------------------------------

def markdown(facts: Facts, cards: Sequence[Card]) -> str:
    """A printable study sheet: region, then muscle; question → answer as plain text.

    Cards about several muscles (nerve → muscles, myotomes…) follow a region's muscles under
    'Across muscles', or close the sheet under 'Across regions' when they span regions.
    """
    by_muscle: dict[str, list[Card]] = {}
    across: dict[str, list[Card]] = {}
    for card in cards:
        if is_own(card):
            by_muscle.setdefault(card.muscles[0], []).append(card)
        else:
            across.setdefault(card.deck, []).append(card)
    regions = facts.registry.regions
    group_order = {(r.id, g): i for r in regions.values() for i, g in enumerate(r.groups)}
    references: dict[str, str] = {}
    citations = {source.short: source.citation for source in facts.registry.sources.values()}
    lines = ["# Muscle anatomy", "",
             "Root levels in bold are the main segments (Moore); the cards underline them. Full references are at "
             "the end.", ""]
    for region in regions.values():
        muscles = [m for m in facts.muscles if m.region == region.id and m.id in by_muscle]
        if not muscles and region.id not in across:
            continue
        muscles.sort(key=lambda m: (group_order.get((region.id, m.group or ""), -1), m.name.lower()))
        lines += [f"## {_escape(region.name)}", ""]
        for muscle in muscles:
            lines += [f"### {_escape(muscle.name)}", ""]
            about = [region.groups[muscle.group]] if muscle.group in region.groups else []
            if muscle.aliases:
                about.append("also " + ", ".join(muscle.aliases))
            if about:
                lines += [f"*{_escape('; '.join(about))}*", ""]
            lines += _cards(by_muscle[muscle.id], references, citations)
        if region.id in across:
            lines += ["### Across muscles", ""] + _cards(across[region.id], references, citations)
    if "" in across:
        lines += ["## Across regions", ""] + _cards(across[""], references, citations)
    if references:
        lines += ["## References", ""]
        lines += [f"- **{_escape(short)}**: {_escape(citation)}" for short, citation in sorted(references.items())]
        lines.append("")
    return "\n".join(lines)


def _cards(cards: Sequence[Card], references: dict[str, str], citations: dict[str, str]) -> list[str]:
    """'- question → answer' lines (more lines of the answer below it), then the sources."""
    lines: list[str] = []
    shorts: dict[str, None] = {}
    for card in cards:
        question = plain(card.front, only="md-question")
        answer, *more = plain(card.back).splitlines() or [""]
        lines.append(f"- {question} → {answer}")
        lines += [f"  - {line}" for line in more]
        for short in plain(card.sources).split(" · "):
            shorts[short] = None
            references.setdefault(short, citations.get(short, short))
    return lines + ["", f"Sources: {_escape('; '.join(shorts))}", ""]


def plain(html: str, only: str | None = None) -> str:
    """Card HTML as Markdown-safe plain text: tags stripped, entities unescaped, one block a line.

    List items are joined with '; ', paragraphs start new lines, main root levels (<u>) are set
    in bold, a label span ('Note') gets a colon, 'prime mover' goes in brackets, and the hint
    on underlining is dropped.
    With `only`, just the text inside the element of that class.
    """
    parser = _Text(only)
    parser.feed(html)
    parser.close()
    return parser.text()


_BLOCKS = {"div", "p", "ol", "ul", "li", "br", "hr", "tr", "table"}
_VOID = {"br", "hr", "img", "wbr"}


class _Text(HTMLParser):
    """Collects the text of card HTML, line by line."""

    def __init__(self, only: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.only = only
        self.lines: list[list[str]] = [[]]
        self.stack: list[tuple[str, bool, str, bool]] = []  # tag, is the wanted element, suffix, is a hint
        self.hints = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag in _BLOCKS and tag != "li":
            self._break()
        if tag in _VOID:
            return
        hint = "md-hint" in classes
        self.hints += hint
        suffix = ""
        if tag == "u":
            self._emit("**", raw=True)
            suffix = "**"
        elif "md-label" in classes:
            suffix = ":"
        elif "md-prime" in classes:
            self._emit("(", raw=True)
            suffix = ")"
        self.stack.append((tag, self.only is not None and self.only in classes, suffix, hint))

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or all(t != tag for t, *_ in self.stack):
            return
        while self.stack:
            name, _, suffix, hint = self.stack[-1]
            if suffix:
                self._emit(suffix, raw=True)
            self.stack.pop()
            self.hints -= hint
            if name == tag:
                break
        if tag == "li":
            self._emit("; ", raw=True)
        elif tag in _BLOCKS:
            self._break()

    def handle_data(self, data: str) -> None:
        self._emit(data)

    def _emit(self, text: str, raw: bool = False) -> None:
        if self.hints or (self.only is not None and not any(w for _, w, _, _ in self.stack)):
            return
        self.lines[-1].append(text if raw else _escape(text))

    def _break(self) -> None:
        if self.lines[-1]:
            self.lines.append([])

    def text(self) -> str:
        out = []
        for parts in self.lines:
            line = " ".join("".join(parts).split()).rstrip("; ").replace(" ;", ";")
            if line:
                out.append(line)
        return "\n".join(out)


def _escape(text: str) -> str:
    """Plain text that Markdown shows as written."""
    for char in "\\`*_[]<>#|":
        text = text.replace(char, "\\" + char)
    return text
