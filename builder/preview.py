"""Preview: the selected cards as one static HTML page, rendered exactly as Anki shows them.

Each card's front and back are filled into the note type's own templates (templates/model/)
and wrapped in `.card`, the class Anki gives a card's body, so templates/style.css applies
unchanged. The page needs no network: the CSS and a small script are inline.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import TemplateError
from .kinds import KINDS
from .model import Card
from .note import Fields
from .output import target, write_text
from .package import FIELDS, note_type
from .select import Selection

PAGE = Path("preview") / "index.html"
_FIELD = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


@dataclass(frozen=True)
class PreviewResult:
    """What a preview wrote."""

    index: Path
    cards: int


def write_preview(decks: Path, templates: Path, out_dir: Path,
                  selection: Selection | None = None) -> PreviewResult:
    """Write `out_dir/index.html`, a gallery of the selected cards; write nothing if anything is wrong."""
    from .build import cards, media_folder, notes

    folder = target(out_dir, (decks, templates), folder=True)
    chosen = cards(decks, templates, selection).cards
    media = media_folder(decks)
    fields = notes(chosen, templates, lambda name: data_url(media / name))
    write_text(folder / "index.html", page(chosen, fields, templates), protected=(decks, templates))
    return PreviewResult(out_dir / "index.html", len(chosen))


def data_url(path: Path) -> str:
    """An image as a data URL, so the page needs no other file."""
    import base64

    from .files import read_bytes

    kind = "image/webp" if path.suffix == ".webp" else "image/png" if path.suffix == ".png" else "image/jpeg"
    return f"data:{kind};base64," + base64.b64encode(read_bytes(path, 1_000_000)).decode()


def page(cards: Sequence[Card], fields: Sequence[Fields], templates: Path) -> str:
    """The gallery page (HTML) of these cards."""
    from jinja2 import StrictUndefined
    from jinja2 import TemplateError as JinjaError
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from markupsafe import Markup

    from .files import TemplateLoader

    tmpls, css = note_type(templates)
    if "</style" in css.lower():
        raise TemplateError("templates/style.css:1:1: the CSS contains '</style'; remove it")
    entries = [_entry(card, note, tmpls[0]["qfmt"], tmpls[0]["afmt"]) for card, note in zip(cards, fields, strict=True)]
    source = templates / PAGE
    if not source.is_file():
        raise TemplateError(f"{source}:1:1: no preview page in this templates folder; copy "
                            "templates/preview/index.html into it")
    env = ImmutableSandboxedEnvironment(
        loader=TemplateLoader(source.parent, source.parent.parent), autoescape=True, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    kinds = Counter(c.kind for c in cards)
    try:
        return str(env.get_template(source.name).render(
            css=Markup(css),
            cards=entries,
            total=len(entries),
            muscles=len({m for c in cards for m in c.muscles}),
            kinds=[(k.name, kinds[k.name]) for k in KINDS if kinds[k.name]],
        ))
    except JinjaError as err:
        line = getattr(err, "lineno", None) or 1
        raise TemplateError(f"{source}:{line}:1: {err.message or err}; fix the template") from None


def fill(template: str, fields: Mapping[str, str], name: str) -> str:
    """An Anki card template with its {{Field}} references replaced (plain fields only)."""
    def one(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in fields:
            line = template.count("\n", 0, match.start()) + 1
            raise TemplateError(f"templates/model/{name}:{line}:1: the preview can only show plain "
                                f"fields ({', '.join(fields)}), not {{{{{key}}}}}")
        return fields[key]

    return _FIELD.sub(one, template)


def _entry(card: Card, note: Fields, qfmt: str, afmt: str) -> dict[str, Any]:
    from markupsafe import Markup

    fields = dict(zip(FIELDS, note, strict=True))
    front = fill(qfmt, fields, "front.html")
    back = fill(afmt, {**fields, "FrontSide": front}, "back.html")
    names = card.names
    return {
        "key": card.key,
        "kind": card.kind,
        "names": names,
        "muscles": " ".join(card.muscles),
        "search": " ".join([names, *card.muscles]).lower(),
        "front": Markup(front),  # already escaped by the note templates
        "back": Markup(back),
    }
