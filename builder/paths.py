"""Where the deck's own decks and templates are.

Inside a checkout of the project (the working folder holds decks/registry/ and
templates/cards/), that checkout's: a contributor's edits are what `validate`, `build` and the
rest see. Anywhere else, the copy shipped inside the installed package (or, when running from
source, the one beside the package). The shipped copy is read, never written: the commands that
write into a decks folder (`new`, `lock`, `schema`) refuse it.
"""

from __future__ import annotations

from pathlib import Path

from .errors import OutputError


def package_folder() -> Path:
    """The folder of the installed `builder` package."""
    return Path(__file__).resolve().parent


def data_root() -> Path:
    """The folder holding `decks/` and `templates/`."""
    here = Path.cwd()
    if (here / "decks" / "registry").is_dir() and (here / "templates" / "cards").is_dir():
        return here
    package = package_folder()
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


def writable(folder: Path, option: str = "--decks") -> Path:
    """`folder`, to write into, unless it is the copy installed with the package (which every
    later command reads, so that a change there would break them all)."""
    try:
        inside = folder.resolve().is_relative_to(package_folder())
    except (OSError, RuntimeError):  # a link loop: the write itself will say what is wrong
        inside = False
    if inside:
        raise OutputError(f"{folder}: is the copy of the deck installed with muscle-deck, which no command "
                          f"changes; run this inside a checkout of the project, or pass {option} a folder of "
                          "your own")
    return folder
