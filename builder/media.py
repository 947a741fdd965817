"""The deck's images: `media/sources.csv` read into plain records, for the build to put on cards.

Nothing here needs the 3D libraries: `muscle-deck images` writes the images and the manifest
(`builder.images`); this module only reads them. Every row names a file that must exist as a
regular file directly in the media folder, with its licence and credit line.
"""

from __future__ import annotations

import csv
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from .errors import MuscleDeckError

MANIFEST = "sources.csv"
VIEWS = ("location", "attachment")
COLUMNS = ("file", "muscle", "view", "seen_from", "source", "commit", "meshes", "authors", "licence",
           "changes", "credit")
FILE_NAME = re.compile(r"^(?P<muscle>[a-z0-9-]+)-(?P<view>location|attachment)-[0-9a-f]{8}\.jpg$")


class MediaError(MuscleDeckError):
    """The media folder's manifest or files are not as the build needs them."""


@dataclass(frozen=True)
class Image:
    """One image of a muscle: its file name (inside the media folder), the muscle's id, the
    view ('location' or 'attachment'), the side it is seen from ('lateral', …), the credit
    line and the licence it must be shown with."""

    file: str
    muscle: str
    view: str
    seen_from: str
    credit: str
    licence: str

    def path(self, media: Path | None = None) -> Path:
        """Where the file is: in `media`, by default the deck's own media folder."""
        return (media or media_dir()) / self.file


def media_dir() -> Path:
    """The deck's own media folder (see paths.data_root)."""
    from .paths import default_media

    return default_media()


def read_images(media: Path | None = None) -> tuple[Image, ...]:
    """Every image the manifest lists, sorted by file name. Raises MediaError (file:line: what
    is wrong) for a missing column or value, a name that is not `<muscle>-<view>-<hash>.jpg`
    matching its row, a duplicate, or a file that is missing, not a regular file or not
    directly in the folder."""
    folder = media or media_dir()
    return _read(folder.resolve())


def _read(folder: Path) -> tuple[Image, ...]:
    path = folder / MANIFEST
    shown = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        return ()
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise MediaError(f"{shown}:1: cannot read the image manifest ({err}); re-run muscle-deck images") from None
    if not rows or tuple(rows[0]) != COLUMNS:
        raise MediaError(f"{shown}:1: the header must be {','.join(COLUMNS)}; re-run muscle-deck images")
    images: list[Image] = []
    seen: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(COLUMNS):
            raise MediaError(f"{shown}:{line}: expected {len(COLUMNS)} columns, found {len(row)}")
        record = dict(zip(COLUMNS, row, strict=True))
        empty = [c for c in ("file", "muscle", "view", "seen_from", "licence", "credit") if not record[c].strip()]
        if empty:
            raise MediaError(f"{shown}:{line}: no {', '.join(empty)}; every image needs them")
        name = record["file"]
        match = FILE_NAME.match(name)
        if not match or match["muscle"] != record["muscle"] or match["view"] != record["view"]:
            raise MediaError(f"{shown}:{line}: '{name}' is not named <muscle>-<view>-<8 hex>.jpg after its row")
        if name in seen:
            raise MediaError(f"{shown}:{line}: '{name}' is listed twice")
        seen.add(name)
        try:
            info = os.lstat(folder / name)
        except FileNotFoundError:
            raise MediaError(f"{shown}:{line}: {name} is listed but not in {folder}; re-run muscle-deck images") \
                from None
        if not stat.S_ISREG(info.st_mode):
            raise MediaError(f"{shown}:{line}: {name} is not a regular file (a link, folder or device)")
        images.append(Image(name, record["muscle"], record["view"], record["seen_from"], record["credit"],
                            record["licence"]))
    return tuple(sorted(images, key=lambda i: i.file))


def images_by_muscle(media: Path | None = None) -> dict[str, dict[str, Image]]:
    """The images by muscle id, then by view: `images_by_muscle()["gluteus-medius"]["location"]`."""
    out: dict[str, dict[str, Image]] = {}
    for image in read_images(media):
        out.setdefault(image.muscle, {})[image.view] = image
    return out
