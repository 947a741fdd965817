"""Note: a card record as the fields of an Anki note, rendered through templates/note/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from .model import Card
from .render import environment, fill


class Fields(NamedTuple):
    """The fields of an Anki note, in the note type's order (package.FIELDS)."""

    front: str
    back: str
    sources: str
    muscle: str
    kind: str


def text(value: Any) -> Any:
    """A value as HTML text: < > & escaped and nothing more (quotes and apostrophes stay
    characters, as Anki stores text typed into a field, so its search finds them); values
    already marked safe (|e, |safe) pass as they are."""
    if hasattr(value, "__html__"):
        return value
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def emphasis(question: str, words: str) -> Any:
    """The question as HTML text with the first occurrence of `words` in bold."""
    from markupsafe import Markup

    html, bold = text(question), text(words)
    if bold and bold in html:
        html = html.replace(bold, f'<b class="md-muscle">{bold}</b>', 1)
    return Markup(html)  # noqa: S704 (escaped above)


def groupby_first(items: Any, attribute: str) -> list[tuple[Any, list[Any]]]:
    """Items grouped by an attribute, groups in the order they first appear (Jinja's groupby sorts)."""
    groups: dict[Any, list[Any]] = {}
    for item in items:
        groups.setdefault(getattr(item, attribute), []).append(item)
    return list(groups.items())


def note_environment(templates: Path, media: Callable[[str], str] | None = None) -> Any:
    """The sandbox that renders note fields: values escaped as text. `media` turns an image's
    file name into what its `src` says (Anki: the name itself; the preview: a data URL)."""
    env = environment(templates, "note", finalize=text)
    env.filters["emphasis"] = emphasis
    env.filters["groupby_first"] = groupby_first
    env.filters["media"] = media or str
    return env


def fields(card: Card, env: Any) -> Fields:
    """A card's note fields."""
    def part(name: str) -> str:
        return fill(env, name, {"card": card}, card.key).strip()

    return Fields(part("front.html"), part("back.html"), part("sources.html"), text(card.names), card.kind)
