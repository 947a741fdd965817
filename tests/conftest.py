"""Shared fixtures: small deck trees in tmp_path, and the real `anki` package to import into."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DECKS = ROOT / "decks"
TEMPLATES = ROOT / "templates"
MINI = ROOT / "tests" / "samples" / "mini"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """`muscle-deck ARGS` through click's runner: (exit code, stdout, stderr); a traceback fails."""
    from click.testing import CliRunner

    from builder.cli import main

    result = CliRunner(env=env).invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def error_line(err: str) -> str:
    """The one line a failing command prints (no traceback)."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope="session")
def real() -> object:
    """The deck's own cards, loaded and rendered once for the tests that only read them."""
    from builder.build import cards

    return cards(DECKS, TEMPLATES)


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """A writable copy of the small sample deck."""
    target = tmp_path / "decks"
    shutil.copytree(MINI, target)
    return target


@pytest.fixture
def real_copy(tmp_path: Path) -> Path:
    """A writable copy of the deck's own facts (outside any git checkout)."""
    target = tmp_path / "decks"
    shutil.copytree(DECKS, target)
    return target


@contextmanager
def collection(path: Path) -> Iterator[object]:
    """An Anki collection file, opened with the real `anki` package."""
    from anki.collection import Collection

    col = Collection(str(path))
    try:
        yield col
    finally:
        col.close()


def import_apkg(col: object, apkg: Path) -> object:
    """Import a package as the desktop app does (update notes if newer); return the log."""
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    request = ImportAnkiPackageRequest(
        package_path=str(apkg),
        options=ImportAnkiPackageOptions(with_scheduling=False, merge_notetypes=False),
    )
    return col.import_anki_package(request).log  # type: ignore[attr-defined]


def review_all(col: object) -> int:
    """Answer every card 'good' once; return how many were reviewed."""
    cids = col.find_cards("")  # type: ignore[attr-defined]
    for cid in cids:
        card = col.get_card(cid)  # type: ignore[attr-defined]
        card.start_timer()
        col.sched.answerCard(card, 3)  # type: ignore[attr-defined]
    return len(cids)


def review_then_update(col: object, first: Path, second: Path) -> tuple[int, object]:
    """Import `first`, review every card once, import `second`: (cards reviewed, second log)."""
    import_apkg(col, first)
    reviewed = review_all(col)
    return reviewed, import_apkg(col, second)
