"""Bad input gets a clear `file:line:col: message`, never a traceback, and nothing is written."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from builder.cli import main

MINIMUS = "lower-limb/gluteal/gluteus-minimus.yaml"
GOOD = """\
id: gluteus-minimus
name: Gluteus minimus
region: lower-limb
group: gluteal
origin:
  text: External surface of the ilium
  sites: [ilium]
insertion:
  text: Anterior surface of the greater trochanter
  sites: [greater-trochanter]
actions:
  - joint: hip
    movement: abduction
innervation:
  - nerve: superior-gluteal
    roots: [L4, L5, S1]
sources: [moore-coa-8]
"""


def validate(decks: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(main, ["validate", "--decks", str(decks)])
    assert not result.exception or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr.strip().splitlines()


def problems_in(decks: Path, text: str | bytes, name: str = MINIMUS) -> list[str]:
    path = decks / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    code, lines = validate(decks)
    assert code == 1
    assert lines[-1].startswith("Error: ") and "problem" in lines[-1]
    prefix = str(path) + ":"
    return [line[len(prefix):] for line in lines[:-1] if line.startswith(prefix)]


def test_the_good_file_is_fine(mini: Path) -> None:
    (mini / MINIMUS).write_text(GOOD, encoding="utf-8")
    assert validate(mini) == (0, [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GOOD.replace("origin:\n", "origin:\n\ttext: x\n", 1),
         ["6:1: tab character in indentation; indent with spaces"]),
        (GOOD.replace("  sites: [ilium]", "  sites: [ilium"),
         ["8:10: YAML syntax error: while parsing a flow sequence did not find expected ',' or ']'; "
          "check the indentation and quoting"]),
        (GOOD + "name: Gluteus maximus\n",
         ["18:1: duplicate key 'name' (first at line 2); keep one of them"]),
        (GOOD.replace("origin:", "orgin:"),
         ["1:1: missing required key 'origin'; add it (for the whole muscle, or in every part)",
          "5:1: unknown key 'orgin' (did you mean 'origin'?)"]),
        (GOOD + "colour: red\n", ["18:1: unknown key 'colour' (did you mean 'clue'?)"]),
        (GOOD + "weight: 3\n", ["18:1: unknown key 'weight'; remove it"]),
        (GOOD.replace("name: Gluteus minimus", "name: [Gluteus minimus]"),
         ["2:7: 'name' must be text, not a list"]),
        (GOOD.replace("  - joint: hip\n    movement: abduction\n", "  joint: hip\n"),
         ["12:3: 'actions' must be a list, not a mapping; write each item on a line starting with '- ', "
          "or as [a, b]"]),
        (GOOD.replace("name: Gluteus minimus", "name: ''"), ["2:7: 'name' is empty; fill it in or remove the key"]),
        (GOOD.replace("sources: [moore-coa-8]\n", ""), ["1:1: missing required key 'sources'; add it"]),
        (GOOD.replace("sources: [moore-coa-8]", "sources: []"),
         ["17:10: 'sources' needs at least 1 item; add them or remove the key"]),
        (GOOD.replace("sources: [moore-coa-8]", "sources: [wikipedia]"),
         ["17:10: cite at least one textbook or atlas (e.g. moore-coa-8, gray-42, netter-7)"]),
        (GOOD.replace("id: gluteus-minimus", "id: Gluteus_Minimus"),
         ["1:5: 'id' 'Gluteus_Minimus' is not valid: use lower-case words joined by hyphens, e.g. 'gluteus-medius'"]),
        (GOOD.replace("nerve: superior-gluteal", "nerve: superior-glutael"),
         ["15:12: unknown nerve 'superior-glutael' (did you mean 'superior-gluteal'?)"]),
        (GOOD.replace("region: lower-limb", "region: lower-leg"),
         ["1:5: file is at lower-limb/gluteal/gluteus-minimus.yaml; by its id, region and group it belongs at "
          "lower-leg/gluteal/gluteus-minimus.yaml; move it",
          "3:9: unknown region 'lower-leg' (did you mean 'lower-limb'?)"]),
        (GOOD.replace("group: gluteal", "group: glutael"),
         ["1:5: file is at lower-limb/gluteal/gluteus-minimus.yaml; by its id, region and group it belongs at "
          "lower-limb/glutael/gluteus-minimus.yaml; move it",
          "4:8: unknown group 'glutael' in region 'lower-limb' (did you mean 'gluteal'?)"]),
        (GOOD.replace("joint: hip", "joint: hips"), ["12:12: unknown joint 'hips' (did you mean 'hip'?)"]),
        (GOOD.replace("movement: abduction", "movement: flexon"),
         ["13:15: the hip has no movement 'flexon'; use one of: flexion, extension, abduction, "
          "medial-rotation, lateral-rotation, stabilization",
          "13:15: unknown movement 'flexon' (did you mean 'flexion'?)"]),
        (GOOD.replace("roots: [L4, L5, S1]", "roots: [L4, L5, S1, S3]"),
         ["16:12: root S3 is not among the Superior gluteal nerve's roots (L4, L5, S1); check the levels, "
          "or the nerve's entry in the registry"]),
        (GOOD.replace("roots: [L4, L5, S1]", "roots: [L4, X9]"),
         ["16:17: 'roots' 'X9' is not valid: write a spinal segment such as C5, T1, L4 or S2"]),
        (GOOD.replace("sites: [ilium]", "sites: [ilum]"),
         ["7:11: unknown landmark 'ilum' (did you mean 'ilium'?)"]),
        (GOOD.replace("name: Gluteus minimus", "name: Gluteus medius"),
         ["2:7: name 'Gluteus medius' is already used by"]),
        ("", ["1:1: file is empty; write the muscle's facts in it or delete it"]),
        ("# only a comment\n", ["1:1: file is empty; write the muscle's facts in it or delete it"]),
        (GOOD + "---\nid: other\n", ["18:1: file holds several YAML documents ('---'); keep one muscle per file"]),
        (GOOD.replace("name: Gluteus minimus", "name: !!python/object/apply:os.system ['echo hacked']"),
         ["2:7: YAML tag '!!python/object/apply:os.system' is not allowed; remove it"]),
        (GOOD.replace("name: Gluteus minimus", "name: &n Gluteus minimus") + "aliases: [*n]\n",
         ["2:7: anchors and aliases (& and *) are not allowed; write the value out"]),
        (GOOD.replace("name: Gluteus minimus", "name: " + "x" * 5000),
         ["2:7: value is 5,000 characters long, more than 4,000; shorten it"]),
        (GOOD.replace("name: Gluteus minimus", "name: " + "x" * 100),
         ["2:7: 'name' is 100 characters long, more than 80; shorten it"]),
        ("[" * 30 + "]" * 30, ["1:22: nested more than 20 levels deep; flatten the structure"]),
        (GOOD.replace("id: gluteus-minimus", "id: gluteus-medius"),
         ["1:5: file is at lower-limb/gluteal/gluteus-minimus.yaml; by its id, region and group it belongs "
          "at lower-limb/gluteal/gluteus-medius.yaml; move it",
          "1:5: muscle id 'gluteus-medius' is already used by"]),
    ],
    ids=lambda v: v[:0] if isinstance(v, str) else None,
)
def test_each_mistake_gets_a_clear_message(mini: Path, text: str, expected: list[str]) -> None:
    found = problems_in(mini, text)
    assert len(found) == len(expected), found
    for got, want in zip(found, expected, strict=True):
        assert got.startswith(want), got


def test_not_utf8(mini: Path) -> None:
    assert problems_in(mini, GOOD.replace("minimus\nregion", "m\xednimus\nregion").encode("latin-1")) == [
        "2:16: file is not valid UTF-8; save it with UTF-8 encoding"]


def test_huge_file(mini: Path) -> None:
    assert problems_in(mini, GOOD + "# " + "x" * 300_000 + "\n") == [
        "1:1: file is 300,370 bytes, more than the 262,144 a fact file may have; split it or shorten it"]


def test_duplicate_ids_across_files(mini: Path) -> None:
    found = problems_in(mini, GOOD.replace("group: gluteal\n", ""), "lower-limb/gluteus-minimus.yaml")
    assert found == ["1:5: muscle id 'gluteus-minimus' is already used by " + str(mini / MINIMUS)
                     + "; ids must be unique",
                     "2:7: name 'Gluteus minimus' is already used by " + str(mini / MINIMUS)
                     + "; names must be unique"]


def test_every_problem_reported_in_one_run(mini: Path) -> None:
    (mini / MINIMUS).write_text(GOOD.replace("orig", "orgi").replace("joint: hip", "joint: hips"), encoding="utf-8")
    bad = mini / "lower-limb/gluteal/gluteus-medius.yaml"
    bad.write_text(bad.read_text(encoding="utf-8") + "name: twice\n")
    code, lines = validate(mini)
    assert code == 1
    assert len(lines) == 5 and lines[-1].startswith("Error: 4 problems")
    last = len(bad.read_text(encoding="utf-8").splitlines())
    assert any(f"gluteus-medius.yaml:{last}:1: duplicate key 'name' (first at line 2)" in line for line in lines)
    assert any("gluteus-minimus.yaml:12:12: unknown joint 'hips'" in line for line in lines)


def test_build_writes_nothing_on_invalid_input(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "deck.apkg"
    runner = CliRunner()
    assert runner.invoke(main, ["build", "--decks", str(mini), "-o", str(out)]).exit_code == 0
    before = out.read_bytes()
    (mini / MINIMUS).write_text(GOOD.replace("joint: hip", "joint: hips"), encoding="utf-8")
    result = runner.invoke(main, ["build", "--decks", str(mini), "-o", str(out)])
    assert result.exit_code == 1
    assert "unknown joint 'hips'" in result.stderr
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_file_that_does_not_parse_is_the_only_problem_reported(mini: Path) -> None:
    """Other files that name its muscle are not blamed for it: its file name is its id."""
    medius = mini / "lower-limb/gluteal/gluteus-medius.yaml"
    assert "muscle: gluteus-minimus" in medius.read_text(encoding="utf-8")  # a reference to the broken file's muscle
    (mini / MINIMUS).write_text(GOOD.replace("name: Gluteus minimus", "name: [Gluteus minimus"), encoding="utf-8")
    code, lines = validate(mini)
    assert code == 1
    assert lines[-1].startswith("Error: 1 problem")
    assert lines[0].startswith(f"{mini / MINIMUS}:3:7: YAML syntax error")  # where libyaml noticed it


# --- the files themselves ---------------------------------------------------------------------

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX special files and links")


def only_problem(decks: Path) -> str:
    code, lines = validate(decks)
    assert code == 1 and lines[-1].startswith("Error: 1 problem"), lines
    return lines[0]


@POSIX
def test_a_pipe_named_like_a_fact_file_is_reported_not_read(mini: Path) -> None:
    os.mkfifo(mini / "lower-limb" / "gluteal" / "x.yaml")
    started = time.monotonic()
    assert only_problem(mini).endswith("x.yaml:1:1: not a regular file (a device, pipe or folder); replace it with "
                                       "a plain text file or remove it")
    assert time.monotonic() - started < 10  # it did not wait for a writer


@POSIX
@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_link_to_a_device_is_reported_not_read(mini: Path) -> None:
    (mini / "lower-limb" / "gluteal" / "zero.yaml").symlink_to("/dev/zero")
    line = only_problem(mini)
    assert line.endswith("zero.yaml:1:1: is a link to /dev/zero, outside the decks folder; copy the file here "
                         "instead")


@POSIX
def test_a_link_out_of_the_decks_folder_is_reported(mini: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(GOOD, encoding="utf-8")
    (mini / "lower-limb" / "gluteal" / "elsewhere.yaml").symlink_to(outside)
    assert "elsewhere.yaml:1:1: is a link to " in only_problem(mini)
    (mini / "lower-limb" / "gluteal" / "elsewhere.yaml").unlink()
    (mini / "lower-limb" / "linked").symlink_to(tmp_path, target_is_directory=True)
    assert only_problem(mini).endswith("linked:1:1: is a link to a folder; put the folder itself here")


def test_a_folder_that_cannot_be_read_is_an_error(mini: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = mini / "lower-limb" / "posterior-thigh"
    real = os.scandir

    def scandir(path: object = ".") -> object:
        if Path(str(path)) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    line = only_problem(mini)
    assert line.endswith("posterior-thigh:1:1: cannot read this folder: Permission denied; make it readable or "
                         "remove it")


def test_an_id_with_a_line_break_is_not_an_id(mini: Path) -> None:
    found = problems_in(mini, GOOD.replace("id: gluteus-minimus", 'id: "gluteus-minimus\\n"'))
    assert found[0].startswith("1:5: 'id' 'gluteus-minimus\\n' is not valid: use lower-case words joined by hyphens")
    result = CliRunner().invoke(main, ["new", "abc\n", "--region", "lower-limb", "--decks", str(mini)])
    assert result.exit_code == 1
    assert result.stderr.strip() == ("Error: 'abc\\n' is not a valid id: use lower-case words joined by hyphens, "
                                     "e.g. 'gluteus-medius'")
    long_id = "a" * 300
    result = CliRunner().invoke(main, ["new", long_id, "--region", "lower-limb", "--decks", str(mini)])
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: the id is 300 characters long, more than 80; shorten it"


# --- notes, cues, clinical facts and nerve injuries name what exists ----------------------------

@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("notes:\n  - card: actions/knee\n    text: x\n    sources: [moore-coa-8]\n",
         "18:11: 'actions/knee' is not a card of this muscle (did you mean 'actions/hip'?); its cards are: origin, "
         "insertion, actions/hip, innervation, reverse"),
        ("confusable:\n  - muscle: gluteus-medius\n    card: long-head/origin\n    cue: x\n",
         "19:11: 'long-head/origin' is not a card of this muscle"),
        ("clinical:\n  - id: sign\n    question: Clinical relevance of gluteus minimus?\n    answer: x\n"
         "    sources: [moore-coa-8]\n",
         "19:15: ask one specific question that has one short answer, not 'Clinical relevance of …?'"),
        ("clinical:\n  - id: sign\n    question: What does it do\n    answer: x\n    sources: [moore-coa-8]\n",
         "19:15: 'question' 'What does it do' is not valid: end the question with '?'"),
    ],
)
def test_notes_cues_and_clinical_facts(mini: Path, extra: str, expected: str) -> None:
    found = problems_in(mini, GOOD.replace("sources: [moore-coa-8]\n", "") + extra + "sources: [moore-coa-8]\n")
    assert len(found) == 1 and found[0].startswith(expected), found


def test_a_nerve_injury_names_movements_its_muscles_make(mini: Path) -> None:
    registry = mini / "registry" / "registry.yaml"
    registry.write_text(registry.read_text(encoding="utf-8").replace("      - {joint: hip, movement: medial-rotation}",
                                                     "      - {joint: knee, movement: flexion}"))
    code, lines = validate(mini)
    assert code == 1
    line = registry.read_text(encoding="utf-8").splitlines().index("      - {joint: knee, movement: flexion}") + 1
    assert lines[0] == (f"{registry}:{line}:9: no muscle supplied by the Superior gluteal nerve produces knee: "
                        "flexion; check the muscles' actions and nerves, or remove it")


def test_a_reverse_card_must_fit_one_muscle(mini: Path) -> None:
    medius = mini / "lower-limb" / "gluteal" / "gluteus-medius.yaml"
    kept = [line for line in medius.read_text(encoding="utf-8").splitlines() if not line.startswith("clue:")]
    medius.write_text("\n".join(kept) + "\n", encoding="utf-8")
    code, lines = validate(mini)
    assert code == 1
    assert lines[0].endswith("gluteus-minimus.yaml:6:3: its reverse card would ask the same as the one for Gluteus "
                             "medius; give one of them a 'clue' that tells them apart (see CONTRIBUTING.md)")


# --- landmarks form a tree ---------------------------------------------------------------------

def _landmarks(decks: Path, old: str, new: str) -> Path:
    registry = decks / "registry" / "registry.yaml"
    text = registry.read_text(encoding="utf-8")
    assert old in text
    registry.write_text(text.replace(old, new, 1), encoding="utf-8")
    return registry


def _line(path: Path, text: str) -> int:
    return path.read_text(encoding="utf-8").splitlines().index(text) + 1


def test_a_landmark_may_name_its_parent(mini: Path) -> None:
    _landmarks(mini, "    name: linea aspera of the femur\n",
               "    name: linea aspera of the femur\n    part_of: femur\n  femur:\n    name: femur\n")
    assert validate(mini) == (0, [])


def test_a_landmark_part_of_an_unknown_landmark(mini: Path) -> None:
    registry = _landmarks(mini, "    name: linea aspera of the femur\n",
                          "    name: linea aspera of the femur\n    part_of: femor\n")
    line = only_problem(mini)
    assert line == f"{registry}:{_line(registry, '    part_of: femor')}:14: unknown landmark 'femor'; use an id " \
                   "from decks/registry/ ('landmarks:'), or add it there"


def test_landmarks_that_are_parts_of_each_other_make_a_loop(mini: Path) -> None:
    registry = _landmarks(mini, "    name: linea aspera of the femur\n",
                          "    name: linea aspera of the femur\n    part_of: femur\n"
                          "  femur:\n    name: femur\n    part_of: shaft-of-femur\n"
                          "  shaft-of-femur:\n    name: shaft of the femur\n    part_of: linea-aspera\n")
    line = only_problem(mini)
    assert line == (f"{registry}:{_line(registry, '    part_of: linea-aspera')}:14: 'part_of' makes a loop "
                    "('linea-aspera' → 'femur' → 'shaft-of-femur' → 'linea-aspera'): a landmark cannot be part of "
                    "itself; remove or change one 'part_of'")


def test_a_landmark_part_of_itself(mini: Path) -> None:
    registry = _landmarks(mini, "    name: ischial tuberosity\n", "    name: ischial tuberosity\n"
                                                                   "    part_of: ischial-tuberosity\n")
    assert only_problem(mini) == (f"{registry}:{_line(registry, '    part_of: ischial-tuberosity')}:14: 'part_of' "
                                  "makes a loop ('ischial-tuberosity' → 'ischial-tuberosity'): a landmark cannot be "
                                  "part of itself; remove or change one 'part_of'")


def test_two_landmarks_with_one_name(mini: Path) -> None:
    other = mini / "registry" / "tree.yaml"  # read after registry.yaml
    other.write_text("landmarks:\n  tuberosity-of-ischium:\n    name: Ischial  tuberosity\n", encoding="utf-8")
    registry = mini / "registry" / "registry.yaml"
    assert only_problem(mini) == (f"{other}:3:11: landmarks 'ischial-tuberosity' (in {registry}) and "
                                  "'tuberosity-of-ischium' have the same name 'Ischial  tuberosity'; name them "
                                  "apart or keep one")


# --- form, passes and forms --------------------------------------------------------------------

@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("form:\n  shape: fan-shaped\n  fibres: convergent\n  sources: [moore-coa-8]\n", None),
        ("form:\n  sources: [moore-coa-8]\n",
         "18:3: 'form' needs at least one of: shape, fibres; add one or remove the key"),
        ("form:\n  shape: fan\n  sources: [moore-coa-8]\n",
         "18:10: 'shape' 'fan' is not one of: fan-shaped, strap,"),
        ("passes:\n  - structure: superior gluteal nerve\n    kind: nerve\n    relation: lies-on\n"
         "    sources: [moore-coa-8]\n", None),
        ("passes:\n  - structure: superior gluteal nerve\n    kind: nerve\n    relation: on-surface\n"
         "    sources: [moore-coa-8]\n",
         "18:5: 'on-surface' needs 'detail': which surface, e.g. 'anterior'; add it"),
        ("passes:\n  - structure: superior gluteal nerve\n    kind: nerve\n    relation: pierces\n"
         "    detail: anterior\n    sources: [moore-coa-8]\n",
         "21:5: no card reads 'detail' with 'pierces' (only with on-surface, wraps, tendon-under); remove it"),
        ("passes:\n  - structure: tendon of gluteus minimus\n    kind: tendon\n    relation: tendon-under\n"
         "    detail: greater-trochanter\n    sources: [moore-coa-8]\n", None),
        ("passes:\n  - structure: tendon of gluteus minimus\n    kind: tendon\n    relation: tendon-under\n"
         "    detail: greater-trochanta\n    sources: [moore-coa-8]\n",
         "21:13: unknown landmark 'greater-trochanta' (did you mean 'greater-trochanter'?)"),
        ("passes:\n  - structure: a nerve\n    kind: nerv\n    relation: pierces\n    sources: [moore-coa-8]\n",
         "19:11: 'kind' 'nerv' is not one of: nerve, artery,"),
        ("forms:\n  - structure: iliotibial tract\n    detail: with tensor fasciae latae\n"
         "    sources: [moore-coa-8]\n", None),
        ("forms:\n  - detail: x\n    sources: [moore-coa-8]\n",
         "18:5: missing required key 'structure' in 'forms'; add it"),
    ],
)
def test_form_passes_and_forms(mini: Path, extra: str, expected: str | None) -> None:
    text = GOOD.replace("sources: [moore-coa-8]\n", "") + extra + "sources: [moore-coa-8]\n"
    if expected is None:
        (mini / MINIMUS).write_text(text, encoding="utf-8")
        assert validate(mini) == (0, [])
        return
    found = problems_in(mini, text)
    assert len(found) == 1 and found[0].startswith(expected), found
