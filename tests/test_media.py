"""The deck's images: the committed files, their manifest and licences, the mesh mapping they
were rendered from, and the renderer itself where its libraries and the meshes are at hand."""

from __future__ import annotations

import csv
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DECKS, ROOT

from builder.cli import main
from builder.load import load
from builder.media import COLUMNS, FILE_NAME, MANIFEST, Image, MediaError, images_by_muscle, media_dir, read_images
from builder.meshmap import Mapping, MappingError, load_mapping
from builder.model import Facts

MEDIA = ROOT / "media"
MESH_SUFFIXES = (".glb", ".gltf", ".obj", ".mtl", ".fbx", ".blend", ".stl", ".ply", ".dae", ".drc", ".tar.xz")
LICENCES = {"CC BY-SA 4.0", "CC BY-SA 2.1 JP"}


@pytest.fixture(scope="module")
def facts() -> Facts:
    return load(DECKS)


@pytest.fixture(scope="module")
def mapping(facts: Facts) -> Mapping:
    return load_mapping(MEDIA, facts)


def manifest_rows() -> list[dict[str, str]]:
    with open(MEDIA / MANIFEST, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame segment."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    at = 2
    while at < len(data):
        assert data[at] == 0xFF
        marker = data[at + 1]
        length = struct.unpack(">H", data[at + 2:at + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[at + 5:at + 9])
            return width, height
        at += 2 + length
    raise AssertionError("no start-of-frame segment")


# --- the committed images and their manifest ----------------------------------------------

def test_every_image_is_in_the_manifest_with_its_licence_and_credit_and_back() -> None:
    rows = manifest_rows()
    assert rows and tuple(rows[0]) == COLUMNS
    listed = [r["file"] for r in rows]
    assert len(listed) == len(set(listed))
    pictures = {p.name for p in MEDIA.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp", ".gif")}
    assert pictures == set(listed)
    for row in rows:
        assert row["licence"] in LICENCES, row["file"]
        assert row["credit"].endswith(f"This image: {row['licence']}."), row["file"]
        assert row["source"].startswith("https://github.com/") and row["commit"], row["file"]
        assert row["authors"] and row["meshes"] and row["changes"], row["file"]
        match = FILE_NAME.match(row["file"])
        assert match and match["muscle"] == row["muscle"] and match["view"] == row["view"], row["file"]


def test_each_file_is_named_after_its_content() -> None:
    import hashlib

    for row in manifest_rows():
        digest = hashlib.sha256((MEDIA / row["file"]).read_bytes()).hexdigest()
        assert row["file"].endswith(f"-{digest[:8]}.jpg"), row["file"]


def test_each_image_is_a_small_jpeg_about_480_pixels_wide() -> None:
    for row in manifest_rows():
        data = (MEDIA / row["file"]).read_bytes()
        assert len(data) <= 80 * 1024, row["file"]
        width, height = jpeg_size(data)
        assert width == 480 and 360 <= height <= 640, (row["file"], width, height)
        assert b"Exif" not in data[:64], row["file"]  # no metadata beyond the JFIF header


def test_every_muscle_with_a_mesh_has_its_views(mapping: Mapping) -> None:
    views: dict[str, set[str]] = {}
    for row in manifest_rows():
        views.setdefault(row["muscle"], set()).add(row["view"])
    for muscle, entry in mapping.muscles.items():
        if entry.none is not None:
            assert muscle not in views, f"{muscle} is mapped to no mesh but has images"
            continue
        assert "location" in views.get(muscle, set()), f"{muscle} has no location view"
        assert ("attachment" in views[muscle]) == bool(entry.patches), \
            f"{muscle}: an attachment view exactly where the mapping lists patches"


def test_every_fact_file_muscle_is_in_the_mapping(facts: Facts, mapping: Mapping) -> None:
    assert set(mapping.muscles) == {m.id for m in facts.muscles}
    for entry in mapping.muscles.values():
        assert entry.none is None or entry.none.strip()


def test_the_images_cover_the_deck() -> None:
    located = {r["muscle"] for r in manifest_rows() if r["view"] == "location"}
    assert len(located) >= 185


def test_no_mesh_file_is_committed() -> None:
    try:
        tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        paths = tracked.splitlines()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout: look at the files themselves
        paths = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                 if p.is_file() and not {".git", ".venv", "venv", "dist"} & set(p.parts)]
    meshes = [p for p in paths if p.lower().endswith(MESH_SUFFIXES)]
    assert meshes == []


# --- the reader -----------------------------------------------------------------------------

def test_the_reader_gives_the_images_by_muscle_and_view() -> None:
    images = read_images(MEDIA)
    assert [i.file for i in images] == sorted(r["file"] for r in manifest_rows())
    by_muscle = images_by_muscle(MEDIA)
    first = images[0]
    assert by_muscle[first.muscle][first.view] == first
    assert isinstance(first, Image) and first.path(MEDIA).is_file()
    assert first.credit and first.licence in LICENCES


def test_the_deck_s_media_folder_is_the_checkout_s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert media_dir() == ROOT / "media"


def copy_media(tmp_path: Path) -> Path:
    target = tmp_path / "media"
    shutil.copytree(MEDIA, target)
    return target


def test_the_reader_rejects_a_listed_file_that_is_missing(tmp_path: Path) -> None:
    media = copy_media(tmp_path)
    victim = manifest_rows()[3]["file"]
    (media / victim).unlink()
    with pytest.raises(MediaError, match=rf"sources\.csv:5: {victim} is listed but not in"):
        read_images(media)


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges on Windows")
def test_the_reader_rejects_a_link_in_place_of_a_file(tmp_path: Path) -> None:
    media = copy_media(tmp_path)
    victim = manifest_rows()[0]["file"]
    outside = tmp_path / "elsewhere.jpg"
    (media / victim).rename(outside)
    os.symlink(outside, media / victim)
    with pytest.raises(MediaError, match="not a regular file"):
        read_images(media)


def test_the_reader_rejects_a_row_without_a_credit(tmp_path: Path) -> None:
    media = copy_media(tmp_path)
    rows = manifest_rows()
    rows[1]["credit"] = ""
    with open(media / MANIFEST, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(MediaError, match=r"sources\.csv:3: no credit"):
        read_images(media)


# --- the mapping ----------------------------------------------------------------------------

def test_the_mapping_must_name_every_muscle(tmp_path: Path, facts: Facts) -> None:
    media = tmp_path / "media"
    media.mkdir()
    text = (MEDIA / "mapping.yaml").read_text(encoding="utf-8")
    start = text.index("\n  gluteus-medius:\n")
    end = text.index("\n  gluteus-minimus:\n")
    (media / "mapping.yaml").write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(media, facts)
    assert any("muscle 'gluteus-medius'" in str(p) and "has no entry" in str(p) for p in caught.value.problems)


def test_the_mapping_must_place_every_landmark(tmp_path: Path, facts: Facts) -> None:
    media = tmp_path / "media"
    media.mkdir()
    text = (MEDIA / "mapping.yaml").read_text(encoding="utf-8").replace("  greater-trochanter: [femur]\n", "")
    (media / "mapping.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(MappingError) as caught:
        load_mapping(media, facts)
    problems = [str(p) for p in caught.value.problems]
    assert any("landmark 'greater-trochanter'" in p and "mapping.yaml:" in p for p in problems), problems


# --- the command ----------------------------------------------------------------------------

def test_help_and_other_commands_never_import_the_3d_libraries() -> None:
    code = ("import sys\nfrom click.testing import CliRunner\nfrom builder.cli import main\n"
            "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0\n"
            "r = CliRunner().invoke(main, ['images', '--help']); assert r.exit_code == 0, r.output\n"
            "r = CliRunner().invoke(main, ['list', '--muscle', 'gluteus-medius']); assert r.exit_code == 0\n"
            "heavy = {'numpy', 'trimesh', 'OpenGL', 'PIL', 'DracoPy'} & {m.split('.')[0] for m in sys.modules}\n"
            "assert not heavy, heavy\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_images_without_the_meshes_folder_is_a_one_line_error(tmp_path: Path) -> None:
    pytest.importorskip("numpy", reason="the images command's libraries are not installed")
    result = CliRunner().invoke(main, ["images", "--meshes", str(tmp_path / "none"), "-o", str(tmp_path)])
    assert result.exit_code != 0 and "Traceback" not in result.output


# --- the renderer (only where its libraries and the meshes are at hand) ----------------------

def meshes_folder() -> Path:
    for module in ("numpy", "trimesh", "DracoPy", "OpenGL", "PIL"):
        pytest.importorskip(module, reason=f"the renderer's optional library {module} is not installed "
                                           "(pip install '.[images]')")
    folder = os.environ.get("MUSCLE_DECK_MESHES")
    if not folder or not (Path(folder) / "z-anatomy" / "skeletal.glb").is_file():
        pytest.skip("set MUSCLE_DECK_MESHES to the folder holding z-anatomy/ and bodyparts3d/ to test the renderer")
    return Path(folder)


def render(meshes: Path, media: Path, *muscles: str) -> tuple[int, str]:
    args = ["images", "--meshes", str(meshes), "-o", str(media)]
    for muscle in muscles:
        args += ["--muscle", muscle]
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.output


def test_the_renderer_reproduces_the_committed_images(tmp_path: Path) -> None:
    meshes = meshes_folder()
    media = copy_media(tmp_path)
    before = {r["file"] for r in manifest_rows() if r["muscle"] in ("gluteus-medius", "semitendinosus")}
    for name in before:
        (media / name).unlink()
    code, out = render(meshes, media, "gluteus-medius", "semitendinosus")
    assert code == 0, out
    assert "gluteus-medius: location (lateral" in out
    for name in before:
        assert (media / name).read_bytes() == (MEDIA / name).read_bytes(), name
    assert (media / MANIFEST).read_text(encoding="utf-8") == (MEDIA / MANIFEST).read_text(encoding="utf-8")


def test_the_renderer_refuses_a_mesh_that_misses_the_muscle_s_bones(tmp_path: Path) -> None:
    meshes = meshes_folder()
    media = copy_media(tmp_path)
    text = (media / "mapping.yaml").read_text(encoding="utf-8")
    text = text.replace("  gluteus-medius:\n    meshes: [gluteus_medius]", "  gluteus-medius:\n    meshes: [deltoid]")
    (media / "mapping.yaml").write_text(text, encoding="utf-8")
    old = [r["file"] for r in manifest_rows() if r["muscle"] == "gluteus-medius"]
    code, out = render(meshes, media, "gluteus-medius")
    assert code == 1
    assert "gluteus-medius: REFUSED: the red mesh does not reach the bones of its origin ilium" in out
    assert not any((media / name).exists() for name in old)  # a refused muscle keeps no image
    assert "gluteus-medius" not in {r.muscle for r in read_images(media)}
