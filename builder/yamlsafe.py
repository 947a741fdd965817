"""Safe YAML reading: plain data only, with the line and column of every value.

PyYAML keeps the last of two duplicate keys, follows anchors and aliases, and will build
Python objects from tags on request. Fact files arrive by pull request, so here a file is
composed into nodes (libyaml's C parser where installed) and turned into plain dicts, lists
and scalars by our own walk, which rejects duplicate keys, aliases, tags and oversized input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Problem

try:  # libyaml's parser is much faster; line and column marks are the same
    from yaml import CBaseLoader as _Base
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import BaseLoader as _Base  # type: ignore[assignment]


class _Loader(_Base):
    """The base loader, tagging each node by its kind in one step: it has no implicit or path
    resolvers, so BaseResolver's methods would come to the same answers the long way."""

    _DEFAULT = {ScalarNode: "tag:yaml.org,2002:str", SequenceNode: "tag:yaml.org,2002:seq",
                MappingNode: "tag:yaml.org,2002:map"}

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        return self._DEFAULT[kind]

    # No path resolvers either: nothing to track on the way into and out of each collection.
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass

# The base loader tags every plain scalar as text; _plain() resolves booleans, nulls and
# numbers as YAML 1.1 (PyYAML's safe loader) does, without a regex per scalar.
_BOOLS = {**dict.fromkeys("yes Yes YES true True TRUE on On ON".split(), True),
          **dict.fromkeys("no No NO false False FALSE off Off OFF".split(), False)}
_NULLS = {"", "~", "null", "Null", "NULL"}
_RESOLVER = yaml.resolver.Resolver()
_NOT_WORDS = frozenset(_BOOLS) | _NULLS  # keys the careful walk would turn into booleans or None

MAX_FILE_BYTES = 256 * 1024
MAX_STRING = 4000
MAX_DEPTH = 20

Path_ = tuple[str | int, ...]

_STD = "tag:yaml.org,2002:"
_SCALARS = {_STD + t for t in ("str", "int", "float", "bool", "null", "timestamp")}
_STR, _SEQ, _MAP = _STD + "str", _STD + "seq", _STD + "map"
_NUMERIC = frozenset("0123456789+-.")
_CONSTRUCT = yaml.constructor.SafeConstructor()


@dataclass
class Document:
    """A fact or registry file's data, and where each value stands in the file.

    The positions are worked out from the text again the first time a problem needs one:
    most files have no problem, and reading without them is much faster."""

    path: str
    data: Any
    text: str = ""
    _marks: dict[Path_, tuple[int, int]] | None = field(default=None, repr=False)

    @property
    def marks(self) -> dict[Path_, tuple[int, int]]:
        if self._marks is None:
            self._marks = {}
            node = _compose(self.text)
            if node is not None:
                _value(node, (), self, set(), 0)
        return self._marks

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
    """Read one YAML file; either its data or the problems that stop it from being read."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        return None, [Problem(shown, 1, 1, f"cannot read the file: {err.strerror}")]
    if len(raw) > MAX_FILE_BYTES:
        return None, [
            Problem(
                shown, 1, 1,
                f"file is {len(raw):,} bytes, more than the {MAX_FILE_BYTES:,} a fact file may "
                "have; split it or shorten it",
            )
        ]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        before = raw[: err.start]
        line = before.count(b"\n") + 1
        col = err.start - (before.rfind(b"\n") + 1) + 1
        return None, [
            Problem(shown, line, col, "file is not valid UTF-8; save it with UTF-8 encoding")
        ]
    return parse(text, shown)


def parse(text: str, shown: str) -> tuple[Document | None, list[Problem]]:
    """Parse YAML text into a Document, or say what is wrong with it."""
    text = text.removeprefix("\ufeff")
    tabs = _tab_indents(text, shown)
    if tabs:
        return None, tabs
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as err:
        return None, [_syntax_problem(err, shown)]
    except yaml.YAMLError as err:  # pragma: no cover - every parser error carries a mark
        return None, [Problem(shown, 1, 1, f"YAML error: {err}")]
    if node is None:
        return None, [Problem(shown, 1, 1, "file is empty; write the muscle's facts in it or delete it")]
    try:
        # Without '&' or '*' in the text there can be no anchor or alias to look out for.
        data = _data(node, set() if "&" in text or "*" in text else None, 0)
    except _Reject as err:
        mark = err.node.start_mark
        return None, [Problem(shown, mark.line + 1, mark.column + 1, err.message)]
    return Document(shown, data, text), []


def _compose(text: str) -> Node | None:
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _tab_indents(text: str, shown: str) -> list[Problem]:
    if "\t" not in text:  # nearly every file: one scan in C instead of a look at each line
        return []
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            problems.append(
                Problem(shown, number, indent.index("\t") + 1,
                        "tab character in indentation; indent with spaces")
            )
    return problems


def _syntax_problem(err: yaml.MarkedYAMLError, shown: str) -> Problem:
    mark = err.problem_mark or err.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what = err.problem or "invalid YAML"
    if "expected a single document" in str(what) or "but found another document" in str(err):
        return Problem(shown, line, col,
                       "file holds several YAML documents ('---'); keep one muscle per file")
    context = f" {err.context}" if err.context else ""
    return Problem(shown, line, col,
                   f"YAML syntax error:{context} {what}; check the indentation and quoting")


def _value(node: Node, at: Path_, doc: Document, seen: set[int], depth: int) -> Any:
    if id(node) in seen:
        raise _Reject(node, "anchors and aliases (& and *) are not allowed; write the value out")
    if depth > MAX_DEPTH:
        raise _Reject(node, f"nested more than {MAX_DEPTH} levels deep; flatten the structure")
    seen.add(id(node))
    marks = doc.marks
    marks[at] = (node.start_mark.line + 1, node.start_mark.column + 1)
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
            raise _Reject(
                key_node,
                f"duplicate key '{key}' (first at line {first[key]}); keep one of them",
            )
        first[key] = key_node.start_mark.line + 1
        result[key] = _value(value_node, at + (key,), doc, seen, depth + 1)
        line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
        marks[at + (key, "<key>")] = (line, col)
    return result


def _data(node: Node, seen: set[int] | None, depth: int) -> Any:
    """The plain data of a node: `_value`'s walk and checks, without recording positions."""
    if seen is not None:
        if id(node) in seen:
            raise _Reject(node, "anchors and aliases (& and *) are not allowed; write the value out")
        seen.add(id(node))
    if depth > MAX_DEPTH:
        raise _Reject(node, f"nested more than {MAX_DEPTH} levels deep; flatten the structure")
    kind = type(node)
    if isinstance(node, ScalarNode):
        if node.style or node.tag != _STR:
            return _scalar(node)
        text = node.value
        if len(text) > MAX_STRING:
            return _scalar(node)  # says what is wrong
        if text in _BOOLS or text in _NULLS or text[:1] in _NUMERIC:
            return _plain(node)
        return text
    if kind is SequenceNode and node.tag == _SEQ:
        return [_data(item, seen, depth + 1) for item in node.value]
    if kind is not MappingNode or node.tag != _MAP:
        return _careful(node, seen, depth)  # raises: says what is wrong
    keys: set[str] = set()
    for key_node, _ in node.value:  # every key first, so a fallback happens before any value is walked
        key = key_node.value
        if type(key_node) is not ScalarNode or key_node.tag != _STR or key_node.style or key in keys \
                or key in _NOT_WORDS or key[:1] in _NUMERIC or len(key) > MAX_STRING:
            return _careful(node, seen, depth)  # an unusual key: the careful walk decides
        keys.add(key)
    return {key_node.value: _data(value_node, seen, depth + 1) for key_node, value_node in node.value}


def _careful(node: Node, seen: set[int] | None, depth: int) -> Any:
    if seen is not None:
        seen.discard(id(node))
    return _value(node, (), Document("", None, _marks={}), set() if seen is None else seen, depth)


def _scalar(node: ScalarNode) -> Any:
    if node.tag not in _SCALARS:
        raise _Reject(node, f"YAML tag '{_short(node.tag)}' is not allowed; remove it")
    if len(node.value) > MAX_STRING:
        raise _Reject(
            node, f"value is {len(node.value):,} characters long, more than {MAX_STRING:,}; shorten it"
        )
    if not node.style and node.tag == _STD + "str":  # plain (C parser: "", Python parser: None)
        return _plain(node)
    if node.tag == _STD + "str" or node.tag == _STD + "timestamp":
        return node.value
    return _CONSTRUCT.yaml_constructors[node.tag](_CONSTRUCT, node)


def _plain(node: ScalarNode) -> Any:
    text = node.value
    if text in _BOOLS:
        return _BOOLS[text]
    if text in _NULLS:
        return None
    if text[:1] in "0123456789+-.":
        tag = _RESOLVER.resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
        if tag in (_STD + "int", _STD + "float"):
            return _CONSTRUCT.yaml_constructors[tag](_CONSTRUCT, ScalarNode(tag, text))
    return text


def _short(tag: str) -> str:
    return "!!" + tag[len(_STD):] if tag.startswith(_STD) else tag
