"""Cards across muscles (nerve → muscles, action → muscles, lesions, attachments, myotomes)."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import DECKS, TEMPLATES, collection, import_apkg, review_then_update
from test_deck import visible

from builder.build import build, relock
from builder.load import load
from builder.model import Card
from builder.relations import MAX_ITEMS
from builder.render import render
from builder.select import Selection, select

T0, T1, T2 = 1_800_000_000, 1_800_100_000, 1_800_200_000


def listed_in_anki(back_html: str) -> list[str]:
    """The muscle names of a list answer as Anki shows it, without parts, qualifiers or badges."""
    return [visible(re.sub(r"<span.*?</span>", "", li)).rstrip(":").strip()
            for li in re.findall(r"<li>(.*?)</li>", back_html, re.S)]


def listed(card: Card) -> list[str]:
    """The names of a card's answer items."""
    return [i.text for i in card.answer]


def test_real_deck_superior_gluteal_nerve_card(tmp_path: Path) -> None:
    out = tmp_path / "deck.apkg"
    build(DECKS, TEMPLATES, out, Selection(cards=("nerve-muscles", "action-muscles")))
    with collection(tmp_path / "col.anki2") as col:
        import_apkg(col, out)
        nids = col.find_notes('"Kind:nerve-muscles" "Front:*superior gluteal nerve*"')
        assert len(nids) == 1
        note = col.get_note(nids[0])
        assert sorted(listed_in_anki(note["Back"])) == ["Gluteus medius", "Gluteus minimus", "Tensor fasciae latae"]
        assert "muscle-deck::nerve::superior-gluteal" in note.tags
        hip = [col.get_note(n) for n in col.find_notes('"Kind:action-muscles" "Front:*Hip: which*abduction*"')]
        assert hip and any("Gluteus medius" in listed_in_anki(n["Back"]) for n in hip)
        for nid in col.find_notes("Kind:*-muscles"):  # no list longer than one can recall, unless grouped
            back = col.get_note(nid)["Back"]
            assert len(listed_in_anki(back)) <= MAX_ITEMS or "md-grouped" in back


def test_real_deck_has_lesion_and_myotome_cards(real: object) -> None:
    every = real.every  # type: ignore[attr-defined]
    lesion = next(c for c in every if c.key == "nerve:superior-gluteal/lesion")
    assert "Hip: abduction" in listed(lesion)
    gait = next(c for c in every if c.key == "clinical:superior-gluteal-gait/clinical")
    assert "gait" in gait.answer[0].text and "superior gluteal nerve" in gait.question.lower()
    myotome = next(c for c in every if c.key == "root:L4/myotome")
    assert listed(myotome) == ["Ankle: dorsiflexion"] and "tibialis anterior" in myotome.hint


def test_subset_cards_state_the_full_answer(mini: Path) -> None:
    facts = load(mini)
    every = render(facts, TEMPLATES)
    subset = select(facts, every, Selection(muscles=("gluteus-minimus",))).cards
    nerve = next(c for c in subset if c.kind == "nerve-muscles")
    assert listed(nerve) == ["Gluteus medius", "Gluteus minimus"]
    full = {c.key: c for c in every}
    assert all(full[c.key] == c for c in subset)
    assert {c.kind for c in subset} >= {"nerve-muscles", "action-muscles", "attachment-muscles"}


def test_adding_a_muscle_updates_generated_cards_in_place(mini: Path, tmp_path: Path) -> None:
    relock(mini, TEMPLATES, at=T0)
    v1 = tmp_path / "v1.apkg"
    build(mini, TEMPLATES, v1, Selection(), at=T1)
    tfl = (mini / "lower-limb/gluteal/gluteus-minimus.yaml").read_text(encoding="utf-8")
    tfl = (tfl.replace("gluteus-minimus", "tensor-fasciae-latae").replace("Gluteus minimus", "Tensor fasciae latae")
           .replace("External surface of the ilium between the anterior and inferior gluteal lines",
                    "Anterior superior iliac spine and the iliac crest")
           .replace("Anterior surface of the greater trochanter", "Iliotibial tract")
           + "clue: arises from the anterior superior iliac spine and inserts on the iliotibial tract\n")
    (mini / "lower-limb/gluteal/tensor-fasciae-latae.yaml").write_text(tfl, encoding="utf-8")
    relock(mini, TEMPLATES, at=T2)  # released: a build of notes not yet locked never replaces released ones
    v2 = tmp_path / "v2.apkg"
    build(mini, TEMPLATES, v2, Selection(), at=T2)
    with collection(tmp_path / "col.anki2") as col:
        reviewed, log = review_then_update(col, v1, v2)
        updated = {col.get_note(n.id.nid)["Kind"] for n in log.updated}
        assert updated == {"nerve-muscles", "action-muscles", "attachment-muscles", "lesion", "clinical"}
        nid = col.find_notes('"Kind:nerve-muscles" "Front:*superior gluteal*"')[0]
        names = listed_in_anki(col.get_note(nid)["Back"])
        assert names == ["Gluteus medius", "Gluteus minimus", "Tensor fasciae latae"]
        assert col.db.scalar("select count() from revlog") == reviewed
        assert len(log.new) == 5  # the new muscle's own cards


def test_a_long_list_keeps_its_note_and_is_grouped(mini: Path) -> None:
    template = (mini / "lower-limb/gluteal/gluteus-minimus.yaml").read_text(encoding="utf-8")
    before = {c.key for c in render(load(mini), TEMPLATES)}
    for i in range(10):  # ten more hip abductors supplied by the superior gluteal nerve
        group = "gluteal" if i < 5 else "posterior-thigh"
        text = (template.replace("gluteus-minimus", f"abductor-{i}").replace("Gluteus minimus", f"Abductor {i}")
                .replace("group: gluteal", f"group: {group}")
                .replace("Anterior surface", f"Surface {i}").replace("between the anterior", f"at {i}")
                + f"clue: is the abductor numbered {i}\n")
        (mini / "lower-limb" / group / f"abductor-{i}.yaml").write_text(text, encoding="utf-8")
    every = render(load(mini), TEMPLATES)
    keys = {c.key for c in every}
    assert before <= keys  # no note replaced: a list's key never depends on its length
    for key in ("action:hip:abduction/action-muscles", "nerve:superior-gluteal/nerve-muscles",
                "landmark:ilium:origin/attachment-muscles"):
        card = _card(every, key)
        groups = [i.group for i in card.answer]  # type: ignore[attr-defined]
        assert set(groups) == {"Gluteal region", "Posterior compartment of thigh"}, key
        assert groups == sorted(groups, key=lambda g: g != "Gluteal region"), key  # in course order
        assert len(card.muscles) == 12, key  # type: ignore[attr-defined]


def _card(cards: list, key: str) -> object:
    found = [c for c in cards if c.key == key]
    assert found, f"no card {key}"
    return found[0]


def test_cards_across_muscles_give_the_whole_body_answer(real: object) -> None:
    every = real.every  # type: ignore[attr-defined]
    extension = [c for c in every if c.key.startswith("action:vertebral-column:extension/")]
    assert extension
    assert {"Iliocostalis", "Longissimus", "Spinalis"} <= {m for c in extension for m in listed(c)}
    assert "Trapezius" not in {m for c in extension for m in listed(c)}  # it extends the neck and head
    crest = listed(_card(every, "landmark:iliac-crest:origin/attachment-muscles"))  # type: ignore[attr-defined]
    assert {"Internal oblique", "Transversus abdominis", "Quadratus lumborum"} <= set(crest)
    nuchal = listed(_card(every, "landmark:nuchal-ligament:origin/attachment-muscles"))  # type: ignore[attr-defined]
    assert {"Trapezius", "Rhomboid minor", "Splenius capitis"} <= {m.split(",")[0] for m in nuchal}
    ribs = [m.split(",")[0] for c in every if c.key.startswith("action:ribs:elevation/") for m in listed(c)]
    assert {"External intercostal", "Levatores costarum", "Serratus posterior superior"} <= set(ribs)
    abduction = listed(_card(every, "action:vocal-folds:abduction/action-muscles"))  # type: ignore[attr-defined]
    assert abduction == ["Posterior cricoarytenoid"]


def test_cranial_nerve_cards_ask_for_the_nerve_and_branch_never_roots(real: object) -> None:
    facts, every = real.facts, real.every  # type: ignore[attr-defined]
    cranial = {n.name for n in facts.registry.nerves.values() if n.cranial}
    for card in every:
        if card.kind == "innervation" and {i.text for i in card.answer} <= cranial:
            assert "root levels" not in card.question and not any(i.roots for i in card.answer), card.key
    supplied = {c.key.split("/")[0][len("nerve:"):] for c in every if c.kind == "nerve-muscles"}
    for nerve in ("facial", "temporal-branches-of-facial", "mandibular", "vagus",
                  "recurrent-laryngeal", "external-laryngeal", "pharyngeal-plexus", "hypoglossal", "oculomotor",
                  "trochlear", "abducens", "ansa-cervicalis", "c1-via-hypoglossal", "phrenic", "pudendal"):
        assert nerve in supplied, nerve
    assert "masseteric" not in supplied  # the masseteric nerve names its one muscle: nothing to ask


def test_extraocular_muscles_have_both_kinds_of_action(real: object) -> None:
    every = real.every  # type: ignore[attr-defined]
    for muscle in ("superior-rectus", "inferior-rectus", "medial-rectus", "lateral-rectus", "superior-oblique",
                   "inferior-oblique"):
        own = [c for c in every if c.muscles == (muscle,)]
        assert any(c.key == f"{muscle}/actions/eye" and "from the primary position" in c.question for c in own), muscle
        assert any(c.kind == "clinical" and "test" in c.question.lower() for c in own), muscle
