"""Safe YAML reading: plain data only, with the line and column of every value.

PyYAML keeps the last of two duplicate keys, follows anchors and aliases, and will build
Python objects from tags on request. Fact files arrive by pull request, so here a file is
composed into nodes by PyYAML's safe loader and turned into plain dicts, lists and scalars by
our own walk, which records where each value stands and rejects duplicate keys, aliases, tags
other than YAML's own, and oversized input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Problem, UnreadableFile
from .files import read_bytes

try:  # libyaml's parser where PyYAML was built with it; the same nodes and marks
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

MAX_FILE_BYTES = 256 * 1024
MAX_STRING = 4000
MAX_DEPTH = 20

Path_ = tuple[str | int, ...]

_STD = "tag:yaml.org,2002:"
_SCALARS = {_STD + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_CONSTRUCT = yaml.constructor.SafeConstructor()  # keeps nothing: only its functions per tag are called
_WHAT = {"int": "a whole number", "float": "a number", "bool": "true or false", "null": "empty"}
# Characters YAML does not allow in a file (it allows tab, line breaks and the printable rest).
_NOT_YAML = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class Document:
    """A fact or registry file's data, and where each value stands in the file."""

    path: str
    data: Any
    marks: dict[Path_, tuple[int, int]] = field(default_factory=dict, repr=False)

    def where(self, at: Path_) -> tuple[int, int]:
        """Line and column of the value at `at`, or of its nearest enclosing value."""
        while at not in self.marks and at:
            at = at[:-1]
        return self.marks.get(at, (1, 1))

    def problem(self, at: Path_, message: str) -> Problem:
        line, col = self.where(at)
        return Problem(self.path, line, col, message)


class _Reject(Exception):
    def __init__(self, node: Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


def read(path: Path, shown: str) -> tuple[Document | None, list[Problem]]:
    """Read one YAML file; either its data or the problems that stop it from being read.

    Only a regular file is read (not a device, a pipe or a folder), and only once its size is
    known to be within the limit."""
    try:
        raw = read_bytes(path, MAX_FILE_BYTES)
    except UnreadableFile as err:
        return None, [unreadable(shown, err)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        before = raw[: err.start]
        line = before.count(b"\n") + 1
        col = err.start - (before.rfind(b"\n") + 1) + 1
        return None, [Problem(shown, line, col, "file is not valid UTF-8; save it with UTF-8 encoding")]
    return parse(text, shown)


def unreadable(shown: str, err: UnreadableFile) -> Problem:
    """The problem of a fact or registry file that cannot be read."""
    if err.size is not None:
        return _too_large(shown, err.size)
    if err.reason.startswith("not a regular file"):
        return Problem(shown, 1, 1, err.reason + "; replace it with a plain text file or remove it")
    return Problem(shown, 1, 1, err.reason)


def _too_large(shown: str, size: int) -> Problem:
    return Problem(shown, 1, 1, f"file is {size:,} bytes, more than the {MAX_FILE_BYTES:,} a fact file "
                                "may have; split it or shorten it")


def parse(text: str, shown: str) -> tuple[Document | None, list[Problem]]:
    """Parse YAML text into a Document, or say what is wrong with it."""
    text = text.removeprefix("\ufeff")
    tabs = _tab_indents(text, shown)
    if tabs:
        return None, tabs
    bad = _NOT_YAML.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        col = bad.start() - (text.rfind("\n", 0, bad.start()) + 1) + 1
        return None, [Problem(shown, line, col, f"a control character (U+{ord(bad.group()):04X}) that YAML does not "
                                                "allow in a file; remove it")]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as err:
        return None, [_syntax_problem(err, shown)]
    except yaml.YAMLError as err:  # pragma: no cover - every parser error carries a mark
        return None, [Problem(shown, 1, 1, f"YAML error: {err}")]
    finally:
        loader.dispose()
    if node is None:
        return None, [Problem(shown, 1, 1, "file is empty; write the muscle's facts in it or delete it")]
    doc = Document(shown, None)
    try:
        doc.data = _value(node, (), doc, set(), 0)
    except _Reject as err:
        mark = err.node.start_mark
        return None, [Problem(shown, mark.line + 1, mark.column + 1, err.message)]
    return doc, []


def _tab_indents(text: str, shown: str) -> list[Problem]:
    if "\t" not in text:
        return []
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            problems.append(Problem(shown, number, indent.index("\t") + 1,
                                    "tab character in indentation; indent with spaces"))
    return problems


def _syntax_problem(err: yaml.MarkedYAMLError, shown: str) -> Problem:
    mark = err.problem_mark or err.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what = err.problem or "invalid YAML"
    if "expected a single document" in str(what) or "but found another document" in str(err):
        return Problem(shown, line, col, "file holds several YAML documents ('---'); keep one muscle per file")
    context = f" {err.context}" if err.context else ""
    return Problem(shown, line, col, f"YAML syntax error:{context} {what}; check the indentation and quoting")


def _value(node: Node, at: Path_, doc: Document, seen: set[int], depth: int) -> Any:
    """The plain data of a node, recording the position of it and of everything in it."""
    if id(node) in seen:  # the composer gives an alias the very node of its anchor
        raise _Reject(node, "anchors and aliases (& and *) are not allowed; write the value out")
    if depth > MAX_DEPTH:
        raise _Reject(node, f"nested more than {MAX_DEPTH} levels deep; flatten the structure")
    seen.add(id(node))
    doc.marks[at] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, ScalarNode):
        return _scalar(node)
    if node.tag not in (_STD + "map", _STD + "seq"):
        raise _Reject(node, f"YAML tag '{_short(node.tag)}' is not allowed; remove it")
    if isinstance(node, SequenceNode):
        return [_value(item, at + (i,), doc, seen, depth + 1) for i, item in enumerate(node.value)]
    assert isinstance(node, MappingNode)
    result: dict[str, Any] = {}
    first: dict[str, int] = {}
    for key_node, value_node in node.value:
        if key_node.tag == _STD + "merge":
            raise _Reject(key_node, "merge keys ('<<') are not allowed; write the keys out")
        if not isinstance(key_node, ScalarNode) or key_node.tag not in _SCALARS:
            raise _Reject(key_node, "a key must be a plain word; remove the brackets or tag")
        key = str(_scalar(key_node))
        if key in result:
            raise _Reject(key_node, f"duplicate key '{key}' (first at line {first[key]}); keep one of them")
        first[key] = key_node.start_mark.line + 1
        result[key] = _value(value_node, at + (key,), doc, seen, depth + 1)
        doc.marks[at + (key, "<key>")] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    return result


def _scalar(node: ScalarNode) -> Any:
    if node.tag not in _SCALARS:
        raise _Reject(node, f"YAML tag '{_short(node.tag)}' is not allowed; remove it")
    if len(node.value) > MAX_STRING:
        raise _Reject(node, f"value is {len(node.value):,} characters long, more than {MAX_STRING:,}; shorten it")
    if node.tag in (_STD + "str", _STD + "timestamp"):  # a date stays the text it was written as
        return node.value
    # PyYAML's own function for the tag, called directly: its construct_object would keep every
    # node it built for the life of the process.
    construct = yaml.constructor.SafeConstructor.yaml_constructors[node.tag]
    try:
        return construct(_CONSTRUCT, node)
    except (ValueError, KeyError, IndexError, TypeError, OverflowError):
        kind = node.tag[len(_STD):]
        raise _Reject(node, f"'{node.value}' is not {_WHAT[kind]}, as its tag '!!{kind}' says; fix the value or "
                            "remove the tag") from None


def _short(tag: str) -> str:
    return "!!" + tag[len(_STD):] if tag.startswith(_STD) else tag
