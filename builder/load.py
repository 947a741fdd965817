"""Load: the YAML files under a decks folder → checked, typed facts (or every problem found)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

from . import schema
from .errors import Problem, ValidationError
from .model import (
    Action,
    Attachment,
    Cited,
    Confusable,
    Facts,
    Innervation,
    Joint,
    Muscle,
    Myotome,
    Nerve,
    Part,
    Region,
    Registry,
    Source,
)
from .yamlsafe import Document, read

REGISTRY_DIR = "registry"
REQUIRED_FACTS = ("origin", "insertion", "actions", "innervation")
_KINDS = ("regions", "joints", "movements", "nerves", "sources", "landmarks", "removed", "myotomes")


def load(decks: Path, store: Callable[[list[_Fact], bytes | None], None] | None = None) -> Facts:
    """Read and check every file under `decks`; raise ValidationError listing all problems.

    `store`: given each part of the fact files as read, with its pickle when another process
    read it (else None), to store (see `assemble`)."""
    if not decks.is_dir():
        raise ValidationError([Problem(shown(decks), 1, 1,
                                       "no such folder; pass --decks a folder laid out like decks/")])
    problems: list[Problem] = []
    refs: list[schema.Ref] = []
    registry_docs = []
    for doc, found, found_refs, keep, _ in (_read_one(p, schema.REGISTRY_FILE)
                                            for p in sorted((decks / REGISTRY_DIR).glob("*.yaml"))):
        problems.extend(found)
        refs.extend(found_refs)
        if keep and doc is not None:
            registry_docs.append(doc)
    entries = _merge_registry(registry_docs, problems)
    _check_registry(entries, problems)
    fact_files = _fact_files(decks)
    facts = _read_facts(decks, fact_files, entries, store)
    if not fact_files and not problems:
        problems.append(Problem(shown(decks), 1, 1, "no fact files (*.yaml) found in this folder"))
    known: set[str] = set()  # ids of fact files with problems of their own, which still resolve elsewhere
    for fact in facts:
        problems.extend(fact.problems)
        refs.extend(fact.refs)
        if fact.muscle is None and fact.id is not None:
            known.add(fact.id)
    muscle_ids = _check_unique([f for f in facts if f.checked], problems)
    _check_refs(refs, entries, muscle_ids | known, problems)
    if problems:
        raise ValidationError(problems)
    return assemble(_registry(entries), facts)


def assemble(registry: Registry, facts: Iterable[_Fact]) -> Facts:
    """The facts of a deck that loaded without problems, from its registry and its fact files
    as read (the parts given to `load`'s `store`, joined)."""
    return Facts(registry, tuple(sorted((f.muscle for f in facts if f.muscle is not None), key=lambda m: m.id)))


def _fact_files(decks: Path) -> list[Path]:
    """Every *.yaml file under `decks` but the registry's, sorted (os.walk: twice as fast as rglob)."""
    found: list[Path] = []
    for root, dirs, files in os.walk(decks):
        if root == str(decks):
            dirs[:] = [d for d in dirs if d != REGISTRY_DIR]
        found.extend(Path(root, name) for name in files if name.endswith(".yaml"))
    return sorted(found)


def shown(path: Path) -> str:
    """A path as people should see it: relative to the working folder where it is below it."""
    text = os.fspath(path)
    if ".." not in text:  # the usual case, without os.path.relpath's work (a tenth of reading a file)
        if not os.path.isabs(text):
            return os.path.normpath(text)
        here = os.getcwd()
        if text.startswith(here + os.sep) or (here == os.sep and text != os.sep):
            return os.path.normpath(text[len(here):].lstrip(os.sep))
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


# Fact files read per chunk: a deck with no more is read in this process, a larger one in
# worker processes (see parallel.streamed).
CHUNK = 250


def _read_one(path: Path, spec: schema.Record) -> tuple[Document | None, list[Problem],
                                                        list[schema.Ref], bool, str | None]:
    """One file read and checked: (document, problems, references, keep it, id known)."""
    doc, problems = read(path, shown(path))
    refs: list[schema.Ref] = []
    if doc is None:  # unreadable: its file name, which must be its id, still resolves elsewhere
        return None, problems, refs, False, path.stem if spec is schema.FACT_FILE else None
    found: list[Problem] = []
    schema.check(spec, doc.data, (), doc, found, refs)
    problems.extend(found)
    if not found:
        return doc, problems, refs, True, None
    if spec is schema.REGISTRY_FILE and isinstance(doc.data, dict):
        return doc, problems, refs, True, None  # a registry file's valid entries still count
    known_id = None
    if isinstance(doc.data, dict):
        _check_parts(doc, problems)  # say what is missing even when other keys are wrong
        if isinstance(doc.data.get("id"), str):
            known_id = doc.data["id"]  # its id still resolves in other files
    return doc, problems, refs, False, known_id


class _Fact(NamedTuple):
    """A fact file read and checked on its own (perhaps in another process): what the checks
    across files need, and its muscle if it has no problem of its own. `doc` has no data: only
    its text, to find where a problem is."""

    doc: Document
    checked: bool  # it matches the schema, so its id and name take part in the checks across files
    id: str | None
    name: str | None
    former_ids: tuple[str, ...]
    muscle: Muscle | None
    problems: list[Problem]
    refs: list[schema.Ref]  # references to muscles, which only the checks across files can resolve


def _read_facts(decks: Path, paths: list[Path], entries: Entries,
                store: Callable[[list[_Fact], bytes | None], None] | None) -> list[_Fact]:
    from .parallel import streamed

    facts = []
    with closing(streamed(lambda chunk: [_read_fact(decks, p, entries) for p in chunk], paths, CHUNK,
                          "Checking fact files")) as parts:
        for part, pickled in parts:
            if store:
                store(part, pickled)
            facts.extend(part)
    return facts


def _read_fact(decks: Path, path: Path, entries: Entries) -> _Fact:
    doc, problems, refs, checked, known_id = _read_one(path, schema.FACT_FILE)
    if doc is None:
        return _Fact(Document(shown(path), None), False, known_id, None, (), None, problems, [])
    data = doc.data
    muscle = None
    if checked:
        own: list[Problem] = []
        _check_path(decks, path, doc, entries, own)
        _check_parts(doc, own)
        _check_facts(doc, entries, own)
        problems.extend(own)
        muscle = None if own else _muscle(doc)
    _check_refs([r for r in refs if r.kind != "muscle"], entries, set(), problems)
    light = replace(doc, data=None)  # the data is not needed any more
    muscle_refs = [schema.Ref(r.kind, r.value, light, r.at) for r in refs if r.kind == "muscle"]
    if not checked:
        return _Fact(light, False, known_id, None, (), None, problems, muscle_refs)
    return _Fact(light, True, data["id"], data["name"], tuple(data.get("former_ids") or ()), muscle,
                 problems, muscle_refs)


# --- registry ------------------------------------------------------------------------------

Entries = dict[str, dict[str, tuple[Any, Document]]]


def _merge_registry(docs: list[Document], problems: list[Problem]) -> Entries:
    entries: Entries = {kind: {} for kind in _KINDS}
    for doc in docs:
        if not isinstance(doc.data, dict):
            continue
        for kind in _KINDS:
            section = doc.data.get(kind)
            if not isinstance(section, dict):
                continue
            spec = schema.REGISTRY_FILE.key(kind).spec  # type: ignore[union-attr]
            for key, value in section.items():
                invalid: list[Problem] = []
                schema.check(spec.value, value, (kind, key), doc, invalid, [])  # type: ignore[union-attr]
                if invalid:
                    value = None  # reported already; the id still resolves
                if key in entries[kind]:
                    first = entries[kind][key][1]
                    problems.append(doc.problem(
                        (kind, key, "<key>"),
                        f"{kind[:-1]} '{key}' is already defined in {first.path}; keep one"))
                    continue
                entries[kind][key] = (value, doc)
    return entries


def _check_registry(entries: Entries, problems: list[Problem]) -> None:
    for key, (nerve, doc) in entries["nerves"].items():
        if not isinstance(nerve, dict):
            continue
        if nerve.get("cranial") and nerve.get("roots"):
            problems.append(doc.problem(("nerves", key, "roots"),
                                        "a cranial nerve has no spinal roots; remove 'roots'"))
        if not nerve.get("cranial") and not nerve.get("roots"):
            problems.append(doc.problem(("nerves", key),
                                        f"nerve '{key}' needs 'roots' (or 'cranial: true')"))


def _registry(entries: Entries) -> Registry:
    def values(kind: str) -> dict[str, Any]:
        return {key: value for key, (value, _) in sorted(entries[kind].items())}

    return Registry(
        regions={k: Region(k, v["name"], dict(v["groups"])) for k, v in values("regions").items()},
        joints={k: Joint(k, v["name"], tuple(v["movements"])) for k, v in values("joints").items()},
        movements=values("movements"),
        nerves={k: Nerve(k, v["name"], tuple(v.get("roots", ())), bool(v.get("cranial")),
                         v.get("part_of"),
                         Cited(v["lesion"]["text"], tuple(v["lesion"]["sources"]), "lesion")
                         if v.get("lesion") else None)
                for k, v in values("nerves").items()},
        sources={k: Source(k, v["kind"], v["short"], v["citation"], v.get("url"))
                 for k, v in values("sources").items()},
        landmarks={k: v["name"] for k, v in values("landmarks").items()},
        removed=values("removed"),
        myotomes={k: Myotome(k, v["joint"], v["movement"], tuple(v["muscles"]), tuple(v["sources"]))
                  for k, v in values("myotomes").items()},
    )


# --- fact files ----------------------------------------------------------------------------

def _check_unique(facts: list[_Fact], problems: list[Problem]) -> set[str]:
    """Ids and names are unique across files, and no former id is another muscle's id."""
    ids: dict[str, Document] = {}
    names: dict[str, Document] = {}
    for fact in facts:
        if fact.id in ids:
            problems.append(fact.doc.problem(("id",), f"muscle id '{fact.id}' is already used by "
                                                      f"{ids[fact.id].path}; ids must be unique"))
        ids.setdefault(fact.id, fact.doc)  # type: ignore[arg-type]  # a checked file has an id
        folded = str(fact.name).casefold()
        if folded in names:
            problems.append(fact.doc.problem(("name",), f"name '{fact.name}' is already used by "
                                                        f"{names[folded].path}; names must be unique"))
        names.setdefault(folded, fact.doc)
    for fact in facts:
        for i, former in enumerate(fact.former_ids):
            if former in ids:
                problems.append(fact.doc.problem(("former_ids", i), f"former id '{former}' is the id of "
                                                                     f"{ids[former].path}; ids are never reused"))
    return set(ids)


def _check_path(decks: Path, path: Path, doc: Document, entries: Entries,
                problems: list[Problem]) -> None:
    data = doc.data
    expected = [data.get("region"), data.get("group"), f"{data.get('id')}.yaml"]
    expected = [p for p in expected if p]
    text, base = str(path), str(decks) + os.sep
    actual = text[len(base):].split(os.sep) if text.startswith(base) else list(path.relative_to(decks).parts)
    if actual != expected:
        problems.append(doc.problem(("id",), "file is at " + "/".join(actual) + "; by its id, "
                                    "region and group it belongs at " + "/".join(expected) + "; move it"))
    region, group = data.get("region"), data.get("group")
    known = entries["regions"].get(region) if isinstance(region, str) else None
    if known and isinstance(group, str) and isinstance(known[0], dict):
        groups = known[0].get("groups") or {}
        if group not in groups:
            problems.append(doc.problem(("group",), f"unknown group '{group}' in region '{region}'"
                                        + (schema.did_you_mean(group, groups) or
                                           f"; use one of: {', '.join(groups)}")))


def _check_parts(doc: Document, problems: list[Problem]) -> None:
    data = doc.data
    parts = _dicts(data.get("parts"))
    seen: set[str] = set()
    for i, part in enumerate(parts):
        part_id = part.get("id")
        if isinstance(part_id, str) and part_id in seen:
            problems.append(doc.problem(("parts", i, "id"), f"part id '{part_id}' is used twice"))
        seen.add(str(part_id))
    for fact in schema.PART_FIELDS:
        in_parts = [i for i, p in enumerate(parts) if fact in p]
        if fact in data and in_parts:
            problems.append(doc.problem(("parts", in_parts[0], fact),
                                        f"'{fact}' is given for the whole muscle and for a part; "
                                        "write it in one place"))
        elif in_parts and len(in_parts) != len(parts):
            missing = next(i for i, p in enumerate(parts) if fact not in p)
            problems.append(doc.problem(("parts", missing),
                                        f"'{fact}' is given for some parts but not this one; "
                                        "give it for every part, or once for the whole muscle"))
        elif fact in REQUIRED_FACTS and fact not in data and not in_parts:
            problems.append(doc.problem((), f"missing required key '{fact}'; add it "
                                            "(for the whole muscle, or in every part)"))


def _check_facts(doc: Document, entries: Entries, problems: list[Problem]) -> None:
    data = doc.data
    places: list[tuple[tuple[Any, ...], dict[str, Any]]] = [((), data)]
    parts = data.get("parts") if isinstance(data.get("parts"), list) else []
    places += [(("parts", i), p) for i, p in enumerate(parts) if isinstance(p, dict)]
    joints, nerves = entries["joints"], entries["nerves"]
    for at, place in places:
        for i, action in enumerate(_dicts(place.get("actions"))):
            joint = joints.get(str(action.get("joint")), (None,))[0]
            movement = action.get("movement")
            if isinstance(joint, dict) and isinstance(movement, str) and \
                    movement not in (joint.get("movements") or []):
                problems.append(doc.problem(at + ("actions", i, "movement"),
                                            f"the {action['joint']} has no movement '{movement}'; "
                                            f"use one of: {', '.join(joint.get('movements') or [])}"))
        for i, supply in enumerate(_dicts(place.get("innervation"))):
            _check_roots(doc, at + ("innervation", i), supply, nerves.get(str(supply.get("nerve")), (None,))[0],
                         problems)
    sources = data.get("sources")
    if isinstance(sources, list):
        kinds = {entries["sources"][s][0].get("kind") for s in sources
                 if isinstance(s, str) and s in entries["sources"]
                 and isinstance(entries["sources"][s][0], dict)}
        known = all(isinstance(s, str) and s in entries["sources"] for s in sources)
        if sources and known and not kinds & {"textbook", "atlas"}:
            problems.append(doc.problem(("sources",), "cite at least one textbook or atlas "
                                                      "(e.g. moore-coa-8, gray-42, netter-7)"))
    for i, item in enumerate(_dicts(data.get("confusable"))):
        if item.get("muscle") == data.get("id"):
            problems.append(doc.problem(("confusable", i, "muscle"), "a muscle cannot be confused "
                                                                     "with itself; name the other one"))


def _check_roots(doc: Document, at: tuple[Any, ...], supply: dict[str, Any], nerve: Any,
                 problems: list[Problem]) -> None:
    roots: list[Any] = supply["roots"] if isinstance(supply.get("roots"), list) else []
    main: list[Any] = supply["main_roots"] if isinstance(supply.get("main_roots"), list) else []
    for root in main:
        if root not in roots:
            problems.append(doc.problem(at + ("main_roots",), f"main root {root} is not in 'roots'; "
                                                              "add it there too"))
    if not isinstance(nerve, dict):
        return
    if nerve.get("cranial"):
        if roots:
            problems.append(doc.problem(at + ("roots",), f"{nerve.get('name')} is a cranial nerve; "
                                                         "remove 'roots'"))
        return
    if "roots" not in supply:
        problems.append(doc.problem(at, "missing 'roots': give every spinal segment that supplies "
                                        "the muscle, e.g. [L4, L5, S1]"))
    beyond = [r for r in roots if isinstance(r, str) and re.match(schema.ROOT, r)
              and r not in (nerve.get("roots") or [])]
    if beyond:
        problems.append(doc.problem(at + ("roots",),
                                    f"root {', '.join(map(str, beyond))} is not among the "
                                    f"{nerve.get('name')}'s roots ({', '.join(nerve.get('roots') or [])}); "
                                    "check the levels, or the nerve's entry in the registry"))


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


_REF_KINDS = {"region": "regions", "nerve": "nerves", "joint": "joints", "movement": "movements",
              "landmark": "landmarks", "source": "sources"}


def _check_refs(refs: list[schema.Ref], entries: Entries, muscle_ids: set[str],
                problems: list[Problem]) -> None:
    for ref in refs:
        known: Iterable[str] = muscle_ids if ref.kind == "muscle" else entries[_REF_KINDS[ref.kind]]
        if ref.value not in known:
            where = "a fact file" if ref.kind == "muscle" else f"decks/registry/ ('{_REF_KINDS[ref.kind]}:')"
            problems.append(ref.doc.problem(
                ref.at, f"unknown {ref.kind} '{ref.value}'"
                + (schema.did_you_mean(ref.value, known) or f"; use an id from {where}, or add it there")))


# --- typed facts ---------------------------------------------------------------------------

def _attachment(data: dict[str, Any] | None) -> Attachment | None:
    return Attachment(data["text"], tuple(data["sites"])) if data else None


def _actions(data: list[dict[str, Any]] | None) -> tuple[Action, ...]:
    return tuple(Action(a["joint"], a["movement"], a.get("qualifier"), a.get("detail"),
                        bool(a.get("prime"))) for a in data or [])


def _innervation(data: list[dict[str, Any]] | None) -> tuple[Innervation, ...]:
    return tuple(Innervation(i["nerve"], tuple(i.get("roots", ())), tuple(i.get("main_roots", ())),
                             i.get("note")) for i in data or [])


def _muscle(doc: Document) -> Muscle:
    d = doc.data
    return Muscle(
        id=d["id"], name=d["name"], region=d["region"], path=doc.path, group=d.get("group"),
        former_ids=tuple(d.get("former_ids", ())), aliases=tuple(d.get("aliases", ())),
        description=d.get("description"),
        origin=_attachment(d.get("origin")), insertion=_attachment(d.get("insertion")),
        actions=_actions(d.get("actions")), innervation=_innervation(d.get("innervation")),
        blood_supply=d.get("blood_supply"),
        clinical=tuple(Cited(c["text"], tuple(c["sources"])) for c in d.get("clinical", ())),
        confusable=tuple(Confusable(c["muscle"], c["cue"]) for c in d.get("confusable", ())),
        notes=tuple(Cited(n["text"], tuple(n["sources"]), n["about"]) for n in d.get("notes", ())),
        parts=tuple(Part(p["id"], p["name"], _attachment(p.get("origin")),
                         _attachment(p.get("insertion")), _actions(p.get("actions")),
                         _innervation(p.get("innervation")), p.get("blood_supply"))
                    for p in d.get("parts", ())),
        sources=tuple(d["sources"]),
    )
