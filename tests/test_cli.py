"""The `muscle-deck` command, as a user runs it (click's CliRunner)."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from conftest import DECKS, ROOT, TEMPLATES, run

from builder.cli import main
from builder.diff import notes
from builder.kinds import KINDS


def kinds_and_muscles(apkg: Path) -> set[tuple[str, str]]:
    """(muscle id, card kind) of each card about one muscle (its muscle tag names it)."""
    out = set()
    for note in notes(apkg).values():
        kind = note.name.split(" / ")[-1]
        out.update((t.rsplit("::", 1)[1], kind) for t in note.tags if t.startswith("muscle-deck::muscle::"))
    return out


def test_build_default_writes_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run("build")
    assert code == 0, err
    apkg = tmp_path / "dist" / "muscle-deck.apkg"
    assert apkg.is_file()
    count = len(notes(apkg))
    shown = re.escape(str(Path("dist/muscle-deck.apkg")))  # as the system writes paths
    found = re.match(rf"Wrote {shown}: {count} notes about (\d+) muscles: (\d+) cards about one muscle each, "
                     r"(\d+) cards across muscles", out)
    assert found, out
    muscles, own, across = map(int, found.groups())
    assert own + across == count and muscles >= 100
    assert "by card kind: action-muscles" in out


def test_build_output_and_decks(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "mini.apkg"
    code, stdout, _ = run("build", "--decks", str(mini), "-o", str(out))
    assert code == 0
    assert out.is_file()
    assert stdout.startswith(f"Wrote {out}: 32 notes about 3 muscles: 21 cards about one muscle each, "
                             "11 cards across muscles")
    assert len(notes(out)) == 32


@pytest.mark.parametrize(
    ("args", "muscles", "kinds"),
    [
        (["--region", "lower-limb"], {"gluteus-medius", "gluteus-minimus", "biceps-femoris"}, None),
        (["--group", "gluteal"], {"gluteus-medius", "gluteus-minimus"}, None),
        (["--muscle", "gluteus-minimus"], {"gluteus-minimus"}, None),
        (["--muscle", "Gluteus Minimus"], {"gluteus-minimus"}, None),  # by name, in any case
        (["--muscle", "LESSER GLUTEAL"], {"gluteus-minimus"}, None),  # by alias
        (["--muscle", "lesser-gluteal"], {"gluteus-minimus"}, None),  # an alias written as ids are
        (["--muscle", "Gluteus_minimus "], {"gluteus-minimus"}, None),  # underscores, spaces and hyphens alike
        (["--muscle", "gluteus-minimus", "--muscle", "biceps-femoris"],  # OR within one option
         {"gluteus-minimus", "biceps-femoris"}, None),
        (["--nerve", "sciatic"], {"biceps-femoris"}, None),  # a nerve selects its divisions too
        (["--nerve", "superior-gluteal"], {"gluteus-medius", "gluteus-minimus"}, None),
        (["--card", "origin"], {"gluteus-medius", "gluteus-minimus", "biceps-femoris"}, {"origin"}),
        (["--card", "origin", "--card", "insertion"], None, {"origin", "insertion"}),
        (["--group", "gluteal", "--card", "blood-supply"], {"gluteus-medius"}, {"blood-supply"}),  # AND across
        (["--tag", "nerve::sciatic::sciatic-tibial-division"], {"biceps-femoris"}, None),
        (["--tag", "muscle-deck::card::reverse"], None, {"reverse"}),
    ],
)
def test_build_filters(mini: Path, tmp_path: Path, args: list[str], muscles: set[str] | None,
                       kinds: set[str] | None) -> None:
    minimus = mini / "lower-limb/gluteal/gluteus-minimus.yaml"
    minimus.write_text(minimus.read_text(encoding="utf-8").replace("name: Gluteus minimus\n", "name: Gluteus minimus\n"
                                                                             "aliases: [Lesser gluteal]\n"))
    out = tmp_path / "subset.apkg"
    code, _, err = run("build", "--decks", str(mini), "-o", str(out), *args)
    assert code == 0, err
    found = kinds_and_muscles(out)
    if muscles is not None:  # the muscles whose own cards are in (cards across muscles name others too)
        assert {m for m, _ in found} == muscles
    if kinds is not None:
        assert {note.name.split(" / ")[-1] for note in notes(out).values()} == kinds


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--region", "head"], "Error: --region 'head' matches nothing; valid values: lower-limb"),
        (["--group", "hand"], "Error: --group 'hand' matches nothing; check the spelling"),
        (["--group", "gluteus"], "Error: --group 'gluteus' matches nothing; did you mean 'gluteal'?"),
        (["--muscle", "deltoid"],
         "Error: --muscle 'deltoid' matches no muscle's id, name or alias `muscle-deck list` shows every muscle"),
        (["--muscle", "gluteus medus"],
         "Error: --muscle 'gluteus medus' matches no muscle's id, name or alias; did you mean 'Gluteus medius' or "
         "'Gluteus minimus'? `muscle-deck list` shows every muscle"),
        (["--card", "colour"], "Error: --card 'colour' matches nothing; valid values: "
                               + ", ".join(sorted(k.name for k in KINDS))),
        (["--nerve", "sciatik"], "Error: --nerve 'sciatik' matches nothing; did you mean 'sciatic'?"),
        (["--group", "gluteal", "--muscle", "biceps-femoris"],
         "Error: no muscle matches all of these filters together: --group gluteal, --muscle biceps-femoris; "
         "loosen one of them"),
        (["--muscle", "gluteus-minimus", "--card", "blood-supply"],
         "Error: no card matches all of these filters together: --muscle gluteus-minimus, --card blood-supply; "
         "loosen one of them"),
    ],
)
def test_filter_matching_nothing_is_an_error(mini: Path, tmp_path: Path, args: list[str], error: str) -> None:
    out = tmp_path / "x.apkg"
    code, _, err = run("build", "--decks", str(mini), "-o", str(out), *args)
    assert code == 1
    assert err.strip().splitlines()[-1] == error
    assert not out.exists()


def test_unknown_tag_suggests_the_closest(mini: Path, tmp_path: Path) -> None:
    code, _, err = run("build", "--decks", str(mini), "-o", str(tmp_path / "x.apkg"), "--tag", "nerve::sciatc")
    assert code == 1
    assert err.strip() == "Error: --tag 'nerve::sciatc' matches nothing; did you mean 'nerve::sciatic'?"


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
    # card and tag filters list the muscles that have such cards
    code, out, _ = run("list", "--decks", str(mini), "--card", "blood-supply")
    assert [line.split()[0] for line in out.splitlines()] == ["gluteus-medius"]
    code, out, _ = run("list", "--decks", str(mini), "--tag", "nerve::sciatic")
    assert [line.split()[0] for line in out.splitlines()] == ["biceps-femoris"]
    for option, value in (("--card", "nonexistent"), ("--tag", "nonexistent")):
        code, out, err = run("list", "--decks", str(mini), option, value)
        assert (code, out) == (1, "")
        assert err.startswith(f"Error: {option} 'nonexistent' matches nothing")


def test_kinds() -> None:
    code, out, _ = run("kinds")
    assert code == 0
    kinds = [line.split()[0] for line in out.splitlines()]
    assert kinds == [k.name for k in KINDS] and len(kinds) == len(set(kinds))
    for kind in KINDS:  # each kind is its declaration and its question template, nothing else
        assert (TEMPLATES / "cards" / f"{kind.name}.txt").is_file(), kind.name
        assert f"{kind.name}  " in out and kind.asks in out


def test_validate_ok_and_failing(mini: Path) -> None:
    code, out, _ = run("validate", "--decks", str(mini))
    assert (code, out) == (0, "OK: 3 muscles, 4 nerves, 2 sources\n")
    path = mini / "lower-limb" / "gluteal" / "gluteus-minimus.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("origin:", "orgin:"))
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
    path.write_text(path.read_text(encoding="utf-8").replace("Anterior surface", "Anterolateral surface"))
    run("build", "--decks", str(mini), "-o", str(new), "--region", "lower-limb", "--card", "insertion",
        "--card", "reverse", "--card", "origin")
    code, out, _ = run("diff", str(old), str(new))
    assert code == 0
    lines = out.splitlines()
    changed = [line for line in lines if line.startswith("changed")]
    assert [c.split(" [")[0] for c in changed] == ["changed  Gluteus minimus / insertion"]
    assert sum(line.startswith("removed") for line in lines) == 32 - 11
    assert lines[-1] == "0 added, 1 changed, 21 removed, 10 unchanged"


def test_diff_rejects_a_non_package(tmp_path: Path) -> None:
    bad = tmp_path / "bad.apkg"
    bad.write_text("not a zip", encoding="utf-8")
    code, _, err = run("diff", str(bad), str(bad))
    assert code == 1 and err.startswith(f"Error: {bad}: not an Anki package")


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, command in main.commands.items():
        assert command.help and command.help.strip(), name
        code, out, _ = run(name, "--help")
        assert code == 0, name
        assert out.startswith(f"Usage: main {name} "), out
        assert f"muscle-deck {name}" in readme, f"README does not mention `muscle-deck {name}`"


def test_inside_a_checkout_commands_use_its_decks(mini: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil


    shutil.copytree(TEMPLATES, tmp_path / "templates")  # tmp_path now looks like a checkout
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("validate")
    assert (code, out) == (0, "OK: 3 muscles, 4 nerves, 2 sources\n")
    code, out, _ = run("build")
    assert code == 0 and "notes about 3 muscles" in out


def test_top_level_help_shows_each_command_whole() -> None:
    code, out, _ = run("--help")
    assert code == 0
    listed = out.split("Commands:")[1]
    for name, command in main.commands.items():
        assert command.short_help and f"{name}  " in listed
        line = next(line for line in listed.splitlines() if line.strip().startswith(name + " "))
        assert line.strip().endswith(command.short_help), line  # never cut off with "..."
        assert "..." not in line


def test_the_readme_subset_examples_each_write_their_own_file() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Building your own subset")[1].split("\n## ")[0]
    builds = [line.split("#")[0].split() for line in section.splitlines() if line.startswith("muscle-deck build")]
    assert len(builds) >= 4
    outputs = []
    for words in builds:
        filtered = any(w.startswith("--") and w not in ("-o", "--output") for w in words)
        out = words[words.index("-o") + 1] if "-o" in words else "dist/muscle-deck.apkg"
        if filtered:
            assert out != "dist/muscle-deck.apkg", " ".join(words)
        outputs.append(out)
    assert len(outputs) == len(set(outputs)), outputs


def readme_commands() -> list[str]:
    """The `muscle-deck …` lines of the README's shell examples (its ```sh and ```console blocks)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```(?:sh|console)\n(.*?)^```", readme, flags=re.MULTILINE | re.DOTALL)
    lines = [line.removeprefix("$ ") for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith("muscle-deck ")]


@pytest.mark.parametrize("line", readme_commands(), ids=lambda line: " ".join(shlex.split(line, comments=True)))
def test_each_readme_example_runs_as_written(line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Run where the README runs it, in a checkout (here a copy of its decks and templates), so that
    # what a command writes stays in tmp_path.
    shutil.copytree(DECKS, tmp_path / "decks")
    shutil.copytree(TEMPLATES, tmp_path / "templates")
    monkeypatch.chdir(tmp_path)
    words = shlex.split(line, comments=True)[1:]
    assert not {"|", "||", "&&", ";", ">", ">>", "<"} & set(words), f"{line}: a shell would run more than muscle-deck"
    if words[0] == "images":
        pytest.skip("needs the meshes, which the repository does not hold, and the optional 3D libraries; "
                    "tests/test_media.py renders where both exist")
    code, out, err = run(*words)
    assert code == 0, f"{line}\n{err}"
    assert out.strip()
    if words[0] == "build":
        written = words[words.index("-o") + 1] if "-o" in words else "dist/muscle-deck.apkg"
        assert out.startswith(f"Wrote {Path(written)}: ") and (tmp_path / written).is_file()


def test_the_readme_examples_are_found() -> None:  # so that the test above runs them
    commands = {shlex.split(line)[1] for line in readme_commands()}
    assert {"build", "list", "kinds"} <= commands, commands

