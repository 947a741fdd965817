"""The cache of checked facts and rendered cards: reused only while no input changed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TEMPLATES

from builder.build import build
from builder.select import Selection


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("MUSCLE_DECK_CACHE", str(folder))
    return folder


def test_second_build_reuses_the_cache_and_writes_the_same_bytes(mini: Path, tmp_path: Path,
                                                                  cache_dir: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = tmp_path / "a.apkg", tmp_path / "b.apkg"
    build(mini, TEMPLATES, first, Selection(), at=1_800_000_000)
    assert len(list(cache_dir.glob("deck-*.pickle"))) == 1

    def no_loading(*args: object) -> None:
        raise AssertionError("loaded although nothing changed")

    monkeypatch.setattr("builder.load.load", no_loading)
    build(mini, TEMPLATES, second, Selection(), at=1_800_000_000)
    assert first.read_bytes() == second.read_bytes()


def test_any_changed_input_is_built_afresh(mini: Path, tmp_path: Path, cache_dir: Path) -> None:
    out = tmp_path / "a.apkg"
    build(mini, TEMPLATES, out, Selection(cards=("insertion",), muscles=("gluteus-minimus",)))
    path = mini / "lower-limb/gluteal/gluteus-minimus.yaml"
    path.write_text(path.read_text().replace("Anterior surface", "Anterolateral surface"))
    build(mini, TEMPLATES, out, Selection(cards=("insertion",), muscles=("gluteus-minimus",)))
    from builder.diff import notes

    assert "Anterolateral surface" in next(iter(notes(out).values()))[1]
    assert len(list(cache_dir.glob("deck-*.pickle"))) == 2


def test_cache_can_be_turned_off(mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("MUSCLE_DECK_CACHE", "off")
    build(mini, TEMPLATES, tmp_path / "a.apkg", Selection())
    assert not (tmp_path / "xdg").exists()


def test_long_steps_report_progress(mini: Path, tmp_path: Path) -> None:
    from builder.progress import showing

    seen: list[tuple[str, int]] = []

    def reporter(items: object, label: str) -> object:
        seen.append((label, len(items)))  # type: ignore[arg-type]
        return items

    with showing(reporter, minimum=1):
        build(mini, TEMPLATES, tmp_path / "a.apkg", Selection())
    assert seen == [("Checking fact files", 3), ("Rendering cards", 3)]
    seen.clear()
    build(mini, TEMPLATES, tmp_path / "b.apkg", Selection())  # no reporter installed: nothing shown
    assert seen == []
