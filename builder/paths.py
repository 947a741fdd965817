"""Where the project's own decks and templates are: shipped in the package, or in the checkout."""

from __future__ import annotations

from pathlib import Path


def data_root() -> Path:
    """The folder holding `decks/` and `templates/`."""
    package = Path(__file__).resolve().parent
    shipped = package / "_data"
    return shipped if (shipped / "decks").is_dir() else package.parent


def default_decks() -> Path:
    """The deck's own fact files."""
    return data_root() / "decks"


def default_templates() -> Path:
    """The deck's own card templates and CSS."""
    return data_root() / "templates"
