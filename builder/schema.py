"""The rules for fact and registry files, written once.

The validator walks these specs; the JSON Schema that editors use is generated from them.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Union

from .errors import Problem
from .yamlsafe import Document, Path_

KEBAB = r"^[a-z0-9]+(-[a-z0-9]+)*\Z"
ROOT = r"^(C[1-8]|T([1-9]|1[0-2])|L[1-5]|S[1-5]|Co1)\Z"
NOTE_KEY = r"^[a-z0-9]+(-[a-z0-9]+)*([:/][a-zA-Z0-9:/-]+)?\Z"  # root levels are upper case (root:L2/myotome)
CARD_REF = r"^([a-z0-9]+(-[a-z0-9]+)*/)?[a-z-]+(/[a-z0-9-]+)?\Z"
QUESTION = r"^[\s\S]*\?\Z"
SOURCE_KINDS = ("textbook", "atlas", "open", "article")
SHAPES = ("fan-shaped", "strap", "fusiform", "triangular", "quadrilateral", "rhomboid", "flat", "circular",
          "multiheaded", "multibellied", "spiral")
FIBRES = ("parallel", "convergent", "unipennate", "bipennate", "multipennate", "circular")
PASS_KINDS = ("nerve", "artery", "vein", "duct", "tendon", "plexus", "gland", "ligament", "muscle")
PASS_RELATIONS = ("pierces", "between-heads", "through", "within", "on-surface", "crosses", "wraps", "lies-on",
                  "tendon-under", "emerges-above", "emerges-below")
# Names Windows keeps for devices: a file or folder named after one (with any extension) cannot
# be checked out there.
WINDOWS_RESERVED = frozenset({"con", "prn", "aux", "nul", *(f"{d}{i}" for d in ("com", "lpt") for i in range(10))})
RESERVED_MESSAGE = ("is a name Windows keeps for a device (con, prn, aux, nul, com1, lpt1…): no file can have it "
                    "there; choose another")
# Texts this long may hold line breaks (a paragraph written with YAML's | or >); shorter ones are one line.
MULTILINE_FROM = 400
# Anki's own markup inside a field: MathJax (whose \\href and \\style can run script on the card),
# field or cloze references, sounds and LaTeX. Fact text is plain text, so none of it may appear.
_ANKI_MARKUP = re.compile(r"\\[()\[\]]|\{\{|\}\}|\[sound:|\[/?(?:latex|\$\$?)\]", re.IGNORECASE)
# Quick checks and limits that keep validation linear in the size of the input.
MAX_SUGGESTIONS = 25  # unknown names that get a did-you-mean, in one run


@dataclass(frozen=True)
class Text:
    """A string; optionally a pattern, a fixed set of choices, or an id of a registry kind."""

    doc: str = ""
    max_len: int = 600
    pattern: str | None = None
    choices: tuple[str, ...] = ()
    ref: str | None = None


@dataclass(frozen=True)
class Flag:
    """true or false."""

    doc: str = ""


@dataclass(frozen=True)
class ListOf:
    """A list of items of one spec."""

    item: Spec
    doc: str = ""
    min_items: int = 1
    max_items: int = 60


@dataclass(frozen=True)
class Key:
    """One key of a record."""

    name: str
    spec: Spec
    required: bool = False


@dataclass(frozen=True)
class Record:
    """A mapping with a fixed set of keys; `one_of`: at least one of these keys must be given;
    `rule`: a further check of a well-formed record (problems and refs it finds are added)."""

    keys: tuple[Key, ...]
    doc: str = ""
    one_of: tuple[str, ...] = ()
    rule: Callable[[dict[str, Any], Path_, Document, list[Problem], list[Ref]], None] | None = None

    def key(self, name: str) -> Key | None:
        return self.by_name.get(name)

    @cached_property
    def by_name(self) -> dict[str, Key]:
        return {k.name: k for k in self.keys}


@dataclass(frozen=True)
class MapOf:
    """A mapping from ids to values of one spec (registries)."""

    value: Spec
    doc: str = ""
    key_pattern: str = KEBAB


Spec = Union[Text, Flag, ListOf, Record, MapOf]  # noqa: UP007 (a runtime alias on Python 3.10)


@dataclass(frozen=True)
class Ref:
    """A value that must name an entry of a registry; checked once every file is read."""

    kind: str
    value: str
    doc: Document
    at: Path_


# --- fact files ---------------------------------------------------------------------------

def _ids(kind: str, doc: str) -> ListOf:
    return ListOf(Text(ref=kind, max_len=80), doc=doc)


ATTACHMENT = Record(
    (
        Key("text", Text("The attachment as a textbook states it, paraphrased, one line."), True),
        Key("sites", _ids("landmark", "Landmark ids (registry `landmarks:`) that the text names."), True),
    ),
    "Where the muscle attaches.",
)
ACTION = Record(
    (
        Key("joint", Text("A joint of decks/registry/movements.yaml.", ref="joint", max_len=80), True),
        Key("movement", Text("A movement that joint allows.", ref="movement", max_len=80), True),
        Key("qualifier", Text("Which fibres or head do it, e.g. 'anterior fibres'.", max_len=120)),
        Key("detail", Text("A short clause of context.", max_len=300)),
        Key("prime", Flag("A prime mover of this movement, where references say so.")),
    ),
    "One movement at one joint.",
)
ACTIONS = ListOf(ACTION, "What the muscle does, one movement at one joint per item.")
INNERVATION = ListOf(
    Record(
        (
            Key("nerve", Text("A nerve id of the nerve registry.", ref="nerve", max_len=80), True),
            Key("roots", ListOf(Text(pattern=ROOT, max_len=4),
                                "Every spinal segment that supplies the muscle, e.g. [L4, L5, S1].")),
            Key("main_roots", ListOf(Text(pattern=ROOT, max_len=4),
                                     "The segments a reference marks as main (Moore's bold segments, or a "
                                     "reference that says 'mainly'); give 'main_from' with them.")),
            Key("main_from", _ids("source", "Source ids of the references that mark these segments as main; "
                                            "the card names them unless one is Moore, the deck's main reference.")),
            Key("note", Text("E.g. 'carries pain and proprioception only'.", max_len=300)),
        ),
        "One nerve that supplies the muscle.",
    ),
    "The nerves that supply the muscle, with root levels.",
)
BLOOD = Text("The arteries, as one line.", max_len=300)
CLUE = Text("Only where the reverse card's question from the landmarks would fit another muscle too: the "
            "rest of 'Which muscle …?', e.g. 'arises from … and inserts on …'.", max_len=200)
QUESTION_TEXT = Text("A specific question with one short answer, ending with '?'.", max_len=200, pattern=QUESTION)
ANSWER_TEXT = Text("The short answer (about 30 words at most).", max_len=300)
SOURCES = _ids("source", "Source ids (registry `sources:`); at least one textbook or atlas.")
FORM = Record(
    (
        Key("shape", Text("The muscle's shape as a reference classes it.", choices=SHAPES)),
        Key("fibres", Text("How its fibres are arranged, as a reference states it.", choices=FIBRES)),
        Key("sources", SOURCES, True),
    ),
    "The muscle's shape and fibre arrangement (Moore's classes); give 'shape', 'fibres' or both.",
    one_of=("shape", "fibres"),
)
_DETAIL_NEEDED = {"on-surface": "which surface, e.g. 'anterior'", "wraps": "what it wraps, e.g. 'posterior border'",
                  "tendon-under": "the landmark id the tendon passes under, e.g. 'sustentaculum-tali'"}


def _check_pass(item: dict[str, Any], at: Path_, doc: Document, problems: list[Problem], refs: list[Ref]) -> None:
    """'detail' is given exactly where the relation reads it; under 'tendon-under' it names a landmark."""
    relation, detail = item.get("relation"), item.get("detail")
    if relation in _DETAIL_NEEDED:
        if "detail" not in item:
            problems.append(doc.problem(at, f"'{relation}' needs 'detail': {_DETAIL_NEEDED[relation]}; add it"))
        elif relation == "tendon-under" and isinstance(detail, str) and detail.strip():
            refs.append(Ref("landmark", detail, doc, at + ("detail",)))
    elif relation in PASS_RELATIONS and "detail" in item:
        problems.append(doc.problem(at + ("detail", "<key>"), f"no card reads 'detail' with '{relation}' (only "
                                    f"with {', '.join(_DETAIL_NEEDED)}); remove it"))


PASSES = ListOf(
    Record(
        (
            Key("structure", Text("The nerve, vessel, duct, tendon or gland, as it reads mid-sentence: "
                                  "'musculocutaneous nerve'.", max_len=120), True),
            Key("kind", Text("What kind of structure it is; the card asks 'Which <kind> …?'.", choices=PASS_KINDS),
                True),
            Key("relation", Text("How it meets the muscle: pierces it, passes between its heads, through it "
                                 "(e.g. a canal in it), lies within it, runs on one surface of it, crosses it, "
                                 "wraps around one of its borders, lies on it, leaves the pelvis above or below it "
                                 "(emerges-above, emerges-below: piriformis), or (tendon-under) the muscle's own "
                                 "tendon passes under a landmark.", choices=PASS_RELATIONS), True),
            Key("detail", Text("on-surface: which surface ('anterior'); wraps: what it wraps ('posterior border'); "
                               "tendon-under: the landmark id the tendon passes under (e.g. 'sustentaculum-tali'); "
                               "otherwise omit.", max_len=120)),
            Key("sources", SOURCES, True),
        ),
        "A structure that pierces the muscle or passes between, through or on it; one card asks it once.",
        rule=_check_pass,
    ),
    "Nerves, vessels, ducts and tendons that pierce the muscle or pass between, through or on it.",
    max_items=12,
)
FORMS = ListOf(
    Record(
        (
            Key("structure", Text("The ligament, aponeurosis or band the muscle forms, as it reads mid-sentence: "
                                  "'inguinal ligament'.", max_len=120), True),
            Key("detail", Text("Which part of the muscle forms it: 'its thickened, in-rolled lower border'.",
                               max_len=200)),
            Key("sources", SOURCES, True),
        ),
        "A ligament or aponeurosis that is the muscle's own (formed by it or by its aponeurosis).",
    ),
    "Ligaments and aponeuroses the muscle itself forms; a card asks 'Which muscle forms the …?'.",
    max_items=8,
)
PART_FIELDS = ("origin", "insertion", "actions", "innervation", "blood_supply")

PART = Record(
    (
        Key("id", Text("kebab-case, unique within the muscle; never edited.", pattern=KEBAB, max_len=60), True),
        Key("name", Text("As it reads after the muscle's name: 'long head'.", max_len=80), True),
        Key("origin", ATTACHMENT),
        Key("insertion", ATTACHMENT),
        Key("actions", ACTIONS),
        Key("innervation", INNERVATION),
        Key("blood_supply", BLOOD),
        Key("clue", CLUE),
    ),
    "A head or part whose facts differ from the rest of the muscle.",
)

FACT_FILE = Record(
    (
        Key("id", Text("kebab-case; the file name; never edited or reused.", pattern=KEBAB, max_len=80), True),
        Key("former_ids", ListOf(Text(pattern=KEBAB, max_len=80), "Earlier ids, oldest first.")),
        Key("name", Text("English name of Terminologia Anatomica, sentence case.", max_len=80), True),
        Key("aliases", ListOf(Text(max_len=80), "Older or common names.")),
        Key("rare_aliases", ListOf(Text(max_len=80), "Other names students rarely meet: searchable, never shown "
                                                     "on a card.")),
        Key("plural", Flag("The name is plural ('Lumbricals (hand)'): the cards say 'which muscles'.")),
        Key("region", Text("A region of decks/registry/regions.yaml.", ref="region", max_len=80), True),
        Key("group", Text("A group of that region.", pattern=KEBAB, max_len=80)),
        Key("description", Text("One line on shape and position.", max_len=300)),
        Key("form", FORM),
        Key("origin", ATTACHMENT),
        Key("insertion", ATTACHMENT),
        Key("actions", ACTIONS),
        Key("innervation", INNERVATION),
        Key("blood_supply", BLOOD),
        Key("clue", CLUE),
        Key("clinical", ListOf(
            Record((Key("id", Text("kebab-case, unique in the file; never edited.", pattern=KEBAB, max_len=60), True),
                    Key("question", QUESTION_TEXT, True),
                    Key("answer", ANSWER_TEXT, True),
                    Key("sources", SOURCES, True)), "A clinical fact: its own card, with its own sources."),
            "Clinical facts, each a question and its short answer.")),
        Key("confusable", ListOf(
            Record((Key("muscle", Text("The other muscle's id.", ref="muscle", max_len=80), True),
                    Key("card", Text("The card of this muscle the cue goes on, e.g. 'insertion', 'actions/hip'.",
                                     pattern=CARD_REF, max_len=120), True),
                    Key("cue", Text("Only what tells the two apart for that card's question.", max_len=400), True)),
                   "A muscle easily confused with this one."),
            "Muscles easily confused with this one, each cue on the card where they are confused.")),
        Key("notes", ListOf(
            Record((Key("card", Text("The card whose answer the note qualifies, e.g. 'innervation'.",
                                     pattern=CARD_REF, max_len=120), True),
                    Key("text", Text("The variant or disagreement.", max_len=800), True),
                    Key("sources", SOURCES, True)), "A variant or a disagreement between references."),
            "Variants and disagreements, each shown on the one card it qualifies.")),
        Key("remarks", ListOf(
            Record((Key("text", Text("Why a value was chosen, where a source went wrong.", max_len=800), True),
                    Key("sources", SOURCES, True)), "A remark for editors and reviewers."),
            "Remarks for editors and reviewers; never shown on a card.")),
        Key("parts", ListOf(PART, "Heads or parts that differ.", min_items=2, max_items=8)),
        Key("passes", PASSES),
        Key("forms", FORMS),
        Key("sources", SOURCES, True),
    ),
    "A muscle: one fact file of muscle-deck.",
)

# --- registry files -----------------------------------------------------------------------

SPACE_KINDS = ("triangle", "space", "interval", "canal", "tunnel", "fossa", "foramen", "opening", "hiatus", "ring",
               "wall", "sheath", "plane", "pouch", "floor", "region", "gap")
SIDES = ("superior", "inferior", "medial", "lateral", "anterior", "posterior", "apex", "base", "floor", "roof",
         "anterior-wall", "posterior-wall", "medial-wall", "lateral-wall", "deep-ring", "superficial-ring",
         "formed-by", "between", "in-front", "behind")
CONTENT_KINDS = ("nerve", "artery", "vein", "lymphatic", "tendon", "muscle", "ligament", "duct", "organ", "plexus",
                 "fat", "other")
SPACE = Record(
    (
        Key("name", Text("As it reads mid-sentence, lower case except proper names: 'cubital fossa'.", max_len=120),
            True),
        Key("kind", Text("What sort of space it is.", choices=SPACE_KINDS), True),
        Key("region", Text("A region of decks/registry/regions.yaml.", ref="region", max_len=80), True),
        Key("part_of", Text("The larger space this one subdivides (one parent).", ref="space", max_len=80)),
        Key("level", Text("The vertebral level, e.g. T8 (the openings of the diaphragm).", pattern=ROOT, max_len=4)),
        Key("boundaries", ListOf(
            Record((
                Key("side", Text("Which side, wall or ring this item forms.", choices=SIDES), True),
                Key("muscles", _ids("muscle", "Muscle ids of the muscles that form it.")),
                Key("landmarks", _ids("landmark", "Landmark ids (registry `landmarks:`) of what else forms it.")),
                Key("text", Text("As a student says it; needed where neither a muscle nor a landmark of the "
                                 "registry forms the side (a ligament, a fascia, an imaginary line).", max_len=200)),
            ), "One side of the space and what forms it."),
            "What bounds the space, side by side.", max_items=8), True),
        Key("contents", ListOf(
            Record((
                Key("structure", Text("As a student recites it: 'tendon of biceps brachii'.", max_len=160), True),
                Key("kind", Text("What sort of structure it is.", choices=CONTENT_KINDS), True),
            ), "One structure in or passing through the space."),
            "What passes through or lies in the space, in the order a student recites it.", max_items=8)),
        Key("sources", SOURCES, True),
        Key("notes", Text("A variant or disagreement that changes an answer, short.", max_len=600)),
        Key("note_sources", _ids("source", "Source ids of the note.")),
        Key("note_on", Text("The card the note qualifies: 'contents', 'name' (the card that names the space from "
                            "its boundaries) or one of its sides ('medial').", pattern=KEBAB, max_len=40)),
    ),
    "A space, triangle, canal, wall or opening that muscles and landmarks bound.",
)

REGISTRY_FILE = Record(
    (
        Key("regions", MapOf(Record((
            Key("name", Text(max_len=80), True),
            Key("groups", MapOf(Text(max_len=120), "Group id to name."), True),
            Key("requires", ListOf(Text(choices=("blood_supply",)),
                                   "Facts every muscle of the region gives beyond the required ones, because "
                                   "the references give them for all (the limbs: [blood_supply]).")),
        )), "Regions of the body.")),
        Key("joints", MapOf(Record((
            Key("name", Text(max_len=120), True),
            Key("movements", ListOf(Text(ref="movement", max_len=80)), True),
        )), "Joints and the movements each allows.")),
        Key("movements", MapOf(Text(max_len=120), "Movement id to its name.")),
        Key("nerves", MapOf(Record((
            Key("name", Text(max_len=120), True),
            Key("roots", ListOf(Text(pattern=ROOT, max_len=4))),
            Key("cranial", Flag("A cranial nerve: no spinal roots.")),
            Key("part_of", Text("The nerve this is a division or branch of.", ref="nerve", max_len=80)),
            Key("continues", Text("The nerve this terminal branch carries on from (tibial: the sciatic "
                                  "nerve's tibial division).", ref="nerve", max_len=80)),
        )), "Nerves with their root levels.")),
        Key("lesions", MapOf(Record((
            Key("weakened", ListOf(Record((
                Key("joint", Text(ref="joint", max_len=80), True),
                Key("movement", Text(ref="movement", max_len=80), True),
            )), "The movements an injury clearly weakens or abolishes.", max_items=8), True),
            Key("sources", SOURCES, True),
        )), "What an injury of a nerve (by nerve id) weakens.")),
        Key("clinical", MapOf(Record((
            Key("question", QUESTION_TEXT, True),
            Key("answer", ANSWER_TEXT, True),
            Key("nerves", _ids("nerve", "The nerves the fact is about.")),
            Key("muscles", _ids("muscle", "The muscles the fact is about.")),
            Key("sources", SOURCES, True),
        )), "Clinical facts about a nerve or several muscles (reflexes, palsies, signs), each its own card.")),
        Key("myotomes", MapOf(Record((
            Key("joint", Text(ref="joint", max_len=80), True),
            Key("movement", Text(ref="movement", max_len=80), True),
            Key("muscles", _ids("muscle", "The key muscles that test this segment."), True),
            Key("sources", SOURCES, True),
        )), "Spinal segments and the movement that tests each (myotomes).", key_pattern=ROOT)),
        Key("sources", MapOf(Record((
            Key("kind", Text(choices=SOURCE_KINDS), True),
            Key("short", Text("The label shown on cards.", max_len=60), True),
            Key("citation", Text(max_len=600), True),
            Key("url", Text(max_len=300)),
        )), "References.")),
        Key("landmarks", MapOf(Record((
            Key("name", Text("As it reads mid-sentence; unique across the landmarks.", max_len=160), True),
            Key("part_of", Text("The one landmark this is a part of ('first rib' is part of 'ribs'); the cards "
                                "about a landmark count the muscles of its parts too.", ref="landmark",
                                max_len=80)),
        )), "Attachment sites, as a tree: each names at most one parent in 'part_of'.")),
        Key("lists", MapOf(Record((
            Key("ask", Text("'prime-movers': one card asks for the prime movers; 'by-group': one card per group "
                            "named in `groups`; 'not-asked': a list too long to recall, asked from each muscle's "
                            "own cards instead.", choices=("prime-movers", "by-group", "not-asked")), True),
            Key("groups", ListOf(Text("A group id (or a region id, for muscles without a group).", pattern=KEBAB,
                                      max_len=80), "With 'by-group': the groups asked, each its own card.")),
        )), "How a long list across muscles is asked, by its subject ('nerve:tibial', 'action:hip:flexion'). "
            "Declared once and never derived from a list's length, so adding a muscle never changes which notes "
            "exist; an undeclared list is one card, grouped when long.", key_pattern=NOTE_KEY)),
        Key("spaces", MapOf(SPACE, "Spaces, triangles, canals, walls and openings, with what bounds them and what "
                                   "passes through them.")),
        Key("card_notes", MapOf(Record((Key("text", Text(max_len=300), True), Key("sources", SOURCES, True))),
                                "Notes on cards across muscles, by note key (e.g. "
                                "'nerve:recurrent-laryngeal/nerve-muscles'), each shown on that card.",
                                key_pattern=NOTE_KEY)),
        Key("whole_lists", MapOf(Text("Why a course asks the whole list: one short sentence, shown on the card.",
                                      max_len=160),
                                 "Cards that ask for 7 or more items, by note key: kept whole only where a "
                                 "course asks the whole list; any other long list is split (`lists:`).",
                                 key_pattern=NOTE_KEY)),
        Key("removed", MapOf(Text("Why it was removed.", max_len=300),
                             "Released notes that were removed on purpose: a muscle id, or a note key.",
                             key_pattern=NOTE_KEY)),
    ),
    "A registry file under decks/registry/.",
)


# --- the validator -----------------------------------------------------------------------

_TYPE = {str: "text", bool: "true/false", int: "a number", float: "a number",
         list: "a list", dict: "a mapping", type(None): "empty"}


def check(spec: Spec, value: Any, at: Path_, doc: Document,
          problems: list[Problem], refs: list[Ref]) -> None:
    """Check a value against a spec; add each problem and each registry reference found."""
    if isinstance(spec, Text):
        _check_text(spec, value, at, doc, problems, refs)
    elif isinstance(spec, Record):
        _check_record(spec, value, at, doc, problems, refs)
    elif isinstance(spec, Flag):
        if not isinstance(value, bool):
            problems.append(doc.problem(at, f"{_name(at)} must be true or false, not {_TYPE[type(value)]}"))
    elif isinstance(spec, ListOf):
        if not isinstance(value, list):
            problems.append(doc.problem(
                at, f"{_name(at)} must be a list, not {_TYPE[type(value)]}; write each item on a line "
                    "starting with '- ', or as [a, b]"))
            return
        if len(value) < spec.min_items:
            problems.append(doc.problem(at, f"{_name(at)} needs at least {spec.min_items} "
                                            f"item{'s' if spec.min_items > 1 else ''}; add them or remove the key"))
        if len(value) > spec.max_items:
            problems.append(doc.problem(at, f"{_name(at)} has {len(value)} items, more than {spec.max_items}"))
        for i, item in enumerate(value[: spec.max_items]):
            check(spec.item, item, at + (i,), doc, problems, refs)
        seen: set[str] = set()
        for i, item in enumerate(value[: spec.max_items]):
            if isinstance(item, str) and item in seen:
                problems.append(doc.problem(at + (i,), f"'{item}' is listed twice in {_name(at)}; remove one"))
            elif isinstance(item, str):
                seen.add(item)
    elif isinstance(spec, MapOf):
        if not isinstance(value, dict):
            problems.append(doc.problem(at, f"{_name(at)} must be a mapping of ids, not {_TYPE[type(value)]}"))
            return
        for key, item in value.items():
            if not _match(spec.key_pattern, key):
                problems.append(doc.problem(at + (key, "<key>"),
                                            f"'{key}' is not a valid id: {_explain(spec.key_pattern)}"))
            elif spec.key_pattern == KEBAB and key in WINDOWS_RESERVED:
                problems.append(doc.problem(at + (key, "<key>"), f"'{key}' {RESERVED_MESSAGE}"))
            check(spec.value, item, at + (key,), doc, problems, refs)


def _check_text(spec: Text, value: Any, at: Path_, doc: Document,
                problems: list[Problem], refs: list[Ref]) -> None:
    name = _name(at)
    if not isinstance(value, str):
        problems.append(doc.problem(at, f"{name} must be text, not {_TYPE[type(value)]}"
                                        + ("; put it in quotes" if isinstance(value, (bool, int, float)) else "")))
        return
    if not value.strip():
        problems.append(doc.problem(at, f"{name} is empty; fill it in or remove the key"))
        return
    if len(value) > spec.max_len:
        problems.append(doc.problem(at, f"{name} is {len(value)} characters long, more than "
                                        f"{spec.max_len}; shorten it"))
    if spec.choices and value not in spec.choices:
        problems.append(doc.problem(at, f"{name} '{value}' is not one of: {', '.join(spec.choices)}"
                                        + did_you_mean(value, spec.choices)))
    elif spec.pattern and not _match(spec.pattern, value):
        shown = f"'{value}'" if value.isprintable() else repr(value)
        problems.append(doc.problem(at, f"{name} {shown} is not valid: " + _explain(spec.pattern)))
    elif spec.pattern == KEBAB and value in WINDOWS_RESERVED:
        problems.append(doc.problem(at, f"{name} '{value}' {RESERVED_MESSAGE}"))
    elif unsafe := _unsafe(value, multiline=spec.max_len >= MULTILINE_FROM):
        problems.append(doc.problem(at, f"{name} {unsafe}"))
        return
    if spec.ref:
        refs.append(Ref(spec.ref, value, doc, at))


def _unsafe(value: str, multiline: bool) -> str | None:
    """What makes a text unfit for a card, as the rest of a message; None if it is fine.

    Fact values are plain text: no control characters (a \\x1f splits Anki's fields, ESC drives
    terminals), no invisible formatting characters, and none of Anki's markup."""
    if not value.isprintable():  # rare: only then is each character looked at
        for number, char in enumerate(value, 1):
            kind = unicodedata.category(char)
            where = f"(character {number}, U+{ord(char):04X})"
            if char == "\n":
                if not multiline:
                    return f"holds a line break {where}; write it on one line"
            elif char == "\t":
                return f"holds a tab {where}; use a space"
            elif kind == "Cc":
                return f"holds a control character {where}; remove it"
            elif kind == "Cf":
                return f"holds an invisible formatting character {where}; remove it"
            elif kind == "Cs":
                return f"holds a lone surrogate, half of a character {where}; remove it"
            elif kind in ("Zl", "Zp"):
                return f"holds a line or paragraph separator {where}; write it on one line"
    found = _ANKI_MARKUP.search(value)
    if not found:
        return None
    mark = found.group()
    if mark.startswith("\\"):
        what = f"Anki typesets it as mathematics (MathJax), which can also run script; write '{mark[1]}' alone"
    elif mark in ("{{", "}}"):
        what = f"Anki reads it as a field or cloze reference; write '{mark[0]} {mark[0]}' with a space"
    elif mark.lower() == "[sound:":
        what = "Anki plays it as a sound; write it another way"
    else:
        what = "Anki turns it into LaTeX; write it another way"
    return f"holds '{mark}': {what}"


def _check_record(spec: Record, value: Any, at: Path_, doc: Document,
                  problems: list[Problem], refs: list[Ref]) -> None:
    if not isinstance(value, dict):
        problems.append(doc.problem(at, f"{_name(at)} must be a mapping of keys, not {_TYPE[type(value)]}"))
        return
    fields = spec.by_name
    for key, item in value.items():
        field = fields.get(key)
        if field is None:
            problems.append(doc.problem(at + (key, "<key>"), f"unknown key '{key}'"
                                        + (did_you_mean(key, list(fields)) or "; remove it")))
            continue
        if item is None:
            problems.append(doc.problem(at + (key,), f"'{key}' is empty; fill it in or remove the key"))
            continue
        check(field.spec, item, at + (key,), doc, problems, refs)
    for field in spec.keys:
        if field.required and field.name not in value:
            where = f" in {_name(at)}" if at else ""
            problems.append(doc.problem(at, f"missing required key '{field.name}'{where}; add it"))
    if spec.one_of and not any(k in value for k in spec.one_of):
        problems.append(doc.problem(at, f"{_name(at)} needs at least one of: {', '.join(spec.one_of)}; add one "
                                        "or remove the key"))
    if spec.rule is not None:
        spec.rule(value, at, doc, problems, refs)


def _match(pattern: str, value: str) -> bool:
    return re.match(pattern, value) is not None


def did_you_mean(word: str, choices: Any) -> str:
    """' (did you mean 'x'?)' for the closest choice, or ''."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _explain(pattern: str) -> str:
    return {
        KEBAB: "use lower-case words joined by hyphens, e.g. 'gluteus-medius'",
        CARD_REF: "name a card of this muscle, e.g. 'origin', 'actions/hip', 'long-head/insertion'",
        QUESTION: "end the question with '?'",
        ROOT: "write a spinal segment such as C5, T1, L4 or S2",
        NOTE_KEY: "write a muscle id, or a note key such as 'gluteus-medius/origin'",
    }.get(pattern, f"it must match {pattern}")


def _name(at: Path_) -> str:
    for part in reversed(at):
        if isinstance(part, str) and part != "<key>":
            return f"'{part}'"
    return "the file" if not at else "this item"


# --- JSON Schema ---------------------------------------------------------------------------

def json_schema(spec: Spec = FACT_FILE) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a spec, for editors."""
    out = _json(spec)
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["title"] = "muscle-deck fact file" if spec is FACT_FILE else "muscle-deck registry file"
    return out


def _json(spec: Spec) -> dict[str, Any]:
    out: dict[str, Any]
    if isinstance(spec, Text):
        out = {"type": "string", "minLength": 1, "maxLength": spec.max_len}
        if spec.choices:
            out["enum"] = list(spec.choices)
        pattern = spec.pattern or (KEBAB if spec.ref else None)
        if pattern:  # JSON Schema's patterns are ECMAScript's, whose $ is Python's \Z
            out["pattern"] = pattern.replace("\\Z", "$")
    elif isinstance(spec, Flag):
        out = {"type": "boolean"}
    elif isinstance(spec, ListOf):
        out = {"type": "array", "items": _json(spec.item), "minItems": spec.min_items,
               "maxItems": spec.max_items}
    elif isinstance(spec, MapOf):
        out = {"type": "object", "propertyNames": {"pattern": spec.key_pattern.replace("\\Z", "$")},
               "additionalProperties": _json(spec.value)}
    else:
        out = {"type": "object", "additionalProperties": False,
               "properties": {k.name: _json(k.spec) for k in spec.keys},
               "required": [k.name for k in spec.keys if k.required]}
        if spec.one_of:
            out["anyOf"] = [{"required": [k]} for k in spec.one_of]
    if spec.doc:
        out["description"] = spec.doc
    return out
