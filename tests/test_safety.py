"""Safe rendering and safe output: facts are text, templates are sandboxed, writes are atomic."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TEMPLATES, collection, import_apkg

from builder.build import build
from builder.cli import main
from builder.errors import OutputError
from builder.select import Selection

MEDIUS = "lower-limb/gluteal/gluteus-medius.yaml"


def test_html_in_facts_shows_as_text(mini: Path, tmp_path: Path) -> None:
    path = mini / MEDIUS
    path.write_text(path.read_text().replace(
        "blood_supply: Superior gluteal artery",
        "blood_supply: \"<script>alert(1)</script><img src=x onerror=alert(2)>\""))
    out = tmp_path / "deck.apkg"
    build(mini, TEMPLATES, out, Selection(cards=("blood-supply",)))
    with collection(tmp_path / "col.anki2") as col:
        import_apkg(col, out)
        note = col.get_note(col.find_notes("")[0])
        assert "<script>" not in note["Back"] and "<img" not in note["Back"]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in note["Back"]


def templates_copy(tmp_path: Path) -> Path:
    target = tmp_path / "templates"
    shutil.copytree(TEMPLATES, target)
    return target


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{% extends '_card.html' %}{% block question %}{{ ''.__class__.__mro__ }}{% endblock %}",
         "access to attribute '__class__' of 'str' object is unsafe"),
        ("{% extends '_card.html' %}{% block question %}{{ no_such_value }}{% endblock %}",
         "'no_such_value' is undefined"),
        ("{% extends '_card.html' %}{% block question %}{{ muscle.name }", "unexpected '}'"),
    ],
)
def test_bad_templates_give_clean_errors(mini: Path, tmp_path: Path, template: str, message: str) -> None:
    templates = templates_copy(tmp_path)
    (templates / "cards" / "origin.html").write_text(template)
    out = tmp_path / "deck.apkg"
    result = CliRunner().invoke(main, ["build", "--decks", str(mini), "--templates", str(templates),
                                       "-o", str(out)])
    assert result.exit_code == 1
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("Error: ") and "origin.html:1:1: " in result.stderr
    assert message in result.stderr
    assert not out.exists()


def test_failed_build_leaves_previous_package_untouched(mini: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "deck.apkg"
    build(mini, TEMPLATES, out, Selection())
    before = out.read_bytes()

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("builder.package._write_zip", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(mini, TEMPLATES, out, Selection())
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deck.apkg", "decks"]


@pytest.mark.parametrize("target", ["decks/lower-limb/x.apkg", "decks/registry/../deck.apkg",
                                    "templates/deck.apkg"])
def test_output_cannot_overwrite_sources(mini: Path, tmp_path: Path, target: str) -> None:
    templates = templates_copy(tmp_path)
    with pytest.raises(OutputError, match="inside .*the deck's own sources"):
        build(mini, templates, tmp_path / target, Selection())


def test_output_must_be_an_apkg_file(mini: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["build", "--decks", str(mini), "-o", str(tmp_path / "x.yaml")])
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"Error: {tmp_path / 'x.yaml'}: the file must end in .apkg; "
                                     "choose another path with -o")
