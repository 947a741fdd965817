"""`muscle-deck images`: each muscle's pictures, rendered from open 3D anatomy.

For every muscle of `media/mapping.yaml` that has meshes, two JPEG images about 480 pixels wide:

- a location view: the bones of the region with the muscle (right side) in red, seen from the
  side a textbook shows it;
- an attachment view, where the mapping lists the Z-Anatomy export's origin and insertion
  patches for it: the bones with the origin areas in red and the insertion areas in blue (the
  card gives the legend), from the side that shows both best (or, along a limb, anterior and
  posterior side by side).

A wrong image is a wrong fact, so each mapping is checked against the fact files first: the red
mesh's bounding box must come within the mapping's tolerance of a bone each of the muscle's
origin and insertion landmarks lies on, and every patch must lie on a bone its origin or
insertion names (which tells origin from insertion). A muscle that fails is refused (named,
with the reason) and gets no image; an attachment view whose patches fail, or would be hidden
or too small to see, is refused too.

Rendering is software OpenGL (OSMesa) with fixed inputs and no randomness, and the JPEG files
carry no metadata: the same meshes and code give the same bytes. A file is named after the
muscle, the view and the first 8 hex digits of its SHA-256, so a changed image gets a new name.
`media/sources.csv` lists every image with its source, the meshes used, authors, licence and
credit line.

Needs the optional 3D libraries (`pip install ".[images]"`: numpy, trimesh, DracoPy, PyOpenGL,
Pillow) and the OSMesa library (Debian/Ubuntu: `apt-get install libosmesa6`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import tarfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .errors import MuscleDeckError
from .media import COLUMNS, FILE_NAME, MANIFEST
from .meshmap import BODYPARTS, PIECE_RADIUS, VIEWS, Entry, Mapping, Source, attachment_sites, load_mapping, stems_match
from .model import Facts, Muscle

Array = Any  # a numpy array (numpy's own types are not required where the checks run)

WIDTH = 480  # pixels, as the cards show it
HEIGHTS = (360, 640)  # the image is as tall as its subject, within these
SUPERSAMPLE = 2  # rendered this many times larger, then scaled down: smooth edges
MAX_BYTES = 80 * 1024
QUALITIES = (88, 84, 80, 76, 72, 68, 64, 60)
MARGIN = 0.06  # of the frame's larger side, on every side
DEPTH_MARGIN = 0.03  # metres: in depth, what lies farther than this outside the frame is cut away
BONE = (0.91, 0.88, 0.80)
MUSCLE = (0.80, 0.09, 0.08)
ORIGIN = (0.85, 0.10, 0.08)
INSERTION = (0.10, 0.32, 0.86)
BACKGROUND = (1.0, 1.0, 1.0)
MIN_PATCH_PIXELS = 40  # solid pixels (not on its outline): an origin or insertion patch smaller in the image
#                        than this, or only a sliver, is not shown
PANEL_GAP = 10  # pixels between the two panels of an attachment view seen from two sides
DIVIDER = (170, 170, 170)  # the colour of the line between them
PATCH_ON_BONE = 0.02  # metres: a patch farther from every bone (median, vertex to vertex) is on none
PATCH_LIFT = 0.003  # metres toward the camera, so patches lying on a bone's surface show
CUT_X = 0.0015  # a section at the midline keeps what lies at x below this (the right side)


class ImageError(MuscleDeckError):
    """The meshes cannot be read or rendered."""


@dataclass
class Report:
    """What a run wrote, refused and skipped."""

    written: dict[str, list[str]] = field(default_factory=dict)  # muscle → files
    removed: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # muscle (or "<muscle> (attachment view)") → why
    without_mesh: dict[str, str] = field(default_factory=dict)  # muscle → why


@dataclass(frozen=True)
class Rendered:
    """One rendered image, before it is written."""

    muscle: str
    view: str
    seen_from: str
    data: bytes
    meshes: tuple[str, ...]
    sources: tuple[str, ...]
    changes: str

    @property
    def file(self) -> str:
        return f"{self.muscle}-{self.view}-{hashlib.sha256(self.data).hexdigest()[:8]}.jpg"


class Refused(Exception):
    """A mapping that disagrees with the facts (or cannot be drawn): the reason is the message."""


# --- meshes ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mesh:
    """Triangles in the Z-Anatomy frame: metres, y up, +z anterior, +x the subject's left."""

    vertices: Array  # (n, 3) float
    faces: Array  # (m, 3) int

    @property
    def empty(self) -> bool:
        return len(self.faces) == 0

    def centres(self) -> Array:
        return self.vertices[self.faces].mean(axis=1)

    def subset(self, keep: Array) -> Mesh:
        """The faces where `keep` is true, with only the vertices they use."""
        faces = self.faces[keep]
        used, inverse = np.unique(faces, return_inverse=True)
        return Mesh(self.vertices[used], inverse.reshape(-1, 3))

    def bounds(self) -> Array:
        return np.array([self.vertices.min(axis=0), self.vertices.max(axis=0)])

    def right(self) -> Mesh:
        """The part on the subject's right (x below the midline)."""
        return self.subset(self.centres()[:, 0] < CUT_X)

    def pieces(self) -> Array:
        """A label per face: faces joined by a shared vertex position share a label."""
        _, index = np.unique(np.round(self.vertices, 6), axis=0, return_inverse=True)
        faces = index.reshape(-1)[self.faces]
        parent = np.arange(int(index.max()) + 1 if len(index) else 0)

        def root(a: Array) -> Array:
            while True:
                up = parent[a]
                if np.array_equal(up, a):
                    return a
                parent[a] = parent[up]
                a = parent[a]

        for i, j in ((0, 1), (1, 2)):
            while True:
                ra, rb = root(faces[:, i]), root(faces[:, j])
                differ = ra != rb
                if not differ.any():
                    break
                parent[np.maximum(ra, rb)[differ]] = np.minimum(ra, rb)[differ]
        _, labels = np.unique(root(faces[:, 0]), return_inverse=True)
        return labels.reshape(-1)

    @staticmethod
    def join(meshes: Iterable[Mesh]) -> Mesh:
        vertices, faces, offset = [], [], 0
        for m in meshes:
            vertices.append(m.vertices)
            faces.append(m.faces + offset)
            offset += len(m.vertices)
        if not vertices:
            return Mesh(np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64))
        return Mesh(np.vstack(vertices), np.vstack(faces))


def _from_trimesh(mesh: Any, transform: Array | None = None) -> Mesh:
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    if transform is not None:
        vertices = vertices @ transform[:3, :3].T + transform[:3, 3]
    return Mesh(vertices, np.asarray(mesh.faces, dtype=np.int64))


class Library:
    """The mesh files of a meshes folder, checked against the mapping and read once."""

    def __init__(self, folder: Path, mapping: Mapping) -> None:
        self.folder = folder
        self.mapping = mapping
        self.z_folder = folder / "z-anatomy"
        self._bp_files = self._bodyparts_files(folder / "bodyparts3d")
        self.muscular = self._glb("muscular.glb")
        self.insertions = self._glb("insertions.glb")
        self.bones = self._skeleton(self._glb("skeletal.glb"))
        self._registration: Array | None = None
        self.registration_error: float | None = None
        self._bounds: dict[str, Array] = {}

    # files

    def _checked(self, source: Source, name: str, data: bytes, where: str) -> bytes:
        expected = source.files.get(name)
        if expected is None:
            raise ImageError(f"{where}: {name} is not a file the mapping knows; "
                             f"add its SHA-256 under sources: {source.key}: files")
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise ImageError(f"{where}: differs from the file the mapping was made for (SHA-256 {actual[:12]}…, "
                             f"expected {expected[:12]}…); use the files of {source.repository} at commit "
                             f"{source.commit}, or check the mapping against the new files and update it")
        return data

    def _glb(self, name: str) -> dict[str, Mesh]:
        import trimesh

        path = self.z_folder / name
        try:
            data = path.read_bytes()
        except OSError as err:
            raise ImageError(f"{path}: cannot read it ({err.strerror}); --meshes must be a folder holding "
                             "z-anatomy/muscular.glb, skeletal.glb and insertions.glb, and bodyparts3d/") from None
        self._checked(self.mapping.sources["z-anatomy"], name, data, str(path))
        scene: Any = trimesh.load(io.BytesIO(data), file_type="glb", force="scene", process=False)
        nodes: dict[str, Mesh] = {}
        for node in sorted(scene.graph.nodes_geometry):
            transform, geometry = scene.graph[node]
            nodes[node] = _from_trimesh(scene.geometry[geometry], np.asarray(transform, dtype=np.float64))
        return nodes

    def _bodyparts_files(self, folder: Path) -> dict[str, bytes]:
        """OBJ files by name without .obj: loose under bodyparts3d/, or inside a .tar.xz there."""
        found: dict[str, bytes] = {}
        if not folder.is_dir():
            return found
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix == ".obj":
                found[path.stem] = path.read_bytes()
            elif path.is_file() and path.name.endswith((".tar.xz", ".tar.gz", ".tar")):
                with tarfile.open(path) as archive:
                    for member in archive.getmembers():
                        if member.isfile() and member.name.endswith(".obj"):
                            handle = archive.extractfile(member)
                            if handle is not None:
                                found[Path(member.name).stem] = handle.read()
        return found

    def bodyparts(self, stem: str) -> Mesh:
        """A BodyParts3D mesh, registered to the Z-Anatomy frame."""
        import trimesh

        source = self.mapping.sources["bodyparts3d"]
        where = self.folder / "bodyparts3d" / f"{stem}.obj"
        if stem not in self._bp_files:
            raise Refused(f"BodyParts3D mesh {stem}.obj not found under {self.folder / 'bodyparts3d'}")
        data = self._checked(source, f"{stem}.obj", self._bp_files[stem], str(where))
        mesh = trimesh.load(io.BytesIO(data), file_type="obj", force="mesh", process=False)
        return _from_trimesh(mesh, self.registration())

    # the skeleton

    def _skeleton(self, nodes: dict[str, Mesh]) -> dict[str, Mesh]:
        """The skeletal nodes, with the pieces the mapping's `skeleton` section names moved out
        to bones of their own."""
        bones = dict(nodes)
        moved: dict[str, list[Mesh]] = {}
        for split in self.mapping.splits:
            if split.node not in bones:
                raise ImageError(f"{self.mapping.path}: skeleton: {split.bone}: no node '{split.node}' in skeletal.glb")
            mesh = bones[split.node]
            labels = mesh.pieces()
            centres = mesh.centres()
            take = np.zeros(len(mesh.faces), dtype=bool)
            low, high = np.array(split.low), np.array(split.high)
            for label in range(int(labels.max()) + 1):
                faces = labels == label
                points = centres[faces]
                centre = (points.min(axis=0) + points.max(axis=0)) / 2
                if np.all(centre >= low) and np.all(centre <= high):
                    take |= faces
            if not take.any():
                raise ImageError(f"{self.mapping.path}: skeleton: {split.bone}: no piece of {split.node} "
                                 "has its centre in the box")
            moved.setdefault(split.bone, []).append(mesh.subset(take))
            bones[split.node] = mesh.subset(~take)
        for bone, pieces in moved.items():
            bones[bone] = Mesh.join(pieces)
        return bones

    def bounds(self, bone: str) -> Array:
        """A bone's bounding box (computed once)."""
        if bone not in self._bounds:
            self._bounds[bone] = self.bones[bone].bounds()
        return self._bounds[bone]

    def stems(self) -> dict[str, str]:
        """Side-free bone names → the node on the right or midline ('femur' → 'femur_right')."""
        out = {}
        for name in self.bones:
            if "left" not in name.split("_"):
                out[name.replace("_right", "")] = name
        return out

    def resolve(self, names: Iterable[str], where: str) -> list[str]:
        """Right-side (or midline) nodes of bone names and patterns."""
        stems = self.stems()
        nodes: list[str] = []
        for name in names:
            matched = stems_match(name, stems)
            if not matched:
                raise ImageError(f"{self.mapping.path}: {where}: no bone '{name}' (bones are skeletal.glb's "
                                 "nodes without _right, e.g. femur, rib_5, hip_bone)")
            nodes.extend(stems[m] for m in matched)
        return list(dict.fromkeys(nodes))

    def hidden(self, names: Iterable[str], where: str) -> set[str]:
        """Nodes of both sides that bone names and patterns name."""
        out: set[str] = set()
        for node in self.resolve(names, where):
            out.add(node)
            if "_right" in node:
                out.add(node.replace("_right", "_left"))
        return out

    # BodyParts3D → Z-Anatomy

    def registration(self) -> Array:
        """The similarity transform taking BodyParts3D (mm, z up) onto the Z-Anatomy bones it
        shares (femora, tibiae, sacrum, occipital bone): iterative closest points from the
        axis change both use, with a scale."""
        import trimesh

        if self._registration is not None:
            return self._registration
        source = self.mapping.sources["bodyparts3d"]
        pairs = []
        for stem, node in sorted(_REGISTER.items()):
            if stem not in self._bp_files:
                raise Refused(f"BodyParts3D bone {stem}.obj (to register its muscles) not found")
            data = self._checked(source, f"{stem}.obj", self._bp_files[stem], f"bodyparts3d/{stem}.obj")
            mesh: Any = trimesh.load(io.BytesIO(data), file_type="obj", force="mesh", process=False)
            target = self.bones[node].vertices
            points = np.asarray(mesh.vertices, dtype=np.float64)
            pairs.append((points[:: max(1, len(points) // 400)], target))
        transform = np.eye(4)
        transform[:3, :3] = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]]) * 0.001  # mm z-up → m y-up
        centres = [((t.min(0) + t.max(0)) - (p @ transform[:3, :3].T).min(0) - (p @ transform[:3, :3].T).max(0)) / 2
                   for p, t in pairs]
        transform[:3, 3] = np.mean(centres, axis=0)
        error = np.inf
        for _ in range(60):
            sources, targets, distances = [], [], []
            for points, target in pairs:
                placed = points @ transform[:3, :3].T + transform[:3, 3]
                nearest, distance = _nearest(placed, target)
                keep = distance <= np.percentile(distance, 90)
                sources.append(points[keep])
                targets.append(target[nearest[keep]])
                distances.append(distance)
            transform = _similarity(np.vstack(sources), np.vstack(targets))
            new_error = float(np.mean(np.concatenate(distances)))
            if abs(error - new_error) < 1e-6:
                break
            error = new_error
        if error > 0.005:
            raise Refused(f"BodyParts3D bones do not register onto Z-Anatomy's (mean distance {error * 1000:.1f} mm)")
        self._registration, self.registration_error = transform, error
        return transform

    # muscles and patches

    def muscle_mesh(self, entry: Entry) -> Mesh:
        """The entry's meshes joined, the right side unless it is unpaired; the pieces its `drop`
        points name removed, those its `take` points name (in other nodes) added."""
        parts = []
        for name in entry.meshes:
            if name.startswith(BODYPARTS):
                parts.append(self.bodyparts(name[len(BODYPARTS):]))
            elif name in self.muscular:
                parts.append(self.muscular[name])
            else:
                raise Refused(f"no node '{name}' in z-anatomy/muscular.glb")
        mesh = Mesh.join(parts)
        if not entry.unpaired:
            mesh = mesh.right()
        if entry.drop:
            mesh = mesh.subset(~_pieces_at(mesh, entry.drop, "drop"))
        for node, points in entry.take.items():
            if node not in self.muscular:
                raise Refused(f"take: no node '{node}' in z-anatomy/muscular.glb")
            other = self.muscular[node].right()
            mesh = Mesh.join([mesh, other.subset(_pieces_at(other, points, f"take: {node}"))])
        if mesh.empty:
            raise Refused("its meshes have no faces on the right side")
        return mesh

    def patch_nodes(self, base: str) -> list[str]:
        """A patch node and its numbered pieces ('masseter', 'masseter_o1r', …)."""
        pattern = re.compile(rf"^{re.escape(base)}(_muscle)?_[oe]\d+[lr]$")
        nodes = [n for n in self.insertions if n == base or pattern.match(n)]
        if not nodes:
            raise Refused(f"no node '{base}' in z-anatomy/insertions.glb")
        return nodes


def _pieces_at(mesh: Mesh, points: Sequence[tuple[float, float, float]], where: str) -> Array:
    """The faces of the pieces the points name: each point, the piece whose centre (the middle
    of its bounding box) is nearest, within PIECE_RADIUS; refused if a point names no piece."""
    labels, centres = mesh.pieces(), mesh.centres()
    count = int(labels.max()) + 1 if len(labels) else 0
    middles = np.array([(centres[labels == k].min(axis=0) + centres[labels == k].max(axis=0)) / 2
                        for k in range(count)]).reshape(-1, 3)
    chosen = np.zeros(len(mesh.faces), dtype=bool)
    for point in points:
        distance = np.linalg.norm(middles - np.array(point), axis=1) if count else np.array([np.inf])
        nearest = int(distance.argmin())
        if distance[nearest] > PIECE_RADIUS:
            raise Refused(f"{where}: no piece of the mesh is centred at {list(point)}")
        chosen |= labels == nearest
    return chosen


_REGISTER = {  # BodyParts3D bone file → the Z-Anatomy node of the same bone
    "FJ40_BP4069_FMA24474_Right femur": "femur_right",
    "FJ838_BP4370_FMA24475_Left femur": "femur_left",
    "FJ693_BP4075_FMA24477_Right tibia": "tibia_right",
    "FJ291_BP4367_FMA24478_Left tibia": "tibia_left",
    "FJ66_BP4182_FMA16202_Sacrum": "sacrum",
    "FJ803_BP4135_FMA52735_Occipital bone": "occipital_bone",
}


def _nearest(points: Array, target: Array) -> tuple[Array, Array]:
    """For each point, the index of the nearest target point and the distance to it."""
    index = np.empty(len(points), dtype=np.int64)
    distance = np.empty(len(points))
    for start in range(0, len(points), 512):
        chunk = points[start:start + 512]
        squared = ((chunk[:, None, :] - target[None, :, :]) ** 2).sum(axis=-1)
        index[start:start + 512] = squared.argmin(axis=1)
        distance[start:start + 512] = np.sqrt(squared.min(axis=1))
    return index, distance


def _similarity(a: Array, b: Array) -> Array:
    """The rotation, uniform scale and translation taking points a closest to points b (Umeyama)."""
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    centred_a, centred_b = a - mean_a, b - mean_b
    u, s, vt = np.linalg.svd(centred_b.T @ centred_a / len(a))
    d = np.eye(3)
    d[2, 2] = np.sign(np.linalg.det(u @ vt))
    rotation = u @ d @ vt
    scale = float((s * np.diag(d)).sum() / (centred_a ** 2).sum(axis=1).mean())
    transform = np.eye(4)
    transform[:3, :3] = scale * rotation
    transform[:3, 3] = mean_b - scale * rotation @ mean_a
    return transform


# --- checks against the facts ----------------------------------------------------------------

def _box_distance(box: Array, points: Array) -> float:
    """The least distance from the points to an axis-aligned box (0 inside it)."""
    outside = np.maximum(box[0] - points, 0) + np.maximum(points - box[1], 0)
    return float(np.sqrt((outside ** 2).sum(axis=1)).min())


def check_location(library: Library, entry: Entry, muscle: Muscle, mesh: Mesh) -> list[str]:
    """Refuse unless the mesh's bounding box comes near a bone of each origin and insertion
    landmark that lies on bone; return the landmarks checked."""
    mapping = library.mapping
    box = mesh.bounds()
    checked, far = [], []
    for kind, sites in attachment_sites(muscle).items():
        for site in sites:
            landmark = mapping.landmarks[site]
            if not landmark.bones or site in entry.unchecked:
                continue
            within = landmark.within or mapping.tolerance
            nodes = library.resolve(landmark.bones, f"landmarks: {site}")
            distance = min(_box_distance(box, library.bones[n].vertices) for n in nodes)
            if distance > within:
                far.append(f"{kind} {site} ({', '.join(landmark.bones)}: {distance * 100:.1f} cm away, "
                           f"more than {within * 100:.1f})")
            checked.append(site)
    if far:
        raise Refused("the red mesh does not reach the bones of its " + "; ".join(far))
    if not checked:
        raise Refused("none of its origin or insertion landmarks lies on a bone mesh, so the mapping cannot be "
                      "checked; give a landmark its nearby bones with a wider 'within' in the landmarks table")
    return checked


def classify_patches(library: Library, entry: Entry, muscle: Muscle) -> tuple[Mesh, Mesh, list[str], frozenset[str]]:
    """The right-side origin and insertion patches of the entry, told apart by the bone each
    piece lies on: a piece on a bone only the origin's landmarks lie on is origin, only the
    insertion's is insertion (landmarks beside a bone, with a `within`, decide only where those
    on it do not). Refused where a piece lies on a bone neither names, or on one both name."""
    sites = attachment_sites(muscle)
    on: dict[str, set[str]] = {"origin": set(), "insertion": set()}
    beside: dict[str, set[str]] = {"origin": set(), "insertion": set()}
    for kind, group in sites.items():
        for site in group:
            landmark = library.mapping.landmarks[site]
            if landmark.bones:
                found = library.resolve(landmark.bones, f"landmarks: {site}")
                (on if landmark.within is None else beside)[kind].update(found)
    candidates = sorted(set(library.stems().values()))
    candidate_points = [library.bones[n].vertices for n in candidates]
    origin: list[Mesh] = []
    insertion: list[Mesh] = []
    nodes: list[str] = []
    under: set[str] = set()
    for base in entry.patches:
        for node in library.patch_nodes(base):
            mesh = library.insertions[node].right()
            if mesh.empty:
                continue
            nodes.append(node)
            labels = mesh.pieces()
            for label in range(int(labels.max()) + 1):
                piece = mesh.subset(labels == label)
                bone, distance = _bone_under(piece, candidates, candidate_points)
                where = f"patch {node} (on {bone.replace('_right', '')})"
                if distance > PATCH_ON_BONE:
                    raise Refused(f"{where}: lies {distance * 100:.1f} cm from the nearest bone")
                kinds = [k for k in ("origin", "insertion") if bone in on[k]]
                if not kinds:
                    kinds = [k for k in ("origin", "insertion") if bone in beside[k]]
                if len(kinds) == 2:
                    raise Refused(f"{where}: its bone carries both origin and insertion, so the colours "
                                  "cannot be told apart")
                if not kinds:
                    raise Refused(f"{where}: the facts attach {muscle.id} to no landmark of that bone")
                (origin if kinds[0] == "origin" else insertion).append(piece)
                under.add(bone)
    return Mesh.join(origin), Mesh.join(insertion), nodes, frozenset(under)


def _bone_under(piece: Mesh, names: list[str], points: list[Array]) -> tuple[str, float]:
    """The bone most of a piece's vertices lie nearest, and their median distance to it."""
    sample = piece.vertices[:: max(1, len(piece.vertices) // 40)]
    best = np.full(len(sample), np.inf)
    owner = np.zeros(len(sample), dtype=np.int64)
    for i, target in enumerate(points):
        _, distance = _nearest(sample, target)
        closer = distance < best
        best[closer] = distance[closer]
        owner[closer] = i
    counts = np.bincount(owner, minlength=len(names))
    winner = int(counts.argmax())
    return names[winner], float(np.median(best[owner == winner]))


# --- drawing ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Layer:
    """Triangles to draw in one colour; lifted toward the camera by `lift` metres."""

    mesh: Mesh
    colour: tuple[float, float, float]
    lift: float = 0.0
    key: str = ""  # a layer's cache key (its arrays are built once)


class Renderer:
    """Offscreen OpenGL through OSMesa (software rendering: the same pixels on every run)."""

    def __init__(self) -> None:
        platform = os.environ.get("PYOPENGL_PLATFORM")
        if platform not in (None, "", "osmesa"):
            raise ImageError(f"PYOPENGL_PLATFORM is '{platform}'; the images are drawn with OSMesa: "
                             "unset it or set it to osmesa")
        os.environ["PYOPENGL_PLATFORM"] = "osmesa"
        try:
            from OpenGL import GL, arrays, osmesa
        except (ImportError, AttributeError, OSError) as err:  # no libOSMesa on this system
            raise ImageError(f"cannot load OSMesa for offscreen drawing ({err}); install it "
                             "(Debian/Ubuntu: apt-get install libosmesa6)") from None
        self.gl, self.arrays, self.osmesa = GL, arrays, osmesa
        self.context = osmesa.OSMesaCreateContextExt(osmesa.OSMESA_RGBA, 24, 0, 0, None)
        if not self.context:
            raise ImageError("OSMesa could not create a drawing context")
        self._cache: dict[str, tuple[Array, Array]] = {}

    def close(self) -> None:
        self.osmesa.OSMesaDestroyContext(self.context)

    def _arrays(self, layer: Layer) -> tuple[Array, Array]:
        if layer.key and layer.key in self._cache:
            return self._cache[layer.key]
        out = _smooth(layer.mesh)
        if layer.key:
            self._cache[layer.key] = out
        return out

    def draw(self, layers: Sequence[Layer], camera: Camera, lit: bool = True) -> Array:
        """The layers as an RGB image (height, width, 3) of uint8."""
        gl = self.gl
        width, height = camera.pixels
        buffer = self.arrays.GLubyteArray.zeros((height, width, 4))
        if not self.osmesa.OSMesaMakeCurrent(self.context, buffer, gl.GL_UNSIGNED_BYTE, width, height):
            raise ImageError("OSMesa could not draw into its buffer")
        gl.glViewport(0, 0, width, height)
        gl.glClearColor(*BACKGROUND, 1.0)
        gl.glClear(gl.GL_COLOR_BUFFER_BIT | gl.GL_DEPTH_BUFFER_BIT)
        gl.glEnable(gl.GL_DEPTH_TEST)
        gl.glDepthFunc(gl.GL_LEQUAL)
        gl.glMatrixMode(gl.GL_PROJECTION)
        gl.glLoadIdentity()
        gl.glOrtho(-camera.half[0], camera.half[0], -camera.half[1], camera.half[1], camera.near, camera.far)
        gl.glMatrixMode(gl.GL_MODELVIEW)
        gl.glLoadIdentity()
        if lit:
            gl.glEnable(gl.GL_LIGHTING)
            gl.glEnable(gl.GL_NORMALIZE)
            gl.glLightModelfv(gl.GL_LIGHT_MODEL_AMBIENT, (0.30, 0.30, 0.30, 1.0))
            gl.glLightModeli(gl.GL_LIGHT_MODEL_TWO_SIDE, gl.GL_TRUE)
            for i, (direction, strength) in enumerate((((0.35, 0.55, 1.0), 0.72), ((-0.6, -0.25, 0.7), 0.28))):
                light = gl.GL_LIGHT0 + i
                gl.glEnable(light)
                gl.glLightfv(light, gl.GL_POSITION, (*direction, 0.0))  # in the camera's frame
                gl.glLightfv(light, gl.GL_DIFFUSE, (strength, strength, strength, 1.0))
                gl.glLightfv(light, gl.GL_SPECULAR, (0.12, 0.12, 0.12, 1.0))
                gl.glLightfv(light, gl.GL_AMBIENT, (0.0, 0.0, 0.0, 1.0))
            gl.glEnable(gl.GL_COLOR_MATERIAL)
            gl.glColorMaterial(gl.GL_FRONT_AND_BACK, gl.GL_AMBIENT_AND_DIFFUSE)
            gl.glMaterialfv(gl.GL_FRONT_AND_BACK, gl.GL_SPECULAR, (0.2, 0.2, 0.2, 1.0))
            gl.glMaterialf(gl.GL_FRONT_AND_BACK, gl.GL_SHININESS, 24.0)
        else:
            gl.glDisable(gl.GL_LIGHTING)
        gl.glLoadMatrixf(np.ascontiguousarray(camera.view.T, dtype=np.float32))
        gl.glEnableClientState(gl.GL_VERTEX_ARRAY)
        gl.glEnableClientState(gl.GL_NORMAL_ARRAY)
        for layer in layers:
            if layer.mesh.empty:
                continue
            vertices, normals = self._arrays(layer)
            if layer.lift:
                vertices = vertices + camera.towards * layer.lift
            gl.glColor3f(*layer.colour)
            gl.glVertexPointer(3, gl.GL_FLOAT, 0, np.ascontiguousarray(vertices, dtype=np.float32))
            gl.glNormalPointer(gl.GL_FLOAT, 0, np.ascontiguousarray(normals, dtype=np.float32))
            gl.glDrawArrays(gl.GL_TRIANGLES, 0, len(vertices))
        gl.glFinish()
        pixels = gl.glReadPixels(0, 0, width, height, gl.GL_RGB, gl.GL_UNSIGNED_BYTE)
        return np.frombuffer(pixels, dtype=np.uint8).reshape(height, width, 3)[::-1].copy()


def _smooth(mesh: Mesh) -> tuple[Array, Array]:
    """Per-corner positions and smooth normals (area-weighted over vertices at one position)."""
    _, index = np.unique(np.round(mesh.vertices, 6), axis=0, return_inverse=True)
    index = index.reshape(-1)
    corners = mesh.vertices[mesh.faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    summed = np.zeros((int(index.max()) + 1, 3))
    for k in range(3):
        np.add.at(summed, index[mesh.faces[:, k]], face_normals)
    normals = summed[index[mesh.faces]]
    normals /= np.maximum(np.linalg.norm(normals, axis=-1, keepdims=True), 1e-12)
    return corners.reshape(-1, 3), normals.reshape(-1, 3)


@dataclass(frozen=True)
class Camera:
    """An orthographic camera framing a box from one side; it sees only what lies within the
    box's depth (and a margin), so a body part between it and the region is cut away."""

    view: Array  # world → camera (4×4)
    towards: Array  # unit vector from the subject toward the camera
    half: tuple[float, float]  # half width and half height of what it sees, in metres
    near: float  # what lies nearer or farther than these (from the camera) is cut away
    far: float
    pixels: tuple[int, int]  # drawn size (width, height)
    size: tuple[int, int]  # the image's size (width, height)

    def sees(self, box: Array) -> bool:
        """Whether any of a box can lie in what the camera sees."""
        corners = np.array([[box[i & 1][0], box[(i >> 1) & 1][1], box[(i >> 2) & 1][2], 1.0] for i in range(8)])
        seen = corners @ self.view.T
        low, high = seen.min(axis=0), seen.max(axis=0)
        return bool(low[0] <= self.half[0] and high[0] >= -self.half[0] and low[1] <= self.half[1]
                    and high[1] >= -self.half[1] and -high[2] <= self.far and -low[2] >= self.near)

    @staticmethod
    def framing(box: Array, side: str, width: int = WIDTH) -> Camera:
        direction, up = (np.array(v, dtype=np.float64) for v in VIEWS[side])
        z = direction / np.linalg.norm(direction)
        x = np.cross(up, z)
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
        centre = box.mean(axis=0)
        corners = np.array([[box[i & 1][0], box[(i >> 1) & 1][1], box[(i >> 2) & 1][2]] for i in range(8)])
        span_x = float(np.abs((corners - centre) @ x).max())
        span_y = float(np.abs((corners - centre) @ y).max())
        margin = MARGIN * 2 * max(span_x, span_y, 0.01)
        span_x, span_y = span_x + margin, span_y + margin
        height = int(round(min(max(width * span_y / span_x, HEIGHTS[0]), HEIGHTS[1])))
        if span_y / span_x > height / width:
            span_x = span_y * width / height
        else:
            span_y = span_x * height / width
        depth = (corners - centre) @ z
        distance = 3.0
        pose = np.eye(4)
        pose[:3, 0], pose[:3, 1], pose[:3, 2] = x, y, z
        pose[:3, 3] = centre + z * distance
        return Camera(np.linalg.inv(pose), z, (span_x, span_y), distance - float(depth.max()) - DEPTH_MARGIN,
                      distance - float(depth.min()) + DEPTH_MARGIN, (width * SUPERSAMPLE, height * SUPERSAMPLE),
                      (width, height))


def _encode(pixels: Array, size: tuple[int, int]) -> bytes:
    """The image scaled down to its size, as a baseline JPEG of at most MAX_BYTES with no
    metadata."""
    return _jpeg(_scaled(pixels, size))


def _scaled(pixels: Array, size: tuple[int, int]) -> Any:
    from PIL import Image as PILImage

    return PILImage.fromarray(pixels, "RGB").resize(size, PILImage.Resampling.LANCZOS)


def _jpeg(picture: Any) -> bytes:
    for quality in QUALITIES:
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=quality, optimize=True, progressive=False, subsampling="4:2:0")
        data = out.getvalue()
        if len(data) <= MAX_BYTES:
            return data
    raise Refused(f"its image is larger than {MAX_BYTES // 1024} KB even at JPEG quality {QUALITIES[-1]}")


# --- one muscle ------------------------------------------------------------------------------

class Studio:
    """Draws one muscle's views."""

    def __init__(self, library: Library, renderer: Renderer) -> None:
        self.library = library
        self.renderer = renderer
        self._cut: dict[str, Mesh] = {}

    def _bones(self, entry: Entry, camera: Camera, side: str, frame: Array, section: bool = False,
               keep: frozenset[str] = frozenset(), right_only: bool = False) -> list[Layer]:
        """The bones to draw: right-side and midline ones; left-side ones only in a view from
        the front, back, top or bottom whose frame crosses the midline; none of those the entry
        or its region hides (but those in `keep`, which carry a patch), nor any the camera
        cannot see; with `right_only`, no left-side bone. A medial view (or any, with
        `section`) is of the right half: midline bones keep their right half."""
        region = self.library.mapping.regions[entry.region]
        hidden = ((self.library.hidden(entry.hide, f"muscles: {entry.muscle}: hide") - keep)
                  | self.library.hidden(region.hide, f"regions: {entry.region}: hide"))
        section = section or side == "medial"
        both = (side in ("anterior", "posterior", "superior", "inferior") and frame[1][0] > 0.01 and not section
                and not right_only)
        layers = []
        for name, mesh in sorted(self.library.bones.items()):
            left = "left" in name.split("_")
            if name in hidden or mesh.empty or (left and not both) or not camera.sees(self.library.bounds(name)):
                continue
            key = name
            if section and not left and "right" not in name.split("_"):
                key = name + ":cut"
                if key not in self._cut:
                    self._cut[key] = mesh.right()
                mesh = self._cut[key]
            if not mesh.empty:
                layers.append(Layer(mesh, BONE, key=key))
        return layers

    def _frame(self, entry: Entry, *meshes: Mesh) -> Array:
        nodes = self.library.resolve(self.library.mapping.regions[entry.region].frame, f"regions: {entry.region}")
        boxes = [self.library.bones[n].bounds() for n in nodes] + [m.bounds() for m in meshes if not m.empty]
        return np.array([np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)])

    def location(self, entry: Entry, mesh: Mesh) -> tuple[bytes, float]:
        """The location view, and the share of the muscle's outline not hidden by bones."""
        if entry.view == "medial" and entry.unpaired:
            mesh = mesh.right()
        frame = self._frame(entry, mesh)
        camera = Camera.framing(frame, entry.view)
        bones = self._bones(entry, camera, entry.view, frame)
        picture = self.renderer.draw([*bones, Layer(mesh, MUSCLE)], camera)
        small = replace(camera, pixels=camera.size)  # enough to measure how much of it shows
        alone = self.renderer.draw([Layer(mesh, (1.0, 0.0, 0.0))], small, lit=False)
        flat = self.renderer.draw([*(Layer(b.mesh, (0.0, 0.0, 0.0), key=b.key) for b in bones),
                                   Layer(mesh, (1.0, 0.0, 0.0))], small, lit=False)
        outline = int(_red(alone).sum())
        shown = int(_red(flat).sum()) / outline if outline else 0.0
        return _encode(picture, camera.size), shown

    def attachment(self, entry: Entry, origin: Mesh, insertion: Mesh, keep: frozenset[str]) -> tuple[bytes, str, float]:
        """The attachment view, the side(s) it is seen from, and the share of the less visible of
        origin and insertion in sight. The side is the mapping's `attachment_view`, else the one
        of the location view's and the four around the body that shows most of both;
        where no one side shows both and the patches lie along a limb (origin in front,
        insertion behind), two panels side by side, anterior and posterior, each of the right
        half only. Refused where origin or insertion would be hidden, or too small to see, from
        every choice. The bones carrying patches (`keep`) are drawn even if the entry hides them."""
        frame = self._patch_frame(origin, insertion)
        along_a_limb = (frame[1][1] - frame[0][1] > 1.8 * max(frame[1][0] - frame[0][0], frame[1][2] - frame[0][2])
                        and abs(frame.mean(axis=0)[0]) > 0.04)  # long, upright, off the midline
        margins = {entry.attachment_view: 0.0} if entry.attachment_view else {
            entry.view: 0.0, "anterior": 0.05, "posterior": 0.05, "lateral": 0.05, "medial": 0.05}
        seen = {side: self._patches_in_sight(entry, frame, side, keep, origin, insertion) for side in margins}
        best: tuple[float, tuple[str, ...]] = (-1.0, ())
        for side, margin in margins.items():  # a later side must be clearly better
            score = min(share for share, _ in seen[side])
            if all(pixels >= MIN_PATCH_PIXELS for _, pixels in seen[side]) and score >= 0.5 \
                    and score > best[0] + margin:
                best = (score, (side,))
        pair = ("anterior", "posterior")
        if best[0] < 0.6 and along_a_limb and all(side in seen for side in pair):
            panel = ((WIDTH - PANEL_GAP) // 2 / WIDTH) ** 2  # a panel's share of a whole image's pixels
            shares = [max(seen[s][i][0] for s in pair) for i in (0, 1)]
            pixels = [max(seen[s][i][1] for s in pair) * panel for i in (0, 1)]
            if min(pixels) >= MIN_PATCH_PIXELS and min(shares) >= 0.5 and min(shares) > best[0] + 0.1:
                best = (min(shares), pair)
        if not best[1]:
            poor = [kind for i, kind in enumerate(("origin", "insertion"))
                    if not any(s[i][0] >= 0.5 and s[i][1] >= MIN_PATCH_PIXELS for s in seen.values())]
            raise Refused(f"its {' and '.join(poor) or 'origin and insertion'} patches are too small or hidden "
                          "behind bones from every side that would show both")
        width = WIDTH if len(best[1]) == 1 else (WIDTH - PANEL_GAP) // 2
        panels = []
        for side in best[1]:
            camera = Camera.framing(frame, side, width)
            bones = self._bones(entry, camera, side, frame, section=len(best[1]) > 1, keep=keep, right_only=True)
            layers = [*bones, Layer(origin, ORIGIN, PATCH_LIFT), Layer(insertion, INSERTION, PATCH_LIFT)]
            panels.append(_scaled(self.renderer.draw(layers, camera), camera.size))
        return _jpeg(_side_by_side(panels)), " and ".join(best[1]), best[0]

    def _patches_in_sight(self, entry: Entry, frame: Array, side: str, keep: frozenset[str],
                          *patches: Mesh) -> list[tuple[float, int]]:
        """For each patch, the share of its outline the bones leave in sight from this side, and
        how many pixels of a whole image that is."""
        camera = Camera.framing(frame, side)
        small = replace(camera, pixels=camera.size)
        bones = [Layer(b.mesh, (0.0, 0.0, 0.0), key=b.key)
                 for b in self._bones(entry, camera, side, frame, keep=keep, right_only=True)]
        shown = []
        for patch in patches:
            alone = self.renderer.draw([Layer(patch, (1.0, 0.0, 0.0), PATCH_LIFT)], small, lit=False)
            among = self.renderer.draw([*bones, Layer(patch, (1.0, 0.0, 0.0), PATCH_LIFT)], small, lit=False)
            outline, visible = int(_red(alone).sum()), _red(among)
            shown.append((int(visible.sum()) / outline if outline else 0.0, int(_solid(visible).sum())))
        return shown

    @staticmethod
    def _patch_frame(*patches: Mesh) -> Array:
        """The patches' box, grown along each axis by a sixth of its length there (at least 3 cm)
        so the bones around them show."""
        boxes = [p.bounds() for p in patches]
        low, high = np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)
        grow = np.maximum((high - low) / 6, 0.03)
        return np.array([low - grow, high + grow])


def _side_by_side(panels: list[Any]) -> Any:
    """Panels of one height in a row, PANEL_GAP white pixels apart."""
    from PIL import Image as PILImage

    if len(panels) == 1:
        return panels[0]
    width = sum(p.width for p in panels) + PANEL_GAP * (len(panels) - 1)
    row = PILImage.new("RGB", (width, panels[0].height), tuple(int(c * 255) for c in BACKGROUND))
    x = 0
    for i, panel in enumerate(panels):
        if i:  # a thin grey line down the middle of the gap
            row.paste(DIVIDER, (x - PANEL_GAP // 2 - 1, 0, x - PANEL_GAP // 2 + 1, panel.height))
        row.paste(panel, (x, 0))
        x += panel.width + PANEL_GAP
    return row


def _solid(mask: Array) -> Array:
    """The pixels of a mask whose four neighbours are in it too: a sliver one or two pixels
    wide (a patch seen edge-on) has none."""
    inner = mask.copy()
    inner[1:, :] &= mask[:-1, :]
    inner[:-1, :] &= mask[1:, :]
    inner[:, 1:] &= mask[:, :-1]
    inner[:, :-1] &= mask[:, 1:]
    inner[0, :] = inner[-1, :] = False
    inner[:, 0] = inner[:, -1] = False
    return inner


def _red(pixels: Array) -> Array:
    return (pixels[..., 0] > 200) & (pixels[..., 1] < 60) & (pixels[..., 2] < 60)


def render_muscle(studio: Studio, entry: Entry, muscle: Muscle) -> tuple[list[Rendered], str, str | None]:
    """A muscle's images, a note on them for the progress line, and why the attachment view its
    mapping asks for (it lists patches) could not be made, or None. Raises Refused where the
    location view is refused: then the muscle gets no image."""
    library = studio.library
    mesh = library.muscle_mesh(entry)
    check_location(library, entry, muscle, mesh)
    meshes = (*(f"{'bodyparts3d' if m.startswith(BODYPARTS) else 'muscular.glb'}:{m.removeprefix(BODYPARTS)}"
                for m in entry.meshes), *(f"muscular.glb:{n} (pieces)" for n in entry.take), "skeletal.glb")
    side = "whole muscle" if entry.unpaired else "muscle of the right side"
    changes = [f"still image of the {side} in red on the skeleton, {entry.view} view, cropped to the region"]
    if any(m.startswith(BODYPARTS) for m in entry.meshes):
        changes.append("BodyParts3D mesh scaled and aligned to the Z-Anatomy bones")
    if entry.drop:
        changes.append("pieces of other structures merged into its mesh removed")
    if entry.take:
        changes.append("its pieces merged into another mesh (" + ", ".join(entry.take) + ") added back")
    if entry.hide:
        changes.append("bones in front of it left out (" + ", ".join(entry.hide) + ")")
    data, shown = studio.location(entry, mesh)
    images = [Rendered(muscle.id, "location", entry.view, data, meshes, entry.sources, "; ".join(changes))]
    note = f"location ({entry.view}, {shown:.0%} of it in sight)"
    if not entry.patches:
        return images, note, None
    try:
        origin, insertion, nodes, under = classify_patches(library, entry, muscle)
    except Refused as why:
        return images, note, str(why)
    if origin.empty or insertion.empty:
        return images, note, f"the patches show only its {'insertion' if origin.empty else 'origin'}"
    try:
        data, side_seen, in_sight = studio.attachment(entry, origin, insertion, under)
    except Refused as why:
        return images, note, str(why)
    images.append(Rendered(muscle.id, "attachment", side_seen, data,
                        (*(f"insertions.glb:{n}" for n in nodes), "skeletal.glb"), ("z-anatomy",),
                        f"still image of the origin (red) and insertion (blue) patches of the right side on the "
                        f"skeleton, {side_seen} view, cropped to them"))
    return images, note + f"; attachment ({side_seen}, {in_sight:.0%} in sight)", None


# --- the run ---------------------------------------------------------------------------------

def render_images(meshes: Path, media: Path, facts: Facts, muscles: Sequence[Muscle],
                  echo: Callable[[str], None], everything: bool) -> Report:
    """Render the images of `muscles` into `media`, update its manifest, remove the stale
    files of the muscles rendered (of every muscle when `everything`)."""
    mapping = load_mapping(media, facts)
    if not meshes.is_dir():
        raise ImageError(f"{meshes}: not a folder; --meshes is the folder holding z-anatomy/ and bodyparts3d/")
    library = Library(meshes, mapping)
    renderer = Renderer()
    studio = Studio(library, renderer)
    report = Report()
    made: list[Rendered] = []
    try:
        for muscle in muscles:
            entry = mapping.muscles[muscle.id]
            if entry.none is not None:
                report.without_mesh[muscle.id] = entry.none
                echo(f"{muscle.id}: no mesh: {entry.none}")
                continue
            try:
                images, note, missing = render_muscle(studio, entry, muscle)
            except Refused as why:
                report.refused[muscle.id] = str(why)
                echo(f"{muscle.id}: REFUSED: {why}")
                continue
            made.extend(images)
            if missing:
                report.refused[f"{muscle.id} (attachment view)"] = missing
                note += f"; attachment view REFUSED: {missing}"
            echo(f"{muscle.id}: {note}")
    finally:
        renderer.close()
    _write(media, made, {m.id for m in muscles}, mapping, report, everything)
    return report


def _write(media: Path, made: list[Rendered], rendered: set[str], mapping: Mapping, report: Report,
           everything: bool) -> None:
    rows = {row["file"]: row for row in read_manifest_rows(media) if row["muscle"] not in rendered}
    for image in made:
        path = media / image.file
        if not path.exists() or path.read_bytes() != image.data:
            _atomic_write(path, image.data)
        rows[image.file] = _row(image, mapping)
        report.written.setdefault(image.muscle, []).append(image.file)
    keep = set(rows)
    for path in sorted(media.iterdir()):
        match = FILE_NAME.match(path.name)
        if match and path.name not in keep and (everything or match["muscle"] in rendered):
            path.unlink()
            report.removed.append(path.name)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for name in sorted(rows):
        writer.writerow(rows[name])
    _atomic_write(media / MANIFEST, text.getvalue().encode("utf-8"))


def _row(image: Rendered, mapping: Mapping) -> dict[str, str]:
    sources = [mapping.sources[k] for k in image.sources]
    main = sources[0]
    return {
        "file": image.file, "muscle": image.muscle, "view": image.view, "seen_from": image.seen_from,
        "source": " + ".join(s.repository for s in sources), "commit": " + ".join(s.commit for s in sources),
        "meshes": "; ".join(image.meshes), "authors": main.authors, "licence": main.licence,
        "changes": image.changes, "credit": main.credit,
    }


def read_manifest_rows(media: Path) -> list[dict[str, str]]:
    path = media / MANIFEST
    if not path.exists():
        return []
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _atomic_write(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
