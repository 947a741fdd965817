"""The mapping of the deck's muscles to 3D meshes (`media/mapping.yaml`), read and checked.

No 3D library is needed here: the tests and `muscle-deck images` both read the mapping through
this module, and only the renderer (`builder.images`) opens the meshes it names.

The mapping file holds:

- `sources`: where each mesh set comes from (repository, commit, the files and their SHA-256,
  authors, licence, the credit line an image from it carries);
- `tolerance`: how far (metres) a muscle's bounding box may lie from a bone its facts attach it to;
- `skeleton`: pieces the Z-Anatomy export stores inside another bone's node, moved to a bone of
  their own (each piece chosen by the box its centre lies in);
- `regions`: named sets of bones a view is framed on;
- `landmarks`: for each landmark of the fact files, the bones it lies on (empty: soft tissue,
  not checked), optionally with a wider tolerance for a ligament or fascia beside a bone;
- `muscles`: one entry per fact-file muscle: the mesh nodes that are that muscle, the side it is
  seen from, the region, the origin and insertion patches; or `none: <reason>`.

Bone names are side-free stems: `femur` is the node `femur_right` (the deck shows the right
side), `rib_5` is `rib_right_5`, `sacrum` is `sacrum`; shell patterns (`rib_*`) name several.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import MuscleDeckError, Problem
from .model import Facts, Muscle
from .yamlsafe import Document, read

MAPPING_FILE = "mapping.yaml"
VIEWS = {  # where the camera stands, from the body's centre, and which way is up in the image
    "anterior": ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0)),
    "posterior": ((0.0, 0.0, -1.0), (0.0, 1.0, 0.0)),
    "lateral": ((-1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),  # the right side: +x is the subject's left
    "medial": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "superior": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    "inferior": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),
    "anterolateral": ((-0.7071, 0.0, 0.7071), (0.0, 1.0, 0.0)),
    "posterolateral": ((-0.7071, 0.0, -0.7071), (0.0, 1.0, 0.0)),
    "anteromedial": ((0.7071, 0.0, 0.7071), (0.0, 1.0, 0.0)),
    "posteromedial": ((0.7071, 0.0, -0.7071), (0.0, 1.0, 0.0)),
    "anteroinferior": ((0.0, -0.7071, 0.7071), (0.0, 0.7071, 0.7071)),
    "anterosuperior": ((0.0, 0.7071, 0.7071), (0.0, 0.7071, -0.7071)),
}
BODYPARTS = "bodyparts3d:"  # a mesh named so is a BodyParts3D OBJ file (its name without .obj)
_STEM = re.compile(r"^[a-z0-9_*?]+$")
_NODE = re.compile(r"^[a-z0-9_]+$")
_ENTRY_KEYS = {"meshes", "view", "region", "patches", "attachment_view", "hide", "unpaired", "drop", "take",
               "unchecked"}
PIECE_RADIUS = 0.004  # metres: a point names the piece whose centre lies this near it


class MappingError(MuscleDeckError):
    """media/mapping.yaml has problems; every one of them is listed."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the image mapping; fix them and run again")


@dataclass(frozen=True)
class Source:
    """A set of meshes: where it comes from, and what an image made from it must say."""

    key: str
    repository: str
    commit: str
    path: str
    files: dict[str, str]  # file name → SHA-256 of its bytes
    authors: str
    licence: str
    credit: str


@dataclass(frozen=True)
class Split:
    """Pieces of a skeleton node whose centres lie in a box, moved to a bone of their own."""

    bone: str
    node: str
    low: tuple[float, float, float]
    high: tuple[float, float, float]


@dataclass(frozen=True)
class Region:
    """The bones a view of a region is framed on, and bones its views leave out (an arm that
    hangs in front of the hip)."""

    frame: tuple[str, ...]
    hide: tuple[str, ...] = ()


@dataclass(frozen=True)
class Landmark:
    """The bones a landmark lies on (none: soft tissue), and how near a muscle must come."""

    id: str
    bones: tuple[str, ...]
    within: float | None = None  # None: the mapping's tolerance


@dataclass(frozen=True)
class Entry:
    """One fact-file muscle's meshes and views, or why it has none."""

    muscle: str
    none: str | None = None
    meshes: tuple[str, ...] = ()
    view: str = "anterior"
    region: str = ""
    patches: tuple[str, ...] = ()
    attachment_view: str | None = None
    hide: tuple[str, ...] = ()
    unpaired: bool = False
    drop: tuple[tuple[float, float, float], ...] = ()
    take: dict[str, tuple[tuple[float, float, float], ...]] = field(default_factory=dict)
    unchecked: dict[str, str] = field(default_factory=dict)

    @property
    def sources(self) -> tuple[str, ...]:
        """The mesh sets this entry's meshes come from."""
        # the bones always come from Z-Anatomy; a muscle mesh may come from BodyParts3D
        return ("z-anatomy", "bodyparts3d") if any(m.startswith(BODYPARTS) for m in self.meshes) else ("z-anatomy",)


@dataclass(frozen=True)
class Mapping:
    """The whole mapping file."""

    path: Path
    sources: dict[str, Source]
    tolerance: float
    splits: tuple[Split, ...]
    regions: dict[str, Region]
    landmarks: dict[str, Landmark]
    muscles: dict[str, Entry]

    def landmark_bones(self, landmark: str) -> tuple[str, ...]:
        return self.landmarks[landmark].bones


def mapping_path(media: Path) -> Path:
    return media / MAPPING_FILE


def load_mapping(media: Path, facts: Facts) -> Mapping:
    """Read `media/mapping.yaml` and check it against the facts; raise MappingError listing
    every problem."""
    from .load import shown

    path = mapping_path(media)
    doc, problems = read(path, shown(path))
    if doc is None:
        raise MappingError(problems)
    if not isinstance(doc.data, dict):
        raise MappingError([doc.problem((), "the mapping must be a mapping of sections (sources, muscles, ...)")])
    reader = _Reader(doc)
    mapping = reader.mapping(path)
    reader.check_against(mapping, facts)
    if reader.problems:
        raise MappingError(reader.problems)
    return mapping


def attachment_sites(muscle: Muscle) -> dict[str, tuple[str, ...]]:
    """Every landmark of a muscle's origins ('origin') and insertions ('insertion'), its parts'
    included."""
    found: dict[str, list[str]] = {"origin": [], "insertion": []}
    for owner in (muscle, *muscle.parts):
        for kind in ("origin", "insertion"):
            attachment = getattr(owner, kind)
            if attachment is not None:
                found[kind].extend(attachment.sites)
    return {kind: tuple(dict.fromkeys(sites)) for kind, sites in found.items()}


def stems_match(pattern: str, stems: Iterable[str]) -> list[str]:
    """The stems a bone name or shell pattern names."""
    return [s for s in stems if fnmatch.fnmatchcase(s, pattern)]


class _Reader:
    """Turns the YAML into a Mapping, collecting problems with their place in the file."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def bad(self, at: tuple[str | int, ...], message: str) -> None:
        self.problems.append(self.doc.problem(at, message))

    def section(self, name: str) -> dict[str, Any]:
        value = self.doc.data.get(name)
        if not isinstance(value, dict):
            self.bad((name,), f"section '{name}' is missing or not a mapping; add it")
            return {}
        return value

    def text(self, at: tuple[str | int, ...], value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            self.bad(at, "expected a non-empty text")
            return ""
        return value

    def names(self, at: tuple[str | int, ...], value: Any, pattern: re.Pattern[str] = _STEM) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.bad(at, "expected a list of names, e.g. [femur, hip_bone]")
            return ()
        for i, name in enumerate(value):
            if not pattern.match(name):
                self.bad(at + (i,), f"'{name}' is not a node or bone name (lower case letters, digits, _)")
        return tuple(value)

    def point(self, at: tuple[str | int, ...], value: Any) -> tuple[float, float, float]:
        if (isinstance(value, list) and len(value) == 3
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
            return (float(value[0]), float(value[1]), float(value[2]))
        self.bad(at, "expected a point [x, y, z] in metres")
        return (0.0, 0.0, 0.0)

    def mapping(self, path: Path) -> Mapping:
        known = {"sources", "tolerance", "skeleton", "regions", "landmarks", "muscles"}
        for key in self.doc.data:
            if key not in known:
                self.bad((key, "<key>"), f"unknown section '{key}'; the sections are {', '.join(sorted(known))}")
        tolerance = self.doc.data.get("tolerance")
        if not isinstance(tolerance, (int, float)) or isinstance(tolerance, bool) or not 0 < tolerance < 0.1:
            self.bad(("tolerance",), "tolerance must be a distance in metres between 0 and 0.1, e.g. 0.01")
            tolerance = 0.01
        return Mapping(path=path, sources=self.sources(), tolerance=float(tolerance), splits=self.splits(),
                       regions=self.regions(), landmarks=self.landmarks(), muscles=self.muscles())

    def sources(self) -> dict[str, Source]:
        out: dict[str, Source] = {}
        section = self.section("sources")
        for key in ("z-anatomy", "bodyparts3d"):
            if key not in section:
                self.bad(("sources",), f"source '{key}' is missing")
        for key, value in section.items():
            at: tuple[str | int, ...] = ("sources", key)
            if not isinstance(value, dict):
                self.bad(at, "expected repository, commit, path, files, authors, licence, credit")
                continue
            files = value.get("files")
            if not isinstance(files, dict) or not all(
                    isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) for v in files.values()):
                self.bad(at + ("files",), "files must map each file name to its SHA-256 (64 hex digits)")
                files = {}
            out[key] = Source(key, repository=self.text(at + ("repository",), value.get("repository")),
                              commit=self.text(at + ("commit",), value.get("commit")),
                              path=self.text(at + ("path",), value.get("path")),
                              files=dict(files),
                              authors=self.text(at + ("authors",), value.get("authors")),
                              licence=self.text(at + ("licence",), value.get("licence")),
                              credit=self.text(at + ("credit",), value.get("credit")))
        return out

    def splits(self) -> tuple[Split, ...]:
        out: list[Split] = []
        for bone, pieces in self.section("skeleton").items():
            at: tuple[str | int, ...] = ("skeleton", bone)
            if not isinstance(pieces, list):
                self.bad(at, "expected a list of {node: NAME, box: [[x, y, z], [x, y, z]]}")
                continue
            for i, piece in enumerate(pieces):
                box = piece.get("box") if isinstance(piece, dict) else None
                node = piece.get("node") if isinstance(piece, dict) else None
                if not (isinstance(node, str) and _NODE.match(node) and isinstance(box, list) and len(box) == 2):
                    self.bad(at + (i,), "expected {node: NAME, box: [[x, y, z], [x, y, z]]}")
                    continue
                out.append(Split(bone, node, self.point(at + (i, "box", 0), box[0]),
                                 self.point(at + (i, "box", 1), box[1])))
        return tuple(out)

    def regions(self) -> dict[str, Region]:
        out = {}
        for name, value in self.section("regions").items():
            at: tuple[str | int, ...] = ("regions", name)
            if isinstance(value, dict):
                if set(value) - {"frame", "hide"}:
                    self.bad(at, "a region is a list of bones, or {frame: [bones], hide: [bones]}")
                out[name] = Region(self.names(at + ("frame",), value.get("frame")),
                                   self.names(at + ("hide",), value.get("hide", [])))
            else:
                out[name] = Region(self.names(at, value))
        return out

    def landmarks(self) -> dict[str, Landmark]:
        out: dict[str, Landmark] = {}
        for name, value in self.section("landmarks").items():
            at: tuple[str | int, ...] = ("landmarks", name)
            if isinstance(value, dict):
                within = value.get("within")
                if not isinstance(within, (int, float)) or isinstance(within, bool) or not 0 < within <= 0.05:
                    self.bad(at + ("within",), "within must be a distance in metres, at most 0.05")
                    within = None
                unknown = set(value) - {"bones", "within", "note"}
                if unknown:
                    self.bad(at, f"unknown keys {sorted(unknown)}; a landmark has bones, within and note")
                out[name] = Landmark(name, self.names(at + ("bones",), value.get("bones")),
                                     float(within) if within is not None else None)
            else:
                out[name] = Landmark(name, self.names(at, value))
        return out

    def muscles(self) -> dict[str, Entry]:
        out: dict[str, Entry] = {}
        for muscle, value in self.section("muscles").items():
            at: tuple[str | int, ...] = ("muscles", muscle)
            if not isinstance(value, dict):
                self.bad(at, "expected the muscle's meshes, view and region, or none: <reason>")
                continue
            if "none" in value:
                if set(value) - {"none"}:
                    self.bad(at, "a muscle with none: <reason> has no other keys")
                out[muscle] = Entry(muscle, none=self.text(at + ("none",), value["none"]))
                continue
            for key in value:
                if key not in _ENTRY_KEYS:
                    self.bad(at + (key, "<key>"), f"unknown key '{key}'; an entry has {', '.join(sorted(_ENTRY_KEYS))}")
            meshes = self.names(at + ("meshes",), value.get("meshes"), re.compile(r"^(bodyparts3d:)?[A-Za-z0-9_ ]+$"))
            if not meshes:
                self.bad(at + ("meshes",), "list at least one mesh node, or write none: <reason>")
            view = value.get("view")
            if view not in VIEWS:
                self.bad(at + ("view",), f"view must be one of {', '.join(VIEWS)}")
                view = "anterior"
            attachment_view = value.get("attachment_view")
            if attachment_view is not None and attachment_view not in VIEWS:
                self.bad(at + ("attachment_view",), f"attachment_view must be one of {', '.join(VIEWS)}")
                attachment_view = None
            unchecked = value.get("unchecked", {})
            if not isinstance(unchecked, dict) or not all(isinstance(v, str) and v for v in unchecked.values()):
                self.bad(at + ("unchecked",), "unchecked maps a landmark to the reason it is not checked")
                unchecked = {}
            unpaired = value.get("unpaired", False)
            if not isinstance(unpaired, bool):
                self.bad(at + ("unpaired",), "unpaired is true or false")
                unpaired = False
            drop = value.get("drop", [])
            if not isinstance(drop, list):
                self.bad(at + ("drop",), "drop is a list of points [x, y, z]")
                drop = []
            take = value.get("take", {})
            if not isinstance(take, dict) or not all(isinstance(v, list) for v in take.values()):
                self.bad(at + ("take",), "take maps a muscular.glb node to a list of points [x, y, z]")
                take = {}
            out[muscle] = Entry(
                muscle, meshes=meshes, view=view, region=self.text(at + ("region",), value.get("region")),
                patches=self.names(at + ("patches",), value.get("patches", [])),
                attachment_view=attachment_view, hide=self.names(at + ("hide",), value.get("hide", [])),
                unpaired=unpaired, drop=tuple(self.point(at + ("drop", i), p) for i, p in enumerate(drop)),
                take={node: tuple(self.point(at + ("take", node, i), p) for i, p in enumerate(points))
                      for node, points in take.items()},
                unchecked=dict(unchecked))
        return out

    def check_against(self, mapping: Mapping, facts: Facts) -> None:
        """Every fact-file muscle has an entry (and no other); every landmark the facts use is in
        the table; names refer to what the mapping defines."""
        for muscle in facts.muscles:
            if muscle.id not in mapping.muscles:
                self.bad(("muscles",), f"muscle '{muscle.id}' ({muscle.path}) has no entry; add its meshes "
                                       "or none: <reason>")
        for muscle_id, entry in mapping.muscles.items():
            at: tuple[str | int, ...] = ("muscles", muscle_id, "<key>")
            if muscle_id not in facts.by_id:
                self.bad(at, f"'{muscle_id}' is not the id of a fact-file muscle; remove the entry or fix the id")
                continue
            if entry.none is not None:
                continue
            if entry.region not in mapping.regions:
                self.bad(("muscles", muscle_id, "region"), f"region '{entry.region}' is not in the regions section")
            sites = attachment_sites(facts.by_id[muscle_id])
            used = {s for group in sites.values() for s in group}
            for landmark in entry.unchecked:
                if landmark not in used:
                    self.bad(("muscles", muscle_id, "unchecked", landmark),
                             f"'{landmark}' is not an origin or insertion landmark of {muscle_id}")
            for source in entry.sources:
                if source not in mapping.sources:
                    self.bad(at, f"its meshes come from '{source}', which the sources section lacks")
        used_landmarks: dict[str, str] = {}
        for muscle in facts.muscles:
            for group in attachment_sites(muscle).values():
                for site in group:
                    used_landmarks.setdefault(site, muscle.id)
        for site, muscle_id in sorted(used_landmarks.items()):
            if site not in mapping.landmarks:
                self.bad(("landmarks",), f"landmark '{site}' (of {muscle_id}) is not in the landmarks table; "
                                         "add the bones it lies on ([] for soft tissue)")
        for site in mapping.landmarks:
            if site not in used_landmarks:
                self.bad(("landmarks", site, "<key>"), f"landmark '{site}' is used by no fact file; remove it")
