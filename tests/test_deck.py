"""The built deck, imported into a fresh collection with the real `anki` package."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DECKS, MINI, TEMPLATES, collection, import_apkg

from builder.build import build
from builder.load import load
from builder.select import Selection

STYLE = re.compile(r"<style>.*?</style>", re.S)


def visible(html: str) -> str:
    """The text a learner sees: no CSS, no tags, collapsed spaces."""
    text = re.sub(r"<[^>]+>", "", STYLE.sub("", html))
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def real_deck(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[object, object]]:
    """The whole deck, built and imported into a fresh collection once for these tests."""
    folder = tmp_path_factory.mktemp("real")
    out = folder / "deck.apkg"
    result = build(DECKS, TEMPLATES, out, Selection(), at=1_800_000_000)
    with collection(folder / "col.anki2") as col:
        log = import_apkg(col, out)
        assert len(log.new) == result.notes
        yield col, result


@pytest.mark.parametrize("decks", [DECKS, MINI], ids=["real-deck", "mini-deck"])
def test_every_card_renders_in_anki(decks: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if decks == DECKS:
        col, result = request.getfixturevalue("real_deck")
        every_card_renders(col, result.notes)
        return
    out = tmp_path / "deck.apkg"
    result = build(decks, TEMPLATES, out, Selection(), at=1_800_000_000)
    with collection(tmp_path / "col.anki2") as col:
        assert len(import_apkg(col, out).new) == result.notes
        every_card_renders(col, result.notes)


def every_card_renders(col: object, notes: int) -> None:
    assert len(col.find_notes("")) == notes  # type: ignore[attr-defined]
    cids = col.find_cards("")  # type: ignore[attr-defined]
    assert len(cids) == notes  # one card per note
    fronts = []
    for cid in cids:
        card = col.get_card(cid)  # type: ignore[attr-defined]
        question, answer = visible(card.question()), visible(card.answer())
        assert question, f"empty front on card {cid}"
        assert answer.startswith(question)
        assert len(answer) > len(question) + 3, f"back adds no answer: {question}"
        assert "Sources" not in question
        fronts.append(question + " ".join(re.findall(r'<img src="([^"]+)"', card.question())))  # a picture asks too
    assert len(fronts) == len(set(fronts)), "two cards have the same front"


@pytest.mark.parametrize("words", ["waiter's", "Gray's", "Müller's muscle", "costal cartilages 7–12",
                                   '"Popeye"'])
def test_anki_search_finds_the_deck_s_own_words(real_deck: tuple[object, object], words: str) -> None:
    col, _ = real_deck
    found = col.find_notes(words if words.startswith('"') else f'"{words}"')  # type: ignore[attr-defined]
    assert found, words


def test_new_cards_come_in_course_order(real_deck: tuple[object, object]) -> None:
    col, _ = real_deck
    lower = col.find_cards('"deck:Muscle anatomy::Lower limb" is:new', order="c.due asc")  # type: ignore[attr-defined]
    notes = [col.get_card(c).note() for c in lower]  # type: ignore[attr-defined]
    first = [n["Front"] for n in notes[:12]]
    assert all("Gluteal region" in f for f in first), first  # the region's first group, as a course starts
    kinds = [n["Kind"] for n in notes]
    own = [i for i, k in enumerate(kinds) if k in ("origin", "insertion", "actions", "innervation")]
    reverse = [i for i, k in enumerate(kinds) if k in ("reverse", "location")]  # naming a muscle
    across = [i for i, k in enumerate(kinds) if k in ("nerve-muscles", "action-muscles", "attachment-muscles")]
    assert max(own) < min(reverse) and max(reverse) < min(across)  # named from attachments well after
    medius = [i for i, n in enumerate(notes) if n["Muscle"].startswith("Gluteus medius") and n["Kind"] != "reverse"
              and i < min(reverse)]
    assert len(medius) > 5 and medius == list(range(medius[0], medius[0] + len(medius)))  # its cards together
    anterior = next(i for i, n in enumerate(notes) if "Anterior compartment of thigh" in n["Front"])
    assert all("Gluteal region" not in n["Front"] for n in notes[anterior:min(reverse)])


def test_cards_across_regions_have_a_subdeck_of_their_own(real_deck: tuple[object, object]) -> None:
    col, _ = real_deck
    across = col.find_cards('"deck:Muscle anatomy::Across regions"')  # type: ignore[attr-defined]
    top = col.find_cards('"deck:Muscle anatomy" -"deck:Muscle anatomy::*"')  # type: ignore[attr-defined]
    assert across and not top


def test_mini_deck_contents(tmp_path: Path) -> None:
    out = tmp_path / "deck.apkg"
    build(MINI, TEMPLATES, out, Selection(), at=1_800_000_000)
    with collection(tmp_path / "col.anki2") as col:
        import_apkg(col, out)
        nid = col.find_notes('"Kind:innervation" "Muscle:Gluteus medius"')
        assert len(nid) == 1
        note = col.get_note(nid[0])
        assert "Superior gluteal nerve" in note["Back"]
        assert "<u>L5</u>" in note["Back"] and "L4" in note["Back"]
        assert "Some references give L4, L5 and S1." in note["Back"]  # the note on innervation, there only
        assert len(col.find_notes('"Back:*Some references give L4*"')) == 1
        assert "Moore COA 8e" in note["Sources"]
        assert "muscle-deck::region::lower-limb::gluteal" in note.tags
        assert "muscle-deck::nerve::superior-gluteal" in note.tags
        assert "muscle-deck::card::innervation" in note.tags
        # a muscle whose parts differ gets one card per part, naming the part
        parts = col.find_notes('"Kind:origin" "Muscle:Biceps femoris"')
        fronts = sorted(visible(col.get_note(n)["Front"]) for n in parts)
        assert fronts == [
            "Lower limb › Posterior compartment of thigh Origin of the long head of the biceps femoris?",
            "Lower limb › Posterior compartment of thigh Origin of the short head of the biceps femoris?",
        ]
        # both heads flex the knee alike: one card, about the whole muscle
        knee = [col.get_note(n) for n in col.find_notes('"Kind:actions" "Muscle:Biceps femoris" "Front:*Knee*"')]
        assert [visible(n["Front"]) for n in knee] == [
            "Lower limb › Posterior compartment of thigh Knee: what does the biceps femoris do?"]
        # a cue sits on the card where the two muscles are confused, and only there
        cued = col.find_notes('"Back:*Not to confuse with gluteus minimus*"')
        assert [col.get_note(n)["Kind"] for n in cued] == ["insertion"]
        # each clinical fact is its own card with its own question
        clinical = col.get_note(col.find_notes('"Kind:clinical" "Muscle:Gluteus medius"')[0])
        assert visible(clinical["Front"]).endswith(
            "Paralysis of gluteus medius: what happens to the pelvis in single-leg stance on the affected side?")
        # no blood supply in the facts: no blood-supply card, never an empty one
        assert not col.find_notes('"Kind:blood-supply" "Muscle:Biceps femoris"')
        tibial = col.find_notes('"Kind:innervation" "Front:*long head*"')
        assert "muscle-deck::nerve::sciatic::sciatic-tibial-division" in col.get_note(tibial[0]).tags


@pytest.mark.parametrize("region", ["head-neck", "pelvis-perineum"])
def test_a_region_builds_and_every_card_renders_in_anki(region: str, tmp_path: Path) -> None:
    """A region's own package (the whole deck's cards, every region's, render in
    test_every_card_renders_in_anki)."""
    out = tmp_path / f"{region}.apkg"
    result = build(DECKS, TEMPLATES, out, Selection(regions=(region,)), at=1_800_000_000)
    in_region = [m for m in load(DECKS).muscles if m.region == region]
    assert result.muscles >= len(in_region) > 5 and result.own_cards > 5 * len(in_region)
    with collection(tmp_path / "col.anki2") as col:
        log = import_apkg(col, out)
        assert len(log.new) == result.notes == len(col.find_cards(""))
        for cid in col.find_cards(""):
            card = col.get_card(cid)
            question, answer = visible(card.question()), visible(card.answer())
            assert question and answer.startswith(question), cid
            assert len(answer) > len(question) + 3, question
        assert col.find_notes(f"tag:muscle-deck::region::{region}")


def test_cards_show_their_images_in_anki(real_deck: tuple[object, object]) -> None:
    col, _ = real_deck
    media = Path(col.media.dir())  # type: ignore[attr-defined]
    located = col.find_notes("Kind:location")  # type: ignore[attr-defined]
    assert len(located) >= 185
    for nid in located[:20]:
        html = col.get_note(nid).cards()[0].question()  # type: ignore[attr-defined]
        name = re.search(r'<img src="([^"]+)"', html)
        assert name and (media / name.group(1)).is_file(), html  # the collection holds the file
        assert "CC BY-SA" in html  # with its credit
    origin = col.get_note(col.find_notes('"Kind:origin" "Muscle:Gluteus medius"')[0])  # type: ignore[attr-defined]
    back = origin.cards()[0].answer()
    assert re.search(r'<img src="gluteus-medius-attachment-[0-9a-f]{8}\.jpg"', back) and "md-key-origin" in back
    assert "<img" not in origin.cards()[0].question()  # no picture on a front that would give away an answer


def test_a_subset_carries_only_the_images_its_cards_use(tmp_path: Path) -> None:
    import json
    import zipfile

    out = tmp_path / "medius.apkg"
    build(DECKS, TEMPLATES, out, Selection(muscles=("gluteus-medius",)))
    with zipfile.ZipFile(out) as archive:
        names = set(json.loads(archive.read("media")).values())
    assert names and all(n.startswith("gluteus-medius-") for n in names)


def test_the_whole_deck_s_package_stays_under_30_mb(real_deck: tuple[object, object]) -> None:
    _, result = real_deck
    assert result.output.stat().st_size < 30 * 1024 * 1024  # type: ignore[attr-defined]
