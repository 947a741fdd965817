"""Load: the YAML files under a decks folder → checked, typed facts (or every problem found)."""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from . import schema
from .errors import Problem, ValidationError
from .model import (
    Action,
    Attachment,
    Boundary,
    CardNote,
    Clinical,
    Condition,
    Confusable,
    Content,
    Facts,
    Form,
    Formed,
    Innervation,
    Joint,
    Lesion,
    Muscle,
    Myotome,
    Nerve,
    Note,
    Part,
    Passage,
    Region,
    Registry,
    Source,
    Space,
    nerve_chain,
    nerves_injured_with,
)
from .yamlsafe import Document, Path_, read

REGISTRY_DIR = "registry"
REQUIRED_FACTS = ("origin", "insertion", "actions", "innervation")
_KINDS = ("regions", "joints", "movements", "nerves", "sources", "landmarks", "removed", "myotomes",
          "lesions", "clinical", "lists", "card_notes", "spaces", "whole_lists")
# Registry entries by kind, then id: (value, or None if it is invalid; the file it is in).
Entries = dict[str, dict[str, tuple[Any, Document]]]


def load(decks: Path) -> Facts:
    """Read and check every file under `decks`; raise ValidationError listing all problems."""
    if not decks.is_dir():
        raise ValidationError([Problem(shown(decks), 1, 1,
                                       "no such folder; pass --decks a folder laid out like decks/")])
    problems: list[Problem] = []
    refs: list[schema.Ref] = []
    registry_files, fact_files = yaml_files(decks, problems)
    entries = _read_registry(registry_files, problems, refs)
    if not fact_files and not problems:
        problems.append(Problem(shown(decks), 1, 1, "no fact files (*.yaml) found in this folder"))
    read = [_read_fact(decks, path, entries, problems, refs) for path in fact_files]
    muscles = [(m, doc) for m, doc, _ in read if m is not None]
    broken = {path.stem for path, (m, _, _) in zip(fact_files, read, strict=True) if m is None}
    ids = _check_unique([(data, doc) for _, doc, data in read if data is not None], problems)
    _check_refs(refs, entries, ids | broken, problems)
    if not problems:  # the checks that need every muscle and a sound registry
        registry = _registry(entries)
        every = Facts(registry, tuple(m for m, _ in muscles))
        for muscle, doc in muscles:
            _check_card_refs(muscle, every, doc, problems)
        _check_lesions(registry, entries, [m for m, _ in muscles], problems)
        _check_reverse_questions(muscles, problems)
        _check_card_keys(every, entries, problems)
        _check_spaces(every, entries, problems)
    if problems:
        raise ValidationError(problems)
    return Facts(registry, tuple(sorted((m for m, _ in muscles), key=lambda m: m.id)))


def shown(path: Path) -> str:
    """A path as people should see it: relative to the working folder where it is below it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return str(path)
    return str(path) if relative.startswith("..") else relative


# --- files -------------------------------------------------------------------------------

def yaml_files(decks: Path, problems: list[Problem]) -> tuple[list[Path], list[Path]]:
    """The registry's files and every fact file, sorted. A folder that cannot be read, a link
    that leads out of the decks folder or to a folder, and a file that looks meant to be a fact
    file but does not end in exactly '.yaml' are problems, not skipped."""
    inside = Path(os.path.realpath(decks))
    registry: list[Path] = []
    facts: list[Path] = []

    def unreadable(err: OSError) -> None:
        where = Path(err.filename) if err.filename else decks
        problems.append(Problem(shown(where), 1, 1, f"cannot read this folder: {err.strerror}; "
                                                    "make it readable or remove it"))

    for root, dirs, files in os.walk(decks, onerror=unreadable):
        for name in sorted(dirs):
            if os.path.islink(os.path.join(root, name)):
                problems.append(Problem(shown(Path(root, name)), 1, 1, "is a link to a folder; put the "
                                                                       "folder itself here"))
        for name in files:
            path = Path(root, name)
            if not name.endswith(".yaml"):
                if name.strip().lower().endswith((".yaml", ".yml")):
                    problems.append(Problem(shown(path), 1, 1, "only files ending in exactly '.yaml' are read; "
                                                               f"rename it to {_yaml_name(name)}"))
                continue
            real = Path(os.path.realpath(path))
            if path.is_symlink() and not real.is_relative_to(inside):
                problems.append(Problem(shown(path), 1, 1, f"is a link to {real}, outside the decks "
                                                           "folder; copy the file here instead"))
                continue
            in_registry = Path(root) == decks / REGISTRY_DIR
            (registry if in_registry else facts).append(path)
    return sorted(registry), sorted(facts)


def _yaml_name(name: str) -> str:
    stem = name.strip()
    return stem[: stem.rfind(".")] + ".yaml"


def _read_registry(paths: list[Path], problems: list[Problem], refs: list[schema.Ref]) -> Entries:
    """Every registry file read, checked and merged: each id defined once across the files."""
    entries: Entries = {kind: {} for kind in _KINDS}
    for path in paths:
        doc, found = read(path, shown(path))
        problems.extend(found)
        if doc is not None:
            _merge(doc, entries, problems, refs)
    _check_nerves(entries, problems)
    _check_landmark_tree(entries, problems)
    refs += [schema.Ref("nerve", key, doc, ("lesions", key, "<key>")) for key, (_, doc) in entries["lesions"].items()]
    return entries


def _merge(doc: Document, entries: Entries, problems: list[Problem], refs: list[schema.Ref]) -> None:
    """A registry file's entries checked one by one and added: an invalid entry's id still
    resolves, and the valid ones count even beside it."""
    if not isinstance(doc.data, dict) or any(schema.REGISTRY_FILE.key(k) is None or not isinstance(s, dict)
                                             for k, s in doc.data.items()):
        schema.check(schema.REGISTRY_FILE, doc.data, (), doc, problems, refs)  # says what is wrong with its form
        return
    for kind, section in doc.data.items():
        spec = schema.REGISTRY_FILE.by_name[kind].spec
        for key, value in section.items():
            invalid: list[Problem] = []
            schema.check(spec, {key: value}, (kind,), doc, invalid, refs)  # the section's checks, for this entry
            problems.extend(invalid)
            if key in entries[kind]:
                first = entries[kind][key][1]
                problems.append(doc.problem((kind, key, "<key>"), f"{kind.rstrip('s')} '{key}' is already "
                                                                  f"defined in {first.path}; keep one"))
                continue
            entries[kind][key] = (None if invalid else value, doc)  # an invalid entry's id still resolves


def _check_nerves(entries: Entries, problems: list[Problem]) -> None:
    for key, (nerve, doc) in entries["nerves"].items():
        if not isinstance(nerve, dict):
            continue
        if nerve.get("cranial") and nerve.get("roots"):
            problems.append(doc.problem(("nerves", key, "roots"),
                                        "a cranial nerve has no spinal roots; remove 'roots'"))
        if not nerve.get("cranial") and not nerve.get("roots"):
            problems.append(doc.problem(("nerves", key), f"nerve '{key}' needs 'roots' (or 'cranial: true')"))
    for key, (fact, doc) in entries["clinical"].items():
        if isinstance(fact, dict) and not fact.get("nerves") and not fact.get("muscles"):
            problems.append(doc.problem(("clinical", key), "say what the fact is about: give 'nerves', "
                                                           "'muscles' or both"))


def _check_landmark_tree(entries: Entries, problems: list[Problem]) -> None:
    """Landmarks form a tree: no landmark is its own ancestor, and no two share a name (a card
    about a landmark is asked by its name). An unknown parent is an unknown reference."""
    landmarks = {key: value for key, (value, _) in entries["landmarks"].items() if isinstance(value, dict)}
    named: dict[str, str] = {}
    for key, landmark in landmarks.items():
        folded = " ".join(landmark["name"].split()).casefold()
        if folded in named:
            other = named[folded]
            doc = entries["landmarks"][key][1]
            problems.append(doc.problem(("landmarks", key, "name"), f"landmarks '{other}' (in "
                                        f"{entries['landmarks'][other][1].path}) and '{key}' have the same name "
                                        f"'{landmark['name']}'; name them apart or keep one"))
        else:
            named[folded] = key
    reported: set[str] = set()
    for key in landmarks:
        path = [key]
        parent = landmarks[key].get("part_of")
        while isinstance(parent, str) and parent in landmarks and parent not in path:
            path.append(parent)
            parent = landmarks[parent].get("part_of")
        if parent not in path or parent in reported:
            continue
        loop = path[path.index(parent):]
        reported.update(loop)
        doc = entries["landmarks"][loop[-1]][1]
        chain = " → ".join(f"'{k}'" for k in loop + [parent])
        problems.append(doc.problem(("landmarks", loop[-1], "part_of"), f"'part_of' makes a loop ({chain}): a "
                                    "landmark cannot be part of itself; remove or change one 'part_of'"))


# --- one fact file ------------------------------------------------------------------------

def _read_fact(decks: Path, path: Path, entries: Entries, problems: list[Problem],
               refs: list[schema.Ref]) -> tuple[Muscle | None, Document, dict[str, Any] | None]:
    """One fact file read and checked on its own: its muscle if it has no problem, and its data
    if it has the right form (for the checks across files)."""
    doc, found = read(path, shown(path))
    problems.extend(found)
    if doc is None:
        return None, Document(shown(path), None), None
    own: list[Problem] = []
    schema.check(schema.FACT_FILE, doc.data, (), doc, own, refs)
    if not isinstance(doc.data, dict):
        problems.extend(own)
        return None, doc, None
    well_formed = not own
    _check_parts(doc, own)  # says what is missing even when other keys are wrong
    if well_formed:
        _check_path(decks, path, doc, entries, own)
        _check_facts(doc, entries, own)
    muscle = None if own else _muscle(doc)
    problems.extend(own)
    return (None if own else muscle), doc, (doc.data if well_formed else None)


def _check_path(decks: Path, path: Path, doc: Document, entries: Entries, problems: list[Problem]) -> None:
    data = doc.data
    expected = [p for p in (data["region"], data.get("group"), f"{data['id']}.yaml") if p]
    actual = list(path.relative_to(decks).parts)
    if actual != expected:
        problems.append(doc.problem(("id",), "file is at " + "/".join(actual) + "; by its id, region and group "
                                    "it belongs at " + "/".join(expected) + "; move it"))
    region, group = entries["regions"].get(data["region"], (None,))[0], data.get("group")
    if isinstance(region, dict) and group is not None and group not in region["groups"]:
        groups = region["groups"]
        problems.append(doc.problem(("group",), f"unknown group '{group}' in region '{data['region']}'"
                                    + (schema.did_you_mean(group, groups) or f"; use one of: {', '.join(groups)}")))


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
            problems.append(doc.problem(("parts", in_parts[0], fact), f"'{fact}' is given for the whole muscle "
                                                                      "and for a part; write it in one place"))
        elif in_parts and len(in_parts) != len(parts):
            missing = next(i for i, p in enumerate(parts) if fact not in p)
            problems.append(doc.problem(("parts", missing), f"'{fact}' is given for some parts but not this one; "
                                                            "give it for every part, or once for the whole muscle"))
        elif fact in REQUIRED_FACTS and fact not in data and not in_parts:
            problems.append(doc.problem((), f"missing required key '{fact}'; add it "
                                            "(for the whole muscle, or in every part)"))
    if data.get("clue") and parts and not (data.get("origin") and data.get("insertion")):
        problems.append(doc.problem(("clue",), "the reverse cards ask for each part here; give 'clue' "
                                               "in the parts instead"))
    clinical: set[str] = set()
    for i, item in enumerate(_dicts(data.get("clinical"))):
        clinical_id = item.get("id")
        if isinstance(clinical_id, str) and clinical_id in clinical:
            problems.append(doc.problem(("clinical", i, "id"), f"clinical id '{clinical_id}' is used twice"))
        clinical.add(str(clinical_id))


def _check_facts(doc: Document, entries: Entries, problems: list[Problem]) -> None:
    data = doc.data
    places: list[tuple[tuple[Any, ...], dict[str, Any]]] = [((), data)]
    places += [(("parts", i), p) for i, p in enumerate(_dicts(data.get("parts")))]
    for at, place in places:
        for i, action in enumerate(_dicts(place.get("actions"))):
            _check_movement(doc, at + ("actions", i), action, entries, problems)
        for i, supply in enumerate(_dicts(place.get("innervation"))):
            nerve = entries["nerves"].get(supply["nerve"], (None,))[0]
            _check_roots(doc, at + ("innervation", i), supply, nerve, problems)
    region: dict[str, Any] = entries["regions"].get(data["region"], (None,))[0] or {}
    for fact in region.get("requires", ()):
        if fact not in data and not any(fact in part for _, part in places[1:]):
            problems.append(doc.problem((), f"a muscle of the {region['name'].lower()} needs '{fact}' (the region's "
                                            "'requires' in the registry); add it, for the whole muscle or in every "
                                            "part"))
    for limb_end in ("hand", "foot"):  # twins, such as the lumbricals of the hand and of the foot
        if data["id"].endswith(f"-of-{limb_end}") and not data["name"].endswith(f"({limb_end})"):
            problems.append(doc.problem(("name",), f"the id ends in '-of-{limb_end}', so the name ends in "
                                                   f"'({limb_end})' too, e.g. 'Lumbricals ({limb_end})'"))
    sources = data["sources"]
    known = [entries["sources"][s][0] for s in sources if s in entries["sources"]]
    if len(known) == len(sources) and all(isinstance(s, dict) for s in known) \
            and not {s["kind"] for s in known} & {"textbook", "atlas"}:
        problems.append(doc.problem(("sources",), "cite at least one textbook or atlas (e.g. moore-coa-8, "
                                                  "gray-42, netter-7)"))
    for i, item in enumerate(_dicts(data.get("confusable"))):
        if item["muscle"] == data["id"]:
            problems.append(doc.problem(("confusable", i, "muscle"), "a muscle cannot be confused with itself; "
                                                                     "name the other one"))
    for i, item in enumerate(_dicts(data.get("clinical"))):
        if item["question"].lower().startswith("clinical relevance"):
            problems.append(doc.problem(("clinical", i, "question"), "ask one specific question that has one "
                                                                     "short answer, not 'Clinical relevance of …?'"))


def _check_movement(doc: Document, at: tuple[Any, ...], action: dict[str, Any], entries: Entries,
                    problems: list[Problem]) -> None:
    joint = entries["joints"].get(action["joint"], (None,))[0]
    movement = action["movement"]
    if isinstance(joint, dict) and movement not in joint["movements"]:
        problems.append(doc.problem(at + ("movement",), f"the {action['joint']} has no movement '{movement}'; "
                                                        f"use one of: {', '.join(joint['movements'])}"))


def _check_roots(doc: Document, at: tuple[Any, ...], supply: dict[str, Any], nerve: Any,
                 problems: list[Problem]) -> None:
    roots: list[str] = supply.get("roots", [])
    for root in supply.get("main_roots", []):
        if root not in roots:
            problems.append(doc.problem(at + ("main_roots",), f"main root {root} is not in 'roots'; add it there too"))
    if supply.get("main_roots") and not supply.get("main_from"):
        problems.append(doc.problem(at + ("main_roots",), "the main roots need 'main_from': the source ids of "
                                                          "the references that mark them as main, e.g. [moore-coa-8]"))
    if supply.get("main_from") and not supply.get("main_roots"):
        problems.append(doc.problem(at + ("main_from",), "'main_from' names who marks the main roots; give "
                                                         "'main_roots' too, or remove it"))
    if not isinstance(nerve, dict):
        return
    if nerve.get("cranial"):
        if roots:
            problems.append(doc.problem(at + ("roots",), f"{nerve['name']} is a cranial nerve; remove 'roots'"))
        return
    if "roots" not in supply:
        problems.append(doc.problem(at, "missing 'roots': give every spinal segment that supplies the muscle, "
                                        "e.g. [L4, L5, S1]"))
    beyond = [r for r in roots if r not in nerve.get("roots", [])]
    if beyond:
        problems.append(doc.problem(at + ("roots",), f"root {', '.join(beyond)} is not among the {nerve['name']}'s "
                                                     f"roots ({', '.join(nerve.get('roots', []))}); check the levels, "
                                                     "or the nerve's entry in the registry"))


def _check_card_refs(muscle: Muscle, facts: Facts, doc: Document, problems: list[Problem]) -> None:
    """Each note and cue names a card the muscle has."""
    from .kinds import card_refs

    cards = card_refs(muscle, facts)
    named = [("notes", i, n.card) for i, n in enumerate(muscle.notes)]
    named += [("confusable", i, c.card) for i, c in enumerate(muscle.confusable)]
    for field, i, card in named:
        if card not in cards:
            problems.append(doc.problem((field, i, "card"), f"'{card}' is not a card of this muscle"
                                        + (schema.did_you_mean(card, cards) or "")
                                        + f"; its cards are: {', '.join(cards)}"))


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


# --- checks across files -----------------------------------------------------------------

def _check_unique(files: list[tuple[dict[str, Any], Document]], problems: list[Problem]) -> set[str]:
    """Across the well-formed files: ids are unique; a former id is claimed by one muscle only and
    is no muscle's id (else two muscles would share their notes); a name or alias (compared as
    `--muscle` compares them: in any case, in any Unicode form) belongs to one muscle only. The ids."""
    ids: dict[str, Document] = {}
    for data, doc in files:
        if data["id"] in ids:
            problems.append(doc.problem(("id",), f"muscle id '{data['id']}' is already used by "
                                                 f"{ids[data['id']].path}; ids must be unique"))
        ids.setdefault(data["id"], doc)
    former: dict[str, Document] = {}
    for data, doc in files:
        for i, old in enumerate(data.get("former_ids", [])):
            if old in ids:
                problems.append(doc.problem(("former_ids", i), f"former id '{old}' is the id of "
                                                               f"{ids[old].path}; ids are never reused"))
            elif old in former and former[old] is not doc:
                problems.append(doc.problem(("former_ids", i), f"former id '{old}' is also claimed by "
                                            f"{former[old].path}; only one muscle keeps an old id and its notes "
                                            "(when a muscle is split, give it to one of the parts)"))
            former.setdefault(old, doc)
    names: dict[str, tuple[Document, str]] = {_folded(i): (doc, "id") for i, doc in ids.items()}
    given: list[tuple[Document, Path_, str, str]] = [(doc, ("name",), data["name"], "name") for data, doc in files]
    given += [(doc, ("aliases", i), alias, "alias") for data, doc in files
              for i, alias in enumerate(data.get("aliases", []))]  # after the names: an alias is what to change
    for doc, at, text, what in given:
        first = names.get(_folded(text))
        if first is None:
            names[_folded(text)] = (doc, what)
        elif what == first[1] == "name":
            problems.append(doc.problem(at, f"name '{text}' is already used by {first[0].path}; names must "
                                            "be unique"))
        elif first[0] is doc:
            if first[1] != "id":  # the muscle's own id, in other words, names it all the same
                problems.append(doc.problem(at, f"alias '{text}' repeats this muscle's {first[1]}; remove it"))
        else:
            problems.append(doc.problem(at, f"{what} '{text}' is already the {first[1]} of {first[0].path}; "
                                            "a name or alias may belong to one muscle only"))
    return set(ids)


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


_REF_KINDS = {"region": "regions", "nerve": "nerves", "joint": "joints", "movement": "movements",
              "landmark": "landmarks", "source": "sources", "space": "spaces"}


def _check_refs(refs: list[schema.Ref], entries: Entries, muscle_ids: set[str], problems: list[Problem]) -> None:
    """Each reference names an entry; the first few unknown ones get a did-you-mean (each looks
    through every entry of its kind, so all of them would take time that grows as their product)."""
    suggestions = schema.MAX_SUGGESTIONS
    for ref in refs:
        known: Iterable[str] = muscle_ids if ref.kind == "muscle" else entries[_REF_KINDS[ref.kind]]
        if ref.value not in known:
            where = "a fact file" if ref.kind == "muscle" else f"decks/registry/ ('{_REF_KINDS[ref.kind]}:')"
            suggestions -= 1
            problems.append(ref.doc.problem(ref.at, f"unknown {ref.kind} '{ref.value}'"
                                            + (suggestions >= 0 and schema.did_you_mean(ref.value, known)
                                               or f"; use an id from {where}, or add it there")))


def _check_lesions(registry: Registry, entries: Entries, muscles: list[Muscle], problems: list[Problem]) -> None:
    """Each movement a nerve injury weakens is produced by a muscle the nerve (or a branch) supplies."""
    produced: dict[str, set[tuple[str, str]]] = {}
    for muscle in muscles:
        for part, supply in muscle.units("innervation"):
            for nerve in {n for i in supply for n in nerves_injured_with(i.nerve, registry.nerves)}:  # type: ignore[attr-defined]
                produced.setdefault(nerve, set()).update((a.joint, a.movement) for a in muscle.actions_of(part))
    for nerve_id, lesion in registry.lesions.items():
        doc = entries["lesions"][nerve_id][1]
        for i, (joint, movement) in enumerate(lesion.weakened):
            at = ("lesions", nerve_id, "weakened", i)
            if movement not in registry.joints[joint].movements:
                problems.append(doc.problem(at + ("movement",), f"the {joint} has no movement '{movement}'; use one "
                                            f"of: {', '.join(registry.joints[joint].movements)}"))
            elif (joint, movement) not in produced.get(nerve_id, set()):
                problems.append(doc.problem(at, f"no muscle supplied by the {registry.nerves[nerve_id].name} "
                                                f"produces {joint}: {movement}; check the muscles' actions and "
                                                "nerves, or remove it"))


def _check_reverse_questions(muscles: list[tuple[Muscle, Document]], problems: list[Problem]) -> None:
    """Each reverse card's question fits one muscle only."""
    from .kinds import reverse_question

    asked: dict[object, tuple[Muscle, Part | None]] = {}
    for muscle, doc in muscles:
        for part in muscle.parts if not (muscle.origin and muscle.insertion) else [None]:
            question = reverse_question(muscle, part)
            if question is None:
                continue
            other, other_part = asked.setdefault(question, (muscle, part))
            if other is not muscle:
                at: tuple[Any, ...] = ("parts", muscle.parts.index(part)) if part else ("origin",)
                problems.append(doc.problem(at, "its reverse card would ask the same as the one for "
                                            f"{_named(other, other_part)}; give one of them a 'clue' that tells "
                                            "them apart (see CONTRIBUTING.md)"))


def _check_spaces(facts: Facts, entries: Entries, problems: list[Problem]) -> None:
    """A space's note names a card of that space, and every side says what forms it."""
    for space in facts.registry.spaces.values():
        doc = entries["spaces"][space.id][1]
        sides = {b.side for b in space.boundaries}
        if space.note and space.note_on not in sides | {"contents", "name"}:
            problems.append(doc.problem(("spaces", space.id, "note_on"),
                                        f"'{space.note_on}' is not a card of this space; use 'contents', 'name' or "
                                        f"one of its sides: {', '.join(sorted(sides))}"))
        if bool(space.note) != bool(space.note_sources):
            problems.append(doc.problem(("spaces", space.id), "give 'notes' and 'note_sources' together"))
        for i, b in enumerate(space.boundaries):
            if not (b.muscles or b.landmarks or b.text):
                problems.append(doc.problem(("spaces", space.id, "boundaries", i),
                                            "say what forms this side: give 'muscles', 'landmarks' or 'text'"))


def _check_card_keys(facts: Facts, entries: Entries, problems: list[Problem]) -> None:
    """Each `lists:` entry names a list the deck asks, with groups that exist; each `card_notes:`
    entry names a card across muscles that exists, and each `whole_lists:` entry a card."""
    from .kinds import KINDS

    keys = {d.key for kind in KINDS if kind.across_muscles for d in kind.across_muscles(facts)}
    for key, (_, doc) in entries["card_notes"].items():
        if key not in keys:
            problems.append(doc.problem(("card_notes", key, "<key>"), f"'{key}' is not a card of the deck"
                                        + (schema.did_you_mean(key, keys) or "; use a note key as in "
                                                                              "decks/notes.lock")))
    whole = entries["whole_lists"]
    if any(key not in keys for key in whole):
        keys |= {d.key for kind in KINDS if kind.each_muscle for m in facts.muscles for d in kind.each_muscle(m, facts)}
    for key, (_, doc) in whole.items():
        if key not in keys:
            problems.append(doc.problem(("whole_lists", key, "<key>"), f"'{key}' is not a card of the deck"
                                        + (schema.did_you_mean(key, keys) or "; use a note key as in "
                                                                              "decks/notes.lock")))
    subjects = {k.split("/")[0] for k in keys} | set(_asked_lists(facts))
    groups = {g for r in facts.registry.regions.values() for g in (r.id, *r.groups)}
    for key, (value, doc) in entries["lists"].items():
        if key not in subjects:
            problems.append(doc.problem(("lists", key, "<key>"), f"'{key}' is not a list the deck asks"
                                        + (schema.did_you_mean(key, subjects) or "; write 'nerve:<nerve id>', "
                                           "'action:<joint>:<movement>' or 'landmark:<id>:origin'")))
        for i, group in enumerate(value.get("groups", ())):
            if group not in groups:
                problems.append(doc.problem(("lists", key, "groups", i), f"unknown group '{group}'"
                                            + (schema.did_you_mean(group, groups) or "; use a group of "
                                                                                    "decks/registry/regions.yaml")))


def _asked_lists(facts: Facts) -> Iterable[str]:
    """Every list subject the facts give, whether or not a card asks it ('nerve:tibial')."""
    for muscle in facts.muscles:
        for nerve in muscle.nerves():
            yield from (f"nerve:{n}" for n in nerve_chain(nerve, facts.registry.nerves))
        for action in muscle.all_actions():
            yield f"action:{action.joint}:{action.movement}"
        for fact in ("origin", "insertion"):
            for _, attachment in muscle.units(fact):
                for site in attachment.sites:  # type: ignore[attr-defined]
                    seen: set[str] = set()
                    while site and site not in seen:  # the site and the landmarks it is part of
                        seen.add(site)
                        yield f"landmark:{site}:{fact}"
                        site = facts.registry.landmark_parents.get(site)


def _named(muscle: Muscle, part: Part | None) -> str:
    return f"the {part.name} of {muscle.name}" if part else muscle.name


# --- typed facts -------------------------------------------------------------------------

def _registry(entries: Entries) -> Registry:
    def values(kind: str) -> dict[str, Any]:
        return {key: value for key, (value, _) in sorted(entries[kind].items())}

    return Registry(
        regions={k: Region(k, v["name"], dict(v["groups"])) for k, (v, _) in entries["regions"].items()},  # in order
        joints={k: Joint(k, v["name"], tuple(v["movements"])) for k, v in values("joints").items()},
        movements=values("movements"),
        nerves={k: Nerve(k, v["name"], tuple(v.get("roots", ())), bool(v.get("cranial")), v.get("part_of"),
                         v.get("continues")) for k, v in values("nerves").items()},
        sources={k: Source(k, v["kind"], v["short"], v["citation"], v.get("url"))
                 for k, v in values("sources").items()},
        landmarks={k: v["name"] for k, v in values("landmarks").items()},
        landmark_parents={k: v["part_of"] for k, v in values("landmarks").items() if v.get("part_of")},
        lists={k: tuple(v.get("groups", ())) if v["ask"] == "by-group" else v["ask"]
               for k, v in values("lists").items()},
        card_notes={k: CardNote(v["text"], tuple(v["sources"])) for k, v in values("card_notes").items()},
        whole_lists=values("whole_lists"),
        spaces={k: _space(k, v) for k, v in values("spaces").items()},
        removed=values("removed"),
        myotomes={k: Myotome(k, v["joint"], v["movement"], tuple(v["muscles"]), tuple(v["sources"]))
                  for k, v in values("myotomes").items()},
        lesions={k: Lesion(k, tuple((w["joint"], w["movement"]) for w in v["weakened"]), tuple(v["sources"]))
                 for k, v in values("lesions").items()},
        clinical={k: Condition(k, v["question"], v["answer"], tuple(v.get("nerves", ())),
                               tuple(v.get("muscles", ())), tuple(v["sources"]))
                  for k, v in values("clinical").items()},
    )


def _space(space_id: str, v: dict[str, Any]) -> Space:
    return Space(space_id, v["name"], v["kind"], v["region"],
                 tuple(Boundary(b["side"], tuple(b.get("muscles", ())), tuple(b.get("landmarks", ())), b.get("text"))
                       for b in v.get("boundaries", ())),
                 tuple(Content(c["structure"], c["kind"]) for c in v.get("contents", ())), tuple(v["sources"]),
                 v.get("part_of"), v.get("level"), v.get("notes"), tuple(v.get("note_sources", ())),
                 v.get("note_on", "name"))


def _form(data: dict[str, Any] | None) -> Form | None:
    return Form(data.get("shape"), data.get("fibres"), tuple(data["sources"])) if data else None


def _attachment(data: dict[str, Any] | None) -> Attachment | None:
    return Attachment(data["text"], tuple(data["sites"])) if data else None


def _actions(data: list[dict[str, Any]] | None) -> tuple[Action, ...]:
    return tuple(Action(a["joint"], a["movement"], a.get("qualifier"), a.get("detail"), bool(a.get("prime")))
                 for a in data or [])


def _innervation(data: list[dict[str, Any]] | None) -> tuple[Innervation, ...]:
    return tuple(Innervation(i["nerve"], tuple(i.get("roots", ())), tuple(i.get("main_roots", ())), i.get("note"),
                             tuple(i.get("main_from", ()))) for i in data or [])


def _muscle(doc: Document) -> Muscle:
    d = doc.data
    return Muscle(
        id=d["id"], name=d["name"], region=d["region"], path=doc.path, group=d.get("group"),
        former_ids=tuple(d.get("former_ids", ())), aliases=tuple(d.get("aliases", ())),
        plural=bool(d.get("plural")), description=d.get("description"),
        origin=_attachment(d.get("origin")), insertion=_attachment(d.get("insertion")),
        actions=_actions(d.get("actions")), innervation=_innervation(d.get("innervation")),
        blood_supply=d.get("blood_supply"), clue=d.get("clue"),
        clinical=tuple(Clinical(c["id"], c["question"], c["answer"], tuple(c["sources"]))
                       for c in d.get("clinical", ())),
        confusable=tuple(Confusable(c["muscle"], c["card"], c["cue"]) for c in d.get("confusable", ())),
        notes=tuple(Note(n["card"], n["text"], tuple(n["sources"])) for n in d.get("notes", ())),
        parts=tuple(Part(p["id"], p["name"], _attachment(p.get("origin")), _attachment(p.get("insertion")),
                         _actions(p.get("actions")), _innervation(p.get("innervation")), p.get("blood_supply"),
                         p.get("clue"))
                    for p in d.get("parts", ())),
        sources=tuple(d["sources"]),
        rare_aliases=tuple(d.get("rare_aliases", ())),
        form=_form(d.get("form")),
        passes=tuple(Passage(p["structure"], p["kind"], p["relation"], p.get("detail"), tuple(p["sources"]))
                     for p in d.get("passes", ())),
        forms=tuple(Formed(f["structure"], f.get("detail"), tuple(f["sources"])) for f in d.get("forms", ())),
    )
