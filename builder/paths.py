"""Where the deck's own decks and templates are.

Inside a checkout of the project (the working folder holds decks/registry/ and
templates/cards/), that checkout's: a contributor's edits are what `validate`, `build` and the
rest see. Anywhere else, the copy shipped inside the installed package (or, when running from
source, the one beside the package).
"""

from __future__ import annotations

from pathlib import Path


def data_root() -> Path:
    """The folder holding `decks/` and `templates/`."""
    here = Path.cwd()
    if (here / "decks" / "registry").is_dir() and (here / "templates" / "cards").is_dir():
        return here
    package = Path(__file__).resolve().parent
    shipped = package / "_data"
    return shipped if (shipped / "decks").is_dir() else package.parent


def default_decks() -> Path:
    """The deck's own fact files."""
    return data_root() / "decks"


def default_templates() -> Path:
    """The deck's own card templates and CSS."""
    return data_root() / "templates"


def default_media() -> Path:
    """The deck's own rendered images and their manifest."""
    return data_root() / "media"
