"""The `muscle-deck` command, as a user runs it (click's CliRunner)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT

from builder.cli import main
from builder.diff import notes

PER_MUSCLE = {"origin", "insertion", "actions", "innervation", "blood-supply", "clinical", "reverse"}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def kinds_and_muscles(apkg: Path) -> set[tuple[str, str]]:
    out = set()
    for label, _ in notes(apkg).values():
        muscles, kind = label.split(" [")[0].split(" / ")
        out.update((muscle, kind) for muscle in muscles.split("; "))
    return out


def test_build_default_writes_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run("build")
    assert code == 0, err
    apkg = tmp_path / "dist" / "muscle-deck.apkg"
    assert apkg.is_file()
    count = len(notes(apkg))
    assert re.match(rf"Wrote dist/muscle-deck.apkg: {count} notes \({count} cards\) from \d+ muscles", out)
    assert "by card kind: action-muscles" in out


def test_build_output_and_decks(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "mini.apkg"
    code, stdout, _ = run("build", "--decks", str(mini), "-o", str(out))
    assert code == 0
    assert out.is_file()
    assert "from 3 muscles" in stdout
    assert len(notes(out)) == 32


@pytest.mark.parametrize(
    ("args", "muscles", "kinds"),
    [
        (["--region", "lower-limb"], {"Gluteus medius", "Gluteus minimus", "Biceps femoris"}, None),
        (["--group", "gluteal"], {"Gluteus medius", "Gluteus minimus"}, None),
        (["--muscle", "gluteus-minimus"], {"Gluteus minimus"}, None),
        (["--muscle", "gluteus-minimus", "--muscle", "biceps-femoris"],  # OR within one option
         {"Gluteus minimus", "Biceps femoris"}, None),
        (["--nerve", "sciatic"], {"Biceps femoris"}, None),  # a nerve selects its divisions too
        (["--nerve", "superior-gluteal"], {"Gluteus medius", "Gluteus minimus"}, None),
        (["--card", "origin"], {"Gluteus medius", "Gluteus minimus", "Biceps femoris"}, {"origin"}),
        (["--card", "origin", "--card", "insertion"], None, {"origin", "insertion"}),
        (["--group", "gluteal", "--card", "clinical"], {"Gluteus medius"}, {"clinical"}),  # AND across
        (["--tag", "nerve::sciatic::sciatic-tibial-division"], {"Biceps femoris"}, None),
        (["--tag", "muscle-deck::card::reverse"], None, {"reverse"}),
    ],
)
def test_build_filters(mini: Path, tmp_path: Path, args: list[str], muscles: set[str] | None,
                       kinds: set[str] | None) -> None:
    out = tmp_path / "subset.apkg"
    code, _, err = run("build", "--decks", str(mini), "-o", str(out), *args)
    assert code == 0, err
    found = kinds_and_muscles(out)
    if muscles is not None:  # the muscles whose own cards are in (cards across muscles name others too)
        assert {m for m, k in found if k in PER_MUSCLE} == muscles
    if kinds is not None:
        assert {k for _, k in found} == kinds


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--region", "head"], "Error: --region 'head' matches nothing; valid values: lower-limb"),
        (["--group", "hand"], "Error: --group 'hand' matches nothing; valid values: gluteal, posterior-thigh"),
        (["--muscle", "deltoid"],
         "Error: --muscle 'deltoid' matches nothing; valid values: biceps-femoris, gluteus-medius, gluteus-minimus"),
        (["--card", "colour"], "Error: --card 'colour' matches nothing; valid values: action-muscles, actions, "
                               "attachment-muscles, blood-supply, clinical, innervation, insertion, lesion, "
                               "myotome, nerve-muscles, origin, reverse"),
        (["--nerve", "ulnar"], "Error: --nerve 'ulnar' matches nothing; valid values: sciatic, "
                               "sciatic-common-fibular-division, sciatic-tibial-division, superior-gluteal"),
        (["--group", "gluteal", "--muscle", "biceps-femoris"],
         "Error: no muscle matches all of these filters together: --group gluteal, --muscle biceps-femoris; "
         "loosen one of them"),
        (["--muscle", "gluteus-minimus", "--card", "clinical"],
         "Error: no card matches all of these filters together: --muscle gluteus-minimus, --card clinical; "
         "loosen one of them"),
    ],
)
def test_filter_matching_nothing_is_an_error(mini: Path, tmp_path: Path, args: list[str], error: str) -> None:
    out = tmp_path / "x.apkg"
    code, _, err = run("build", "--decks", str(mini), "-o", str(out), *args)
    assert code == 1
    assert err.strip().splitlines()[-1] == error
    assert not out.exists()


def test_unknown_tag_lists_valid_tags(mini: Path, tmp_path: Path) -> None:
    code, _, err = run("build", "--decks", str(mini), "-o", str(tmp_path / "x.apkg"), "--tag", "nerve::ulnar")
    assert code == 1
    assert err.startswith("Error: --tag 'nerve::ulnar' matches nothing; valid values: card, "
                          "card::action-muscles, card::actions")


def test_list_muscles_and_filters(mini: Path) -> None:
    code, out, _ = run("list", "--decks", str(mini))
    assert code == 0
    assert out.splitlines() == [
        "biceps-femoris   Biceps femoris  (lower-limb/posterior-thigh)",
        "gluteus-medius   Gluteus medius  (lower-limb/gluteal)",
        "gluteus-minimus  Gluteus minimus  (lower-limb/gluteal)",
    ]
    code, out, _ = run("list", "--decks", str(mini), "--nerve", "sciatic")
    assert [line.split()[0] for line in out.splitlines()] == ["biceps-femoris"]
    code, _, err = run("list", "--decks", str(mini), "--region", "arm")
    assert code == 1 and "Error: --region 'arm' matches nothing" in err


def test_list_cards() -> None:
    code, out, _ = run("list", "--cards")
    assert code == 0
    kinds = [line.split()[0] for line in out.splitlines()]
    assert kinds == ["origin", "insertion", "actions", "innervation", "blood-supply", "clinical", "reverse",
                     "nerve-muscles", "action-muscles", "lesion", "attachment-muscles", "myotome"]


def test_validate_ok_and_failing(mini: Path) -> None:
    code, out, _ = run("validate", "--decks", str(mini))
    assert (code, out) == (0, "OK: 3 muscles, 4 nerves, 2 sources\n")
    path = mini / "lower-limb" / "gluteal" / "gluteus-minimus.yaml"
    path.write_text(path.read_text().replace("origin:", "orgin:"))
    code, _, err = run("validate", "--decks", str(mini))
    assert code == 1
    lines = err.strip().splitlines()
    assert lines[0].endswith("gluteus-minimus.yaml:1:1: missing required key 'origin'; add it "
                             "(for the whole muscle, or in every part)")
    assert lines[1].endswith("gluteus-minimus.yaml:5:1: unknown key 'orgin' (did you mean 'origin'?)")
    assert lines[-1] == "Error: 2 problems in the fact files; fix them and run again (nothing was written)"


def test_validate_the_real_deck() -> None:
    code, out, err = run("validate")
    assert code == 0, err
    assert out.startswith("OK: ")


def test_lock_and_check(mini: Path) -> None:
    code, _, err = run("lock", "--check", "--decks", str(mini))
    assert code == 1 and "notes are new or changed since the lock" in err
    code, out, _ = run("lock", "--decks", str(mini))
    assert code == 0 and "33 notes new or changed" in out  # 32 notes and the note type
    code, out, _ = run("lock", "--check", "--decks", str(mini))
    assert (code, out) == (0, "notes.lock is current\n")


def test_the_committed_lock_is_current() -> None:
    code, out, err = run("lock", "--check")
    assert code == 0, err


def test_diff(mini: Path, tmp_path: Path) -> None:
    old, new = tmp_path / "old.apkg", tmp_path / "new.apkg"
    run("build", "--decks", str(mini), "-o", str(old))
    path = mini / "lower-limb" / "gluteal" / "gluteus-minimus.yaml"
    path.write_text(path.read_text().replace("Anterior surface", "Anterolateral surface"))
    run("build", "--decks", str(mini), "-o", str(new), "--region", "lower-limb", "--card", "insertion",
        "--card", "reverse", "--card", "origin")
    code, out, _ = run("diff", str(old), str(new))
    assert code == 0
    lines = out.splitlines()
    changed = [line for line in lines if line.startswith("changed")]
    assert [c.split(" [")[0] for c in changed] == ["changed  Gluteus minimus / insertion",
                                                   "changed  Gluteus minimus / reverse"]
    assert sum(line.startswith("removed") for line in lines) == 32 - 11
    assert lines[-1] == "0 added, 2 changed, 21 removed, 9 unchanged"


def test_diff_rejects_a_non_package(tmp_path: Path) -> None:
    bad = tmp_path / "bad.apkg"
    bad.write_text("not a zip")
    code, _, err = run("diff", str(bad), str(bad))
    assert code == 1 and err.startswith(f"Error: {bad}: not an Anki package")


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for name, command in main.commands.items():
        assert command.help and command.help.strip(), name
        code, out, _ = run(name, "--help")
        assert code == 0 and out.startswith(f"Usage: main {name}") or out.startswith("Usage:")
        assert f"muscle-deck {name}" in readme, f"README does not mention `muscle-deck {name}`"


def test_inside_a_checkout_commands_use_its_decks(mini: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from conftest import TEMPLATES

    shutil.copytree(TEMPLATES, tmp_path / "templates")  # tmp_path now looks like a checkout
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("validate")
    assert (code, out) == (0, "OK: 3 muscles, 4 nerves, 2 sources\n")
    code, out, _ = run("build")
    assert code == 0 and "from 3 muscles" in out
