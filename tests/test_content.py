"""The deck's own content: every muscle of the course is there, complete, cited and consistent."""

from __future__ import annotations

from conftest import DECKS, TEMPLATES

from builder.load import load
from builder.model import Facts
from builder.render import render

LOWER_LIMB = {
    "gluteal": ["gluteus-maximus", "gluteus-medius", "gluteus-minimus", "tensor-fasciae-latae", "piriformis",
                "obturator-internus", "superior-gemellus", "inferior-gemellus", "quadratus-femoris"],
    "anterior-thigh": ["iliacus", "psoas-major", "pectineus", "sartorius", "rectus-femoris", "vastus-lateralis",
                       "vastus-medialis", "vastus-intermedius", "articularis-genus"],
    "medial-thigh": ["obturator-externus", "adductor-longus", "adductor-brevis", "adductor-magnus", "gracilis"],
    "posterior-thigh": ["semitendinosus", "semimembranosus", "biceps-femoris"],
    "anterior-leg": ["tibialis-anterior", "extensor-hallucis-longus", "extensor-digitorum-longus",
                     "fibularis-tertius"],
    "lateral-leg": ["fibularis-longus", "fibularis-brevis"],
    "posterior-leg": ["gastrocnemius", "soleus", "plantaris", "popliteus", "flexor-hallucis-longus",
                      "flexor-digitorum-longus", "tibialis-posterior"],
    "dorsum-of-foot": ["extensor-digitorum-brevis", "extensor-hallucis-brevis"],
    "sole-layer-1": ["abductor-hallucis", "flexor-digitorum-brevis", "abductor-digiti-minimi-of-foot"],
    "sole-layer-2": ["quadratus-plantae", "lumbricals-of-foot"],
    "sole-layer-3": ["flexor-hallucis-brevis", "adductor-hallucis", "flexor-digiti-minimi-brevis-of-foot"],
    "sole-layer-4": ["plantar-interossei", "dorsal-interossei-of-foot"],
}
UPPER_LIMB = {
    "anterior-axio-appendicular": ["pectoralis-major", "pectoralis-minor", "subclavius", "serratus-anterior"],
    "posterior-axio-appendicular": ["trapezius", "latissimus-dorsi", "levator-scapulae", "rhomboid-major",
                                    "rhomboid-minor"],
    "scapulohumeral": ["deltoid", "teres-major", "supraspinatus", "infraspinatus", "teres-minor", "subscapularis"],
    "anterior-arm": ["biceps-brachii", "brachialis", "coracobrachialis"],
    "posterior-arm": ["triceps-brachii", "anconeus"],
    "anterior-forearm": ["pronator-teres", "flexor-carpi-radialis", "palmaris-longus", "flexor-carpi-ulnaris",
                         "flexor-digitorum-superficialis", "flexor-digitorum-profundus", "flexor-pollicis-longus",
                         "pronator-quadratus"],
    "posterior-forearm": ["brachioradialis", "extensor-carpi-radialis-longus", "extensor-carpi-radialis-brevis",
                          "extensor-digitorum", "extensor-digiti-minimi", "extensor-carpi-ulnaris", "supinator",
                          "abductor-pollicis-longus", "extensor-pollicis-brevis", "extensor-pollicis-longus",
                          "extensor-indicis"],
    "thenar": ["abductor-pollicis-brevis", "flexor-pollicis-brevis", "opponens-pollicis"],
    "short-muscles-of-hand": ["adductor-pollicis", "lumbricals-of-hand", "dorsal-interossei-of-hand",
                              "palmar-interossei"],
    "hypothenar": ["abductor-digiti-minimi-of-hand", "flexor-digiti-minimi-brevis-of-hand",
                   "opponens-digiti-minimi", "palmaris-brevis"],
}
HEAD_NECK = {
    "facial-expression": ["occipitofrontalis", "procerus", "corrugator-supercilii", "orbicularis-oculi", "nasalis",
                          "levator-labii-superioris", "levator-labii-superioris-alaeque-nasi", "zygomaticus-major",
                          "zygomaticus-minor", "levator-anguli-oris", "risorius", "orbicularis-oris", "buccinator",
                          "depressor-anguli-oris", "depressor-labii-inferioris", "mentalis", "platysma"],
    "mastication": ["masseter", "temporalis", "lateral-pterygoid", "medial-pterygoid"],
    "orbit": ["levator-palpebrae-superioris", "superior-tarsal-muscle", "superior-rectus", "inferior-rectus",
              "medial-rectus", "lateral-rectus", "superior-oblique", "inferior-oblique"],
    "middle-ear": ["tensor-tympani", "stapedius"],
    "tongue": ["genioglossus", "hyoglossus", "styloglossus", "palatoglossus", "superior-longitudinal-muscle-of-tongue",
               "inferior-longitudinal-muscle-of-tongue", "transverse-muscle-of-tongue", "vertical-muscle-of-tongue"],
    "soft-palate": ["tensor-veli-palatini", "levator-veli-palatini", "musculus-uvulae"],
    "pharynx": ["superior-pharyngeal-constrictor", "middle-pharyngeal-constrictor", "inferior-pharyngeal-constrictor",
                "stylopharyngeus", "salpingopharyngeus", "palatopharyngeus"],
    "larynx": ["cricothyroid", "posterior-cricoarytenoid", "lateral-cricoarytenoid", "transverse-arytenoid",
               "oblique-arytenoid", "thyroarytenoid"],
    "superficial-neck": ["sternocleidomastoid"],
    "suprahyoid": ["digastric", "stylohyoid", "mylohyoid", "geniohyoid"],
    "infrahyoid": ["sternohyoid", "omohyoid", "sternothyroid", "thyrohyoid"],
    "lateral-vertebral": ["anterior-scalene", "middle-scalene", "posterior-scalene"],
    "anterior-vertebral": ["longus-colli", "longus-capitis", "rectus-capitis-anterior", "rectus-capitis-lateralis"],
}
BACK = {
    "serratus-posterior": ["serratus-posterior-superior", "serratus-posterior-inferior"],
    "splenius": ["splenius-capitis", "splenius-cervicis"],
    "erector-spinae": ["iliocostalis", "longissimus", "spinalis"],
    "transversospinalis": ["semispinalis", "multifidus", "rotatores"],
    "minor-deep": ["interspinales", "intertransversarii", "levatores-costarum"],
    "suboccipital": ["rectus-capitis-posterior-major", "rectus-capitis-posterior-minor", "obliquus-capitis-superior",
                     "obliquus-capitis-inferior"],
}
THORAX = {
    "thoracic-wall": ["external-intercostal", "internal-intercostal", "innermost-intercostal", "subcostales",
                      "transversus-thoracis"],
    "diaphragm": ["diaphragm"],
}
ABDOMEN = {
    "anterolateral-abdominal-wall": ["external-oblique", "internal-oblique", "transversus-abdominis",
                                     "rectus-abdominis", "pyramidalis", "cremaster"],
    "posterior-abdominal-wall": ["quadratus-lumborum", "psoas-minor"],
}
PELVIS_PERINEUM = {
    "pelvic-diaphragm": ["levator-ani", "coccygeus"],
    "perineum": ["external-anal-sphincter", "external-urethral-sphincter", "deep-transverse-perineal",
                 "superficial-transverse-perineal", "ischiocavernosus", "bulbospongiosus"],
}
# Muscles whose heads or parts differ, and the parts their cards must name.
PARTS = {
    "adductor-magnus": 2, "biceps-femoris": 2, "gastrocnemius": 2, "lumbricals-of-foot": 2,
    "adductor-hallucis": 2, "flexor-digitorum-profundus": 2, "flexor-pollicis-brevis": 2,
    "lumbricals-of-hand": 2, "pectoralis-major": 2, "deltoid": 3, "trapezius": 3, "biceps-brachii": 2,
    "triceps-brachii": 3, "adductor-pollicis": 2,
}
FACTS: Facts = load(DECKS)


def pinned(region: str, groups: dict[str, list[str]]) -> None:
    found: dict[str, list[str]] = {}
    for m in FACTS.muscles:
        if m.region == region:
            found.setdefault(m.group or "", []).append(m.id)
    assert {g: sorted(ids) for g, ids in found.items()} == {g: sorted(ids) for g, ids in groups.items()}


def test_every_lower_limb_muscle_is_there() -> None:
    pinned("lower-limb", LOWER_LIMB)


def test_every_upper_limb_muscle_is_there() -> None:
    pinned("upper-limb", UPPER_LIMB)


def test_every_head_and_neck_muscle_is_there() -> None:
    pinned("head-neck", HEAD_NECK)


def test_every_muscle_of_the_trunk_is_there() -> None:
    pinned("back", BACK)
    pinned("thorax", THORAX)
    pinned("abdomen", ABDOMEN)
    pinned("pelvis-perineum", PELVIS_PERINEUM)


def test_roots_are_a_subset_of_the_nerves_roots() -> None:
    nerves = FACTS.registry.nerves
    checked = 0
    for m in FACTS.muscles:
        supplies = list(m.innervation) + [i for p in m.parts for i in p.innervation]
        assert supplies, m.id
        for supply in supplies:
            nerve = nerves[supply.nerve]
            assert set(supply.roots) <= set(nerve.roots), (m.id, supply.nerve)
            assert set(supply.main_roots) <= set(supply.roots), m.id
            assert nerve.cranial or supply.roots, (m.id, supply.nerve)
            checked += 1
    brachial = {"musculocutaneous", "median", "ulnar", "radial", "axillary", "long-thoracic", "thoracodorsal",
                "suprascapular", "lateral-pectoral", "medial-pectoral", "dorsal-scapular"}
    used = {i.nerve for m in FACTS.muscles for i in list(m.innervation) + [x for p in m.parts for x in p.innervation]}
    assert brachial <= used
    assert checked > 100


def test_parts_differ_and_their_cards_name_them() -> None:
    cards = render(FACTS, TEMPLATES)
    for muscle_id, count in PARTS.items():
        muscle = FACTS.muscle(muscle_id)
        assert len(muscle.parts) == count, muscle_id
        for part in muscle.parts:
            own = [c for c in cards if c.key.startswith(f"{muscle.identity}:{part.id}/")]
            assert own, (muscle_id, part.id)
            # each names its part, unless all the parts share it: then it asks about the whole muscle
            for card in own:
                said = card.question + " ".join(i.text + i.part for i in card.answer)
                if part.name not in said:
                    assert "has a part" not in card.question, card.key
                    assert all(p.name not in said for p in muscle.parts), card.key


def test_every_muscle_is_complete_and_cited() -> None:
    sources = FACTS.registry.sources
    for m in FACTS.muscles:
        assert m.units("origin") and m.units("insertion") and m.units("actions"), m.id
        assert any(sources[s].kind in ("textbook", "atlas") for s in m.sources), m.id
        if m.region in ("lower-limb", "upper-limb"):  # elsewhere, where the references give it (CONTENT.md)
            assert m.units("blood_supply"), f"{m.id}: no blood supply"
    assert sum(1 for m in FACTS.muscles if m.units("blood_supply")) >= 0.95 * len(FACTS.muscles)
    assert sum(len(m.clinical) for m in FACTS.muscles) + len(FACTS.registry.clinical) >= 200


def test_the_registry_asks_a_blood_supply_of_every_limb_muscle() -> None:
    """So that `validate` enforces it (tests/test_validation.py shows it does)."""
    import yaml

    regions = yaml.safe_load((DECKS / "registry" / "regions.yaml").read_text(encoding="utf-8"))["regions"]
    assert {r for r, v in regions.items() if "blood_supply" in v.get("requires", ())} == {"lower-limb", "upper-limb"}


def test_names_of_hand_and_foot_twins_say_which() -> None:
    names = {m.id: m.name for m in FACTS.muscles}
    for twin in ("abductor-digiti-minimi", "flexor-digiti-minimi-brevis", "lumbricals", "dorsal-interossei"):
        assert names[f"{twin}-of-hand"].endswith("(hand)") and names[f"{twin}-of-foot"].endswith("(foot)")


def test_the_readme_says_what_the_deck_covers() -> None:
    from builder.pictures import with_pictures
    from builder.stats import coverage_table

    readme = (DECKS.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("### What the deck covers today")[1].split("\n\n")[1] + "\n"
    assert table == coverage_table(with_pictures(FACTS)), "run `muscle-deck stats --markdown` into README.md"
