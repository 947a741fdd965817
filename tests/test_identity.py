"""A note keeps its identity when the facts grow: adding a muscle to a long list, splitting a
muscle in two and reordering a muscle's parts update released notes in place in real Anki, and
replace none of them."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from conftest import TEMPLATES, collection, import_apkg, review_all

from builder import lock
from builder.build import build, cards, relock
from builder.select import Selection

T0, T1, T2 = 1_800_000_000, 1_800_100_000, 1_800_200_000

KNEE_FLEXOR = """\
id: accessory-knee-flexor
name: Accessory knee flexor
region: lower-limb
group: posterior-thigh
origin: {text: "Ischial tuberosity, below the hamstrings", sites: [ischial-tuberosity]}
insertion: {text: Medial condyle of the tibia, sites: [medial-condyle-of-tibia]}
actions: [{joint: knee, movement: flexion}]
innervation: [{nerve: sciatic-tibial-division, roots: [L5, S1]}]
clue: is a made-up knee flexor used to test note identity
blood_supply: A made-up artery
sources: [moore-coa-8]
"""
PLANTARFLEXOR = """\
id: accessory-plantarflexor
name: Accessory plantarflexor
region: lower-limb
group: posterior-leg
origin: {text: Posterior surface of the tibia, sites: [posterior-surface-of-tibia]}
insertion: {text: Calcaneal tendon, sites: [calcaneal-tendon]}
actions: [{joint: ankle, movement: plantarflexion}]
innervation: [{nerve: tibial, roots: [S1, S2]}]
clue: is a made-up plantarflexor used to test note identity
blood_supply: A made-up artery
sources: [moore-coa-8]
"""
SECOND_HALF = """\
id: gracilis-posterior
name: Gracilis, posterior half
region: lower-limb
group: medial-thigh
origin: {text: "Inferior ramus of the pubis, posterior half", sites: [inferior-pubic-ramus]}
insertion: {text: Medial surface of the tibia, sites: [medial-condyle-of-tibia]}
actions: [{joint: hip, movement: adduction}]
innervation: [{nerve: obturator, roots: [L2, L3]}]
clue: is the posterior half of a made-up split of gracilis
blood_supply: A made-up artery
sources: [moore-coa-8]
"""


def grow(decks: Path) -> set[str]:
    """Add a knee flexor (the knee's flexors were 8) and a plantarflexor (the tibial nerve's list is
    asked by group; ankle plantarflexion had 8), split gracilis in two, and reverse the order of
    the biceps femoris's parts. The ids of the new muscles."""
    (decks / "lower-limb/posterior-thigh/accessory-knee-flexor.yaml").write_text(KNEE_FLEXOR, encoding="utf-8")
    (decks / "lower-limb/posterior-leg/accessory-plantarflexor.yaml").write_text(PLANTARFLEXOR, encoding="utf-8")
    old = decks / "lower-limb/medial-thigh/gracilis.yaml"
    first = old.read_text(encoding="utf-8").replace("id: gracilis\n", "id: gracilis-anterior\nformer_ids: [gracilis]\n")
    old.unlink()
    for other in decks.rglob("*.yaml"):  # what named gracilis now names its anterior half
        text = other.read_text(encoding="utf-8")
        other.write_text(re.sub(r"(?<![\w-])gracilis(?![\w-])", "gracilis-anterior", text), encoding="utf-8")
    (decks / "lower-limb/medial-thigh/gracilis-anterior.yaml").write_text(first, encoding="utf-8")
    (decks / "lower-limb/medial-thigh/gracilis-posterior.yaml").write_text(SECOND_HALF, encoding="utf-8")
    biceps = decks / "lower-limb/posterior-thigh/biceps-femoris.yaml"
    data = yaml.safe_load(biceps.read_text(encoding="utf-8"))
    data["parts"].reverse()
    biceps.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return {"accessory-knee-flexor", "accessory-plantarflexor", "gracilis-posterior"}


def test_growing_the_facts_updates_released_notes_in_place(real_copy: Path, tmp_path: Path) -> None:
    (real_copy / "notes.lock").unlink()
    relock(real_copy, TEMPLATES, at=T0)
    v1 = tmp_path / "v1.apkg"
    build(real_copy, TEMPLATES, v1, Selection(), at=T1)
    released = set(lock.read(real_copy)) - {lock.MODEL_KEY}
    added = grow(real_copy)
    grown = {c.key: c for c in cards(real_copy, TEMPLATES).every}
    assert released <= set(grown)  # no key lost: every released note is still in the deck
    knee = grown["action:knee:flexion/action-muscles"]
    assert "accessory-knee-flexor" in knee.muscles and len(knee.muscles) == 9
    leg = grown["nerve:tibial/nerve-muscles/group:posterior-leg"]  # the tibial nerve supplies all of them
    assert "accessory-plantarflexor" in leg.muscles and [i.text for i in leg.answer] == ["Tibial nerve"]
    v2 = tmp_path / "v2.apkg"
    relock(real_copy, TEMPLATES, at=T2)  # the next release
    build(real_copy, TEMPLATES, v2, Selection(), at=T2)
    with collection(tmp_path / "col.anki2") as col:
        first = import_apkg(col, v1)
        reviewed = review_all(col)
        before = {col.get_note(n).guid for n in col.find_notes("")}
        log = import_apkg(col, v2)
        after = {col.get_note(n).guid for n in col.find_notes("")}
        assert before <= after and len(after) == len(first.new) + len(log.new)
        new_keys = {k for k in grown if k not in released}
        assert {lock.guid(k) for k in new_keys} == {col.get_note(n.id.nid).guid for n in log.new}
        # the new muscles' notes, and a landmark list that is no longer the same as another's
        assert all(any(m in added for m in grown[k].muscles) or grown[k].kind == "attachment-muscles"
                   for k in new_keys)
        updated = {col.get_note(n.id.nid).guid for n in log.updated}
        for key in ("action:knee:flexion/action-muscles", "action:ankle:plantarflexion/action-muscles",
                    "nerve:tibial/nerve-muscles/group:posterior-leg", "gracilis/origin"):
            assert lock.guid(key) in updated, key
        assert col.db.scalar("select count() from revlog") == reviewed  # every review kept
        biceps = {col.get_note(n).guid for n in col.find_notes('"Muscle:Biceps femoris*"')}
        assert biceps and biceps <= before  # reordering the parts made no note


def test_a_split_muscle_cannot_give_its_former_id_to_both_halves(real_copy: Path) -> None:
    from builder.errors import ValidationError
    from builder.load import load

    grow(real_copy)
    path = real_copy / "lower-limb/medial-thigh/gracilis-posterior.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "former_ids: [gracilis]\n", encoding="utf-8")
    try:
        load(real_copy)
    except ValidationError as err:
        assert any("gracilis" in p.message and "former" in p.message for p in err.problems), err.problems
    else:
        raise AssertionError("two fact files claimed one former id")
