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
        (GOOD.replace("roots: [L4, L5, S1]", "roots: [L4, L5, S1]\n    main_roots: [L5, S1]"),
         ["17:17: the main roots need 'main_from': the source ids of the references that mark them as main, "
          "e.g. [moore-coa-8]"]),
        (GOOD.replace("roots: [L4, L5, S1]", "roots: [L4, L5, S1]\n    main_from: [moore-coa-8]"),
         ["17:16: 'main_from' names who marks the main roots; give 'main_roots' too, or remove it"]),
        (GOOD.replace("roots: [L4, L5, S1]", "roots: [L4, L5, S1]\n    main_roots: [L5]\n    main_from: [mooer]"),
         ["18:17: unknown source 'mooer'"]),
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
# --- fact values are plain text ---------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"Gluteus\\x1fminimus"', "'name' holds a control character (character 8, U+001F); remove it"),
        ('"Gluteus\\0minimus"', "'name' holds a control character (character 8, U+0000); remove it"),
        ('"Gluteus\\e]52;c;ZWNobyBwd25lZA==\\aminimus"',
         "'name' holds a control character (character 8, U+001B); remove it"),
        ('"Gluteus\\tminimus"', "'name' holds a tab (character 8, U+0009); use a space"),
        ('"Gluteus\\nminimus"', "'name' holds a line break (character 8, U+000A); write it on one line"),
        ('"Gluteus\\u200bminimus"', "'name' holds an invisible formatting character (character 8, U+200B); remove it"),
        ('"Gluteus \\u202eminimus"',
         "'name' holds an invisible formatting character (character 9, U+202E); remove it"),
        ('"Gluteus\\u2028minimus"',
         "'name' holds a line or paragraph separator (character 8, U+2028); write it on one line"),
        (r"'Gluteus \(\href{javascript:alert(1)}{minimus}\)'",
         r"'name' holds '\(': Anki typesets it as mathematics (MathJax), which can also run script; write '(' alone"),
        (r"'Gluteus \[x\] minimus'", r"'name' holds '\[': Anki typesets it as mathematics (MathJax)"),
        (r"'Gluteus minimus \)'", r"'name' holds '\)': Anki typesets it as mathematics (MathJax)"),
        ("'Gluteus {{c1::minimus}}'",
         "'name' holds '{{': Anki reads it as a field or cloze reference; write '{ {' with a space"),
        ("'Gluteus minimus}}'", "'name' holds '}}': Anki reads it as a field or cloze reference; write '} }'"),
        ("'Gluteus [sound:x.mp3] minimus'", "'name' holds '[sound:': Anki plays it as a sound; write it another way"),
        ("'Gluteus [latex]x[/latex]'", "'name' holds '[latex]': Anki turns it into LaTeX; write it another way"),
        ("'Gluteus [$]x[/$]'", "'name' holds '[$]': Anki turns it into LaTeX"),
    ],
    ids=lambda v: v[:0] if isinstance(v, str) else None,
)
def test_fact_text_holds_no_control_characters_or_anki_markup(mini: Path, value: str, expected: str) -> None:
    found = problems_in(mini, GOOD.replace("name: Gluteus minimus", "name: " + value))
    assert len(found) == 1 and found[0].startswith("2:7: " + expected), found


def test_registry_text_is_checked_as_fact_text(mini: Path) -> None:
    registry = mini / "registry" / "registry.yaml"
    text = registry.read_text(encoding="utf-8")
    registry.write_text(text.replace("name: Lower limb", "name: 'Lower \\(limb\\)'", 1), encoding="utf-8")
    code, lines = validate(mini)
    assert code == 1
    assert lines[0].startswith(f"{registry}:4:11: 'name' holds '\\(': Anki typesets it as mathematics")


def test_plain_text_of_every_script_and_paragraphs_in_long_texts_are_fine(mini: Path) -> None:
    extra = ("notes:\n  - card: origin\n    text: |\n      First paragraph (Moore, p. 5).\n      Second, with\u00a0a "
             "non-breaking space, Größe, ʻokina, 筋肉, {braces} and [brackets].\n    sources: [moore-coa-8]\n")
    text = GOOD.replace("name: Gluteus minimus", "name: Gluteus minimus\naliases: [Glutéus mínimus]")
    (mini / MINIMUS).write_text(text.replace("sources: [moore-coa-8]\n", "") + extra + "sources: [moore-coa-8]\n",
                                encoding="utf-8")
    assert validate(mini) == (0, [])


def test_messages_never_echo_control_characters(mini: Path) -> None:
    found = problems_in(mini, GOOD + '"colour\\e]52;c;ZWNobyBwd25lZA==\\a": red\n')
    assert found == ["18:1: unknown key 'colour\\x1b]52;c;ZWNobyBwd25lZA==\\x07'; remove it"]


def test_a_lone_surrogate_is_refused_without_libyaml_too(mini: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from builder import yamlsafe

    monkeypatch.setattr(yamlsafe, "_Loader", yaml.SafeLoader)  # PyYAML without libyaml accepts "\ud800"
    found = problems_in(mini, GOOD.replace("name: Gluteus minimus", 'name: "Gluteus minimus\\ud800"'))
    assert found == ["2:7: 'name' holds a lone surrogate, half of a character (character 16, U+D800); remove it"]


def test_a_raw_control_character_is_reported_where_it_is(mini: Path) -> None:
    found = problems_in(mini, GOOD.replace("name: Gluteus minimus", "name: Gluteus\x07minimus"))
    assert found == ["2:14: a control character (U+0007) that YAML does not allow in a file; remove it"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("!!int abc", "'abc' is not a whole number, as its tag '!!int' says"),
        ("!!int 0x", "'0x' is not a whole number, as its tag '!!int' says"),
        ('!!int ""', "'' is not a whole number, as its tag '!!int' says"),
        ("!!float abc", "'abc' is not a number, as its tag '!!float' says"),
        ("!!float", "'' is not a number, as its tag '!!float' says"),
        ("!!bool abc", "'abc' is not true or false, as its tag '!!bool' says"),
    ],
)
def test_a_tagged_value_that_is_not_what_its_tag_says(mini: Path, value: str, expected: str) -> None:
    found = problems_in(mini, GOOD.replace("name: Gluteus minimus", "name: " + value))
    assert found == [f"2:7: {expected}; fix the value or remove the tag"]


def test_a_tagged_key_that_is_not_what_its_tag_says(mini: Path) -> None:
    found = problems_in(mini, GOOD + "!!int abc: x\n")
    assert found == ["18:1: 'abc' is not a whole number, as its tag '!!int' says; fix the value or remove the tag"]


# --- ids, names and aliases -----------------------------------------------------------------------

def test_two_muscles_cannot_keep_one_former_id(mini: Path) -> None:
    """A muscle split in two whose halves both keep its id would give two notes one GUID."""
    (mini / MINIMUS).write_text(GOOD.replace("id: gluteus-minimus", "id: gluteus-minimus\nformer_ids: [old-gluteus]"),
                                encoding="utf-8")
    medius = mini / "lower-limb/gluteal/gluteus-medius.yaml"
    medius.write_text(medius.read_text(encoding="utf-8").replace("id: gluteus-medius\n",
                                                                 "id: gluteus-medius\nformer_ids: [old-gluteus]\n"),
                      encoding="utf-8")
    line = only_problem(mini)
    assert line == (f"{mini / MINIMUS}:2:14: former id 'old-gluteus' is also claimed by {medius}; only one muscle "
                    "keeps an old id and its notes (when a muscle is split, give it to one of the parts)")


@pytest.mark.parametrize(
    ("aliases", "expected"),
    [
        ("[Gluteus medius]", "alias 'Gluteus medius' is already the name of {medius}; a name or alias may belong to "
                             "one muscle only"),
        ("[GLUTEUS MEDIUS]", "alias 'GLUTEUS MEDIUS' is already the name of {medius}"),
        # full-width letters
        ("[ｇｌｕｔｅｕｓ medius]", "alias 'ｇｌｕｔｅｕｓ medius' is already the name of {medius}"),
        ("[gluteus-medius]", "alias 'gluteus-medius' is already the id of {medius}"),
        ("[Gluteus minimus]", "alias 'Gluteus minimus' repeats this muscle's name; remove it"),
        ("[Lesser gluteal, lesser GLUTEAL]", "alias 'lesser GLUTEAL' repeats this muscle's alias; remove it"),
    ],
)
def test_a_name_or_alias_belongs_to_one_muscle(mini: Path, aliases: str, expected: str) -> None:
    medius = mini / "lower-limb/gluteal/gluteus-medius.yaml"
    line = only_problem_in(mini, GOOD.replace("name: Gluteus minimus", f"name: Gluteus minimus\naliases: {aliases}"))
    assert line.startswith(f"{mini / MINIMUS}:3:") and expected.format(medius=medius) in line


def only_problem_in(decks: Path, text: str) -> str:
    (decks / MINIMUS).write_text(text, encoding="utf-8")
    return only_problem(decks)


@POSIX  # on Windows no such file can be made
@pytest.mark.parametrize("name", ["aux", "con", "nul", "prn", "com1", "lpt9"])
def test_names_windows_keeps_for_devices_are_not_ids(mini: Path, name: str) -> None:
    path = f"lower-limb/gluteal/{name}.yaml"
    text = GOOD.replace("id: gluteus-minimus", f"id: {name}").replace("Gluteus minimus", "Other")
    assert problems_in(mini, text, path) == [f"1:5: 'id' '{name}' is a name Windows keeps for a device (con, prn, aux, "
                                             "nul, com1, lpt1…): no file can have it there; choose another"]
    (mini / path).unlink()
    result = CliRunner().invoke(main, ["new", name, "--region", "lower-limb", "--decks", str(mini)])
    assert result.exit_code == 1 and "is a name Windows keeps for a device" in result.stderr
    assert not (mini / "lower-limb" / f"{name}.yaml").exists()


def test_a_registry_key_says_what_its_own_kind_of_id_looks_like(mini: Path) -> None:
    registry = mini / "registry" / "registry.yaml"
    registry.write_text(registry.read_text(encoding="utf-8").replace("      gluteal: Gluteal region",
                                                                     "      gluteal: Gluteal region\n      aux: Aux")
                        + "myotomes:\n  L9:\n    joint: hip\n    movement: abduction\n    muscles: [gluteus-medius]\n"
                          "    sources: [moore-coa-8]\n", encoding="utf-8")
    code, lines = validate(mini)
    assert code == 1
    assert any(line.endswith("'L9' is not a valid id: write a spinal segment such as C5, T1, L4 or S2")
               for line in lines), lines
    assert any(line.endswith("'aux' is a name Windows keeps for a device (con, prn, aux, nul, com1, lpt1…): no file "
                             "can have it there; choose another") for line in lines), lines


# --- files the validator would not read ---------------------------------------------------------

@pytest.mark.parametrize(("name", "rename"), [
    ("new.yml", "new.yaml"), ("new.YAML", "new.yaml"), ("new.Yaml", "new.yaml"),
    pytest.param("new.yaml ", "new.yaml", marks=POSIX),  # Windows drops the trailing space itself
])
def test_a_fact_file_not_named_dot_yaml_is_an_error_not_skipped(mini: Path, name: str, rename: str) -> None:
    (mini / "lower-limb" / "gluteal" / name).write_text(GOOD, encoding="utf-8")
    assert only_problem(mini) == (f"{mini / 'lower-limb' / 'gluteal' / name}:1:1: only files ending in exactly "
                                  f"'.yaml' are read; rename it to {rename}")


@POSIX
def test_a_link_loop_is_a_problem_not_a_crash(mini: Path) -> None:
    (mini / "lower-limb" / "gluteal" / "loop.yaml").symlink_to("loop.yaml")
    assert only_problem(mini).endswith("loop.yaml:1:1: cannot read it: Too many levels of symbolic links")


# --- content rules the whole deck keeps ---------------------------------------------------------

def test_a_region_may_require_a_blood_supply_of_every_muscle(mini: Path) -> None:
    registry = mini / "registry" / "registry.yaml"
    registry.write_text(registry.read_text(encoding="utf-8").replace(
        "    name: Lower limb\n", "    name: Lower limb\n    requires: [blood_supply]\n"), encoding="utf-8")
    code, lines = validate(mini)
    assert code == 1 and lines[-1].startswith("Error: 2 problems")
    assert lines[0] == (f"{mini / 'lower-limb/gluteal/gluteus-minimus.yaml'}:1:1: a muscle of the lower limb needs "
                        "'blood_supply' (the region's 'requires' in the registry); add it, for the whole muscle or in "
                        "every part")
    assert "biceps-femoris.yaml:1:1: a muscle of the lower limb needs 'blood_supply'" in lines[1]
    assert problems_in(mini, GOOD + "blood_supply: Inferior gluteal artery\n") == []  # that file is fine now


def test_the_name_of_a_hand_or_foot_twin_says_which(mini: Path) -> None:
    path = "lower-limb/gluteal/gluteus-minimus-of-foot.yaml"
    text = GOOD.replace("id: gluteus-minimus", "id: gluteus-minimus-of-foot").replace("Gluteus minimus", "Minimus")
    assert problems_in(mini, text, path) == ["2:7: the id ends in '-of-foot', so the name ends in '(foot)' too, "
                                             "e.g. 'Lumbricals (foot)'"]


# --- validation takes time in proportion to the input ------------------------------------------

def test_a_huge_list_is_refused_quickly(mini: Path) -> None:
    aliases = ", ".join(f"a{i}" for i in range(30_000))  # about 230 kB, under the file size limit
    started = time.monotonic()
    found = problems_in(mini, GOOD.replace("name: Gluteus minimus", f"name: Gluteus minimus\naliases: [{aliases}]"))
    assert found == ["3:10: 'aliases' has 30000 items, more than 60"]
    assert time.monotonic() - started < 10


def test_many_unknown_names_against_a_large_registry_are_reported_quickly(mini: Path) -> None:
    words = [f"{a}{b}{c}-source" for a in "abcdefghij" for b in "klmnopqrst" for c in "uvwxyzabcdefghijklmn"]
    (mini / "registry" / "more.yaml").write_text(  # 2,000 sources
        "sources:\n" + "".join(f"  {w}:\n    kind: open\n    short: S\n    citation: C\n" for w in words),
        encoding="utf-8")
    unknown = [f"{w[:3]}-sourse-{n}" for n, w in enumerate(words * 2)][:3600]  # each close to a known one
    notes = "".join(f"  - card: origin\n    text: x\n    sources: [{', '.join(unknown[n:n + 60])}]\n"
                    for n in range(0, 3600, 60))
    started = time.monotonic()
    code, lines = validate_text(mini, GOOD + "notes:\n" + notes)
    assert code == 1
    assert time.monotonic() - started < 20
    mine = [line for line in lines if line.startswith(str(mini / MINIMUS))]
    assert len(mine) == 51 and mine[-1].endswith(": and 3,550 more problems in this file; fix these first")
    assert lines[-1] == "Error: 3,600 problems in the fact files; fix them and run again (nothing was written)"


def validate_text(decks: Path, text: str) -> tuple[int, list[str]]:
    (decks / MINIMUS).write_text(text, encoding="utf-8")
    return validate(decks)
