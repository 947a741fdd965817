"""Cards a student would choose, across the whole deck: one question a card, short answers,
nothing missing, repeated or given away, and text that Anki's search finds. Each test reads the
card records and the note fields the build writes."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict

from conftest import DECKS, TEMPLATES

from builder.build import cards, notes
from builder.kinds import SEGMENTS
from builder.model import Card, Item
from builder.relations import MAX_ITEMS

CHOSEN = cards(DECKS, TEMPLATES)
CARDS = CHOSEN.every
FIELDS = dict(zip((c.key for c in CARDS), notes(CARDS, TEMPLATES), strict=True))


def said(item: Item) -> str:
    """An answer item as a student reads it."""
    roots = ", ".join(r for r, _ in item.roots)
    return " ".join(filter(None, (item.text, item.part, item.qualifier, roots, item.detail)))


def answer(card: Card) -> str:
    return "; ".join(said(i) for i in card.answer)


def words(*parts: str) -> int:
    return sum(len(p.split()) for p in parts)


def test_no_empty_answer_cue_or_note() -> None:
    for card in CARDS:
        assert card.answer and all(i.text.strip() for i in card.answer), card.key
        assert all(words(c.text) > 2 for c in card.cues) and all(words(n) > 2 for n in card.notes), card.key
        assert "()" not in card.question + answer(card), card.key


def test_no_field_holds_an_entity_for_a_character_anki_stores_as_text() -> None:
    for key, fields in FIELDS.items():
        for value in fields:
            assert not re.search(r"&(#\d+|#x[0-9a-f]+|quot|apos|[a-z]+acute|ndash|mdash);", value, re.I), (key, value)


def test_the_count_on_a_front_is_the_number_of_items_shown() -> None:
    for card in CARDS:
        counted = re.search(r"\((\d+) \w+\)</span>", FIELDS[card.key].front)
        if len(card.answer) > 1 and card.noun:
            assert counted and int(counted.group(1)) == len(card.answer), card.key
        else:
            assert not counted, card.key
        if len(card.answer) > 1 and not card.answer[0].group:
            assert FIELDS[card.key].back.count("<li>") == len(card.answer), card.key


def test_no_list_asks_more_than_eight_items_unless_grouped() -> None:
    for card in CARDS:
        if len(card.answer) > MAX_ITEMS:
            groups = Counter(i.group for i in card.answer)
            assert "" not in groups and len(groups) > 1, card.key


def test_no_parentheses_inside_parentheses_on_a_front() -> None:
    for card in CARDS:
        depth = 0
        for char in card.question:
            depth += {"(": 1, ")": -1}.get(char, 0)
            assert depth <= 1, (card.key, card.question)


def test_no_card_answers_itself() -> None:
    for card in CARDS:
        if card.kind in ("nerve-muscles", "reverse", "space-name"):
            named = [i for i in card.answer if i.text.split(" (")[0].lower() in card.question.lower()]
            assert len(named) < len(card.answer), (card.key, card.question)


def test_no_two_cards_of_a_muscle_ask_different_questions_with_the_same_answer() -> None:
    by_muscle: dict[str, dict[str, str]] = defaultdict(dict)
    for card in CARDS:
        names = {card.names.split(",")[0]}  # cards that name the muscle (reverse, location…) all answer with it
        if card.own and {i.text for i in card.answer} != names:
            other = by_muscle[card.muscles[0]].get(answer(card))
            assert other is None, (card.key, other, answer(card))
            by_muscle[card.muscles[0]][answer(card)] = card.key


def test_no_two_cards_of_a_kind_across_muscles_have_the_same_answer_list() -> None:
    seen: dict[tuple[str, ...], str] = {}
    for card in CARDS:
        if card.kind in ("nerve-muscles", "attachment-muscles", "action-muscles") and len(card.answer) > 1:
            listed = (card.kind, *sorted(said(i) for i in card.answer))
            assert listed not in seen or seen[listed].split("/")[0] == card.key.split("/")[0], \
                (card.key, seen.get(listed))
            seen.setdefault(listed, card.key)


def test_no_question_is_shared_by_cards_with_different_answers() -> None:
    asked: dict[str, Card] = {}
    for card in CARDS:
        question = (card.where, card.question, *(p.file for p in card.front_images))  # a picture is asked too
        other = asked.setdefault(" ".join(question), card)
        assert other is card or answer(other) == answer(card), (card.key, other.key, card.question)


def test_root_levels_are_written_as_ranges() -> None:
    for card in CARDS:
        for item in card.answer:
            singles = [r for r, _ in item.roots if r in SEGMENTS]
            assert len(singles) <= 5, (card.key, item.roots)


def test_a_list_of_seven_or_more_is_kept_whole_only_with_the_reason_a_course_asks_it() -> None:
    """Long lists are split (by group, or prime movers), except those a course asks whole: these
    are declared in the registry's `whole_lists:`, and the card says why."""
    whole = CHOSEN.facts.registry.whole_lists
    long = {card.key for card in CARDS if len(card.answer) >= 7}
    assert long == set(whole), (sorted(long - set(whole)), sorted(set(whole) - long))
    for key in long:
        assert whole[key] in FIELDS[key].back, key


def test_marked_main_segments_name_the_reference_that_marks_them() -> None:
    """Underlined root levels say whose: Moore's, the deck's main reference, or the one named."""
    marked = 0
    for card in CARDS:
        if card.kind != "innervation" or not any(main for i in card.answer for _, main in i.roots):
            assert "main segments" not in card.hint, card.key
            continue
        marked += 1
        (muscle_id,) = card.muscles
        muscle = CHOSEN.facts.muscle(muscle_id)
        marking = {s for i in muscle.innervation for s in i.main_from} | \
            {s for p in muscle.parts for i in p.innervation or () for s in i.main_from}
        shorts = {CHOSEN.facts.registry.sources[s].short for s in marking}
        assert marking and shorts <= set(card.sources), card.key
        assert card.hint.startswith("Marked: the main segments"), card.key
        if "moore-coa-8" not in marking:
            assert all(short in card.hint for short in shorts), card.key
        assert "<u>" in FIELDS[card.key].back, card.key
    assert marked >= 32


def test_reverse_questions_are_short() -> None:
    lengths = [words(c.question) for c in CARDS if c.kind == "reverse"]
    assert max(lengths) <= 30, [c.question for c in CARDS if c.kind == "reverse" and words(c.question) > 30]


def test_no_generic_clinical_question() -> None:
    for card in CARDS:
        assert not re.search(r"clinical relevance", card.question, re.I), card.key
        assert card.question.endswith("?"), card.key


def test_backs_are_short() -> None:
    lengths = [words(answer(c), *(x.text for x in c.cues), *c.notes) for c in CARDS]
    assert statistics.median(lengths) <= 20, statistics.median(lengths)
    assert sorted(lengths)[int(len(lengths) * 0.9)] <= 50, sorted(lengths)[int(len(lengths) * 0.9)]


def test_list_answers_count_muscles_not_heads() -> None:
    for card in CARDS:
        if card.kind in ("nerve-muscles", "action-muscles", "attachment-muscles"):
            named = [(i.group, i.text) for i in card.answer]
            assert len(named) == len(set(named)), (card.key, named)


def test_every_note_key_can_be_named_in_the_registry() -> None:
    """`removed:`, `card_notes:` and `whole_lists:` name cards by note key: every key must fit their pattern."""
    from builder.schema import NOTE_KEY

    assert [c.key for c in CARDS if not re.match(NOTE_KEY, c.key)] == []


def test_every_note_key_is_unique() -> None:
    keys = Counter(c.key for c in CARDS)
    assert not [k for k, n in keys.items() if n > 1]


def test_sources_are_listed_once() -> None:
    for card in CARDS:
        assert len(card.sources) == len(set(card.sources)), card.key


def test_every_card_is_core_or_tagged_as_extra() -> None:
    extra = [c for c in CARDS if "muscle-deck::yield::extra" in c.tags]
    assert all(not c.core for c in extra) and all(c.core for c in CARDS if c not in extra)
    assert {c.kind for c in extra} >= {"blood-supply", "attachment-muscles"}
    assert {"origin", "insertion", "innervation"} <= {c.kind for c in CARDS if c.core}
