"""Files for contributors' editors: the JSON Schemas of the fact files, and new fact files.

Both come from the specs in builder/schema.py, the same ones the validator walks: the schemas
through `schema.json_schema`, a new fact file's keys and comments from the specs' keys and docs.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from . import schema
from .errors import Problem, ScaffoldError, UnreadableFile, ValidationError
from .files import read_bytes
from .load import REGISTRY_DIR, REQUIRED_FACTS, shown, yaml_files
from .output import replacing, target
from .yamlsafe import MAX_FILE_BYTES, read, unreadable

FACT_SCHEMA = "fact-file.schema.json"
REGISTRY_SCHEMA = "registry-file.schema.json"
SCHEMA_FILES = {FACT_SCHEMA: schema.FACT_FILE, REGISTRY_SCHEMA: schema.REGISTRY_FILE}
COMMENT = "# yaml-language-server: $schema="
# Keys a new muscle does not start with: written as comments, to uncomment when needed.
MAX_ID = schema.FACT_FILE.by_name["id"].spec.max_len  # type: ignore[union-attr]
MAX_SCHEMA_BYTES = 1024 * 1024  # far more than a schema file of builder/schema.py's specs


# --- JSON Schema files ---------------------------------------------------------------------

def schema_texts() -> dict[str, str]:
    """File name → the JSON Schema text (sorted keys, indent 2, trailing newline)."""
    return {name: json.dumps(schema.json_schema(spec), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
            for name, spec in SCHEMA_FILES.items()}


def write_schemas(folder: Path, check: bool = False, decks: Path | None = None) -> list[Path]:
    """Write the schema files into `folder`, or with `check` raise if they are not current.

    With `decks`, also give every YAML file there the schema line its editor needs (with
    `check`, report the files without one); the files are found and read as `validate` does
    them (regular files only, no link out of the folder). Returns the schema files written (or
    checked)."""
    lacking = _lacking_schema_line(decks) if decks is not None else []
    if not check:
        target(folder, folder=True)
    paths = []
    stale = []
    for name, text in schema_texts().items():
        path = folder / name
        paths.append(path)
        current = _current(path)
        if check and current != text:
            stale.append(f"{shown(path)} is missing" if not os.path.lexists(path) else
                         f"{shown(path)} differs from builder/schema.py" if isinstance(current, str) else
                         f"{shown(path)}: {current.reason}")
        elif not check and current != text:
            with replacing(path) as tmp:
                tmp.write_text(text, encoding="utf-8")
    if check:
        stale += [f"{shown(p)} has no schema line" for p in lacking]
    elif decks is not None:
        for path in lacking:
            add_schema_line(path, decks)
    if stale:
        raise ScaffoldError("; ".join(stale) + "; run `muscle-deck schema` and commit the result")
    return paths


def _current(path: Path) -> str | UnreadableFile:
    """A schema file's text, or why it cannot be read."""
    try:
        return read_bytes(path, MAX_SCHEMA_BYTES).decode("utf-8", errors="replace")
    except UnreadableFile as err:
        return err


def _lacking_schema_line(decks: Path) -> list[Path]:
    """The YAML files of `decks` without the schema line; every file that cannot be read is a
    problem, as for `validate`."""
    problems: list[Problem] = []
    registry, facts = yaml_files(decks, problems)
    lacking = []
    for path in registry + facts:
        try:
            if not read_bytes(path, MAX_FILE_BYTES).startswith(COMMENT.encode()):
                lacking.append(path)
        except UnreadableFile as err:
            problems.append(unreadable(shown(path), err))
    if problems:
        raise ValidationError(problems)
    return lacking


def schema_line(yaml_file: Path, decks: Path) -> str:
    """The first line of a YAML file under `decks`: its schema, relative to the file.

    The schemas live in schema/ beside the decks folder; registry files get the registry's."""
    is_registry = yaml_file.relative_to(decks).parts[0] == REGISTRY_DIR
    target = decks.parent / "schema" / (REGISTRY_SCHEMA if is_registry else FACT_SCHEMA)
    return COMMENT + Path(os.path.relpath(target, yaml_file.parent)).as_posix()


def add_schema_line(yaml_file: Path, decks: Path) -> bool:
    """Put the schema line first in a YAML file, changing nothing else; False if it has one."""
    raw = read_bytes(yaml_file, MAX_FILE_BYTES)
    if raw.startswith(COMMENT.encode()):
        return False
    newline = b"\r\n" if b"\r\n" in raw.split(b"\n", 1)[0] + b"\n" else b"\n"
    with replacing(yaml_file) as tmp:
        tmp.write_bytes(schema_line(yaml_file, decks).encode() + newline + raw)
    return True


# --- new fact files ------------------------------------------------------------------------

def new(decks: Path, muscle_id: str, region: str, group: str | None = None) -> Path:
    """Write decks/<region>/<group>/<id>.yaml with every key of a fact file, to be filled in."""
    if not re.match(schema.KEBAB, muscle_id):
        raise ScaffoldError(f"{muscle_id!r} is not a valid id: use lower-case words joined by "
                            "hyphens, e.g. 'gluteus-medius'")
    if len(muscle_id) > MAX_ID:
        raise ScaffoldError(f"the id is {len(muscle_id)} characters long, more than {MAX_ID}; shorten it")
    if muscle_id in schema.WINDOWS_RESERVED:
        raise ScaffoldError(f"'{muscle_id}' {schema.RESERVED_MESSAGE}")
    regions, removed, requires = _registry(decks)
    if region not in regions:
        raise ScaffoldError(f"unknown region '{region}'" + schema.did_you_mean(region, regions)
                            + "; valid values: " + ", ".join(sorted(regions)))
    groups = regions[region]
    if group is not None and group not in groups:
        if not groups:
            raise ScaffoldError(f"region '{region}' has no groups yet; leave out --group, or add "
                                f"the group to decks/{REGISTRY_DIR}/regions.yaml")
        raise ScaffoldError(f"unknown group '{group}' in region '{region}'"
                            + schema.did_you_mean(group, groups) + "; valid values: " + ", ".join(sorted(groups)))
    if muscle_id in removed:
        raise ScaffoldError(f"'{muscle_id}' is the id of a removed muscle, and ids are never reused; "
                            "choose another")
    for other in decks.rglob(f"{muscle_id}.yaml"):
        if other.relative_to(decks).parts[0] != REGISTRY_DIR:
            raise ScaffoldError(f"{shown(other)} already exists; edit it instead (nothing was written)")
    path = decks / region / (group or "") / f"{muscle_id}.yaml"
    text = fact_file(path, decks, muscle_id, region, group, requires.get(region, ()))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise ScaffoldError(f"{shown(path)} already exists; edit it instead (nothing was written)") from None
    except OSError as err:
        raise ScaffoldError(f"{shown(path)}: cannot write it: {err.strerror}") from None
    return path


def _registry(decks: Path) -> tuple[dict[str, dict[str, str]], set[str], dict[str, tuple[str, ...]]]:
    """Regions (id → groups), removed ids and the facts each region requires, read from the
    registry files alone."""
    regions: dict[str, dict[str, str]] = {}
    removed: set[str] = set()
    requires: dict[str, tuple[str, ...]] = {}
    for path in sorted((decks / REGISTRY_DIR).glob("*.yaml")):
        doc, _ = read(path, shown(path))
        data = doc.data if doc else None
        if not isinstance(data, dict):
            continue
        for region_id, region in (data.get("regions") or {}).items():
            groups = region.get("groups") if isinstance(region, dict) else None
            regions[region_id] = dict(groups) if isinstance(groups, dict) else {}
            needed = region.get("requires") if isinstance(region, dict) else None
            requires[region_id] = tuple(needed) if isinstance(needed, list) else ()
        if isinstance(data.get("removed"), dict):
            removed.update(data["removed"])
    if not regions:
        raise ScaffoldError(f"{shown(decks / REGISTRY_DIR)}: no regions found; pass --decks a "
                            "folder laid out like decks/")
    return regions, removed, requires


def fact_file(path: Path, decks: Path, muscle_id: str, region: str, group: str | None,
              requires: tuple[str, ...] = ()) -> str:
    """The text of a new fact file: every key of the spec, each with its doc as a comment."""
    given = {"id": muscle_id, "region": region}
    if group:
        given["group"] = group
    lines = [
        schema_line(path, decks),
        "# A new muscle. Fill in every value marked TODO; the file then validates. Optional keys are",
        "# commented out: to give one, remove its '# ' (and its items'). The fields are explained in",
        "# CONTRIBUTING.md. Ids a value names live in decks/registry/: a landmark not yet there goes",
        "# in landmarks.yaml (limbs) or axial-landmarks.yaml (trunk, head and neck), a nerve in",
        "# nerves.yaml, a reference in sources.yaml. Then run `muscle-deck validate` and `muscle-deck lock`.",
    ]
    for key in schema.FACT_FILE.keys:
        block = _key(key, 0, given.get(key.name))
        if key.name in requires:
            block[0] = block[0].replace("# optional:", "# TODO (required in this region):", 1)
        if key.name not in given and not (key.required or key.name in REQUIRED_FACTS or key.name in requires):
            block = ["# " + line for line in block]
        lines += block
    return "\n".join(lines) + "\n"


def _comment(key: schema.Key, value: str | None) -> str:
    spec = key.spec
    doc = spec.doc
    if not doc and isinstance(spec, schema.ListOf):
        doc = spec.item.doc
    if isinstance(spec, schema.Text) and spec.choices:
        doc = (doc + " " if doc else "") + "One of: " + ", ".join(spec.choices) + "."
    if value is not None:
        return f"  # {doc}" if doc else ""
    if key.name in REQUIRED_FACTS:  # required, for the whole muscle or in every part
        return f"  # TODO: {doc}"
    if key.name == "roots":  # required unless the nerve is cranial
        return f"  # TODO (leave out for a cranial nerve): {doc}"
    return f"  # {'TODO' if key.required else 'optional'}: {doc}".rstrip(": ")


def _inner(key: schema.Key, indent: int) -> list[str]:
    """A key inside a record: commented out (at its own indent) unless it is required."""
    block = _key(key, indent)
    if key.required or key.name in REQUIRED_FACTS or key.name == "roots":
        return block
    return [line[:indent] + "# " + line[indent:] if line[:indent].strip() == "" else "# " + line for line in block]


def _key(key: schema.Key, indent: int, value: str | None = None) -> list[str]:
    """A key and its (empty) value as YAML lines, nested records and lists of records spelt out."""
    pad = " " * indent
    spec = key.spec
    comment = _comment(key, value)
    if value is not None:
        return [f"{pad}{key.name}: {value}{comment}"]
    if isinstance(spec, schema.Record):
        return [f"{pad}{key.name}:{comment}"] + [line for k in spec.keys for line in _inner(k, indent + 2)]
    if isinstance(spec, schema.ListOf) and isinstance(spec.item, schema.Record):
        items = [line for k in spec.item.keys for line in _inner(k, indent + 4)]
        items[0] = f"{pad}  - " + items[0].lstrip()
        return [f"{pad}{key.name}:{comment}"] + items
    if isinstance(spec, schema.ListOf):
        return [f"{pad}{key.name}: []{comment}"]
    return [f"{pad}{key.name}:{comment}"]
