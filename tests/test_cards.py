"""Cards a student would choose, across the whole deck: one question a card, short answers,
nothing missing or repeated, nothing on a card that belongs on another (CONTENT.md, Cards)."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from html.parser import HTMLParser

import pytest
from conftest import DECKS, TEMPLATES

from builder.load import load
from builder.model import Card
from builder.relations import MAX_ITEMS
from builder.render import is_own, render


class Sections(HTMLParser):
    """The visible text of a card's back, by section: the answer, each cue and note paragraph,
    and each list item of the answer."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.answer = ""
        self.items: list[str] = []
        self.extras: list[str] = []  # cue and note paragraphs
        self._stack: list[str] = []  # the section each open element belongs to

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        section = self._stack[-1] if self._stack else ""
        if "md-answer" in classes:
            section = "answer"
        elif "md-cues" in classes or "md-notes" in classes:
            section = "extra"
        if tag == "li" and section == "answer":
            self.items.append("")
            section = "item"
        if tag == "p" and section == "extra":
            self.extras.append("")
            section = "paragraph"
        self._stack.append(section)

    def handle_endtag(self, tag: str) -> None:
        if self._stack:
            self._stack.pop()

    def handle_data(self, data: str) -> None:
        section = self._stack[-1] if self._stack else ""
        if section in ("answer", "item"):
            self.answer += data
        if section == "item":
            self.items[-1] += data
        if section == "paragraph":
            self.extras[-1] += data


def sections(card: Card) -> Sections:
    parsed = Sections()
    parsed.feed(card.back)
    return parsed


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def words(*parts: str) -> int:
    return sum(len(p.split()) for p in parts)


CARDS = render(load(DECKS), TEMPLATES)


def test_no_empty_answer_or_section() -> None:
    for card in CARDS:
        back = sections(card)
        assert back.answer.strip(), card.key
        assert all(item.strip() for item in back.items), card.key
        assert all(len(p.split()) > 3 for p in back.extras), card.key  # a label and something after it
        assert "()" not in text(card.front) + text(card.back), card.key


def test_no_back_lists_more_than_eight_items() -> None:
    for card in CARDS:
        assert len(sections(card).items) <= MAX_ITEMS, card.key


def test_no_parentheses_inside_parentheses_on_a_front() -> None:
    for card in CARDS:
        depth = 0
        for char in text(card.front):
            depth += {"(": 1, ")": -1}.get(char, 0)
            assert depth <= 1, (card.key, text(card.front))


def test_no_two_cards_of_a_muscle_ask_different_questions_with_the_same_answer() -> None:
    by_muscle: dict[str, dict[str, str]] = defaultdict(dict)
    for card in CARDS:
        if is_own(card):
            answer = " ".join(sections(card).answer.split())
            other = by_muscle[card.muscles[0]].get(answer)
            assert other is None, (card.key, other, answer)
            by_muscle[card.muscles[0]][answer] = card.key


def test_no_extra_paragraph_repeats_on_more_than_three_cards_of_a_muscle() -> None:
    repeated: Counter[tuple[str, str]] = Counter()
    for card in CARDS:
        if is_own(card):
            repeated.update((card.muscles[0], p) for p in set(sections(card).extras))
    worst = [(n, muscle, p[:60]) for (muscle, p), n in repeated.items() if n > 3]
    assert not worst, worst


def test_no_generic_clinical_question() -> None:
    for card in CARDS:
        assert not re.search(r"clinical relevance", text(card.front), re.I), card.key
        if card.kind == "clinical":
            assert text(card.front).endswith("?"), card.key


def test_backs_are_short() -> None:
    lengths = []
    for card in CARDS:
        back = sections(card)
        lengths.append(words(back.answer, *back.extras))
    assert statistics.median(lengths) <= 20, statistics.median(lengths)
    assert sorted(lengths)[int(len(lengths) * 0.9)] <= 50, sorted(lengths)[int(len(lengths) * 0.9)]


@pytest.mark.parametrize("kind", ["nerve-muscles", "action-muscles", "attachment-muscles"])
def test_list_answers_count_muscles_not_heads(kind: str) -> None:
    for card in CARDS:
        if card.kind == kind:
            named = [item.split(",")[0].strip() for item in sections(card).items]
            assert len(named) == len(set(named)), (card.key, named)
            counted = re.search(r"\((\d+) muscles\)", text(card.front))
            assert int(counted.group(1)) == len(named) if counted else len(named) == 1, card.key
