"""Render: facts → cards, through one Jinja template per card kind (sandboxed, autoescaped)."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import MuscleDeckError
from .model import Action, Card, Facts, Innervation, Muscle, Part, Registry

TAG = "muscle-deck"
_SPLIT = "<!--muscle-deck:split-->"

# Card kind → what it asks. The order is the order of `muscle-deck list --cards`.
KINDS: dict[str, str] = {
    "origin": "Where a muscle (or one of its parts) arises",
    "insertion": "Where a muscle (or one of its parts) inserts",
    "actions": "What a muscle does at one joint (one card per joint)",
    "innervation": "The nerve(s) and root levels that supply a muscle",
    "blood-supply": "The arteries that supply a muscle",
    "clinical": "A muscle's clinical relevance",
    "reverse": "Name the muscle from its origin and insertion",
    "nerve-muscles": "Which muscles a nerve supplies",
    "action-muscles": "Which muscles produce a movement at a joint (prime movers first)",
    "lesion": "What an injury of a nerve weakens, and the sign it shows",
    "attachment-muscles": "Which muscles arise from, or insert on, a landmark",
    "myotome": "The movement and key muscles that test a spinal segment",
}


# A rendered card: its fields as a plain tuple, its GUID and its content digest.
Rendered = tuple[tuple[Any, ...], str, str]


@dataclass
class Plan:
    """A card to be rendered: its identity, template context and bookkeeping."""

    kind: str
    key: str
    context: dict[str, Any]
    muscles: tuple[Muscle, ...]
    sources: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    deck: str = ""


class TemplateError(MuscleDeckError):
    """A card template cannot be read or rendered."""


def environment(templates: Path, compiled: dict[str, bytes] | None = None) -> Any:
    """The Jinja environment: sandboxed, autoescaped, and strict about undefined values.

    `compiled`: templates compiled already (by `compile_all`, perhaps in another process)."""
    from jinja2 import FileSystemBytecodeCache, FileSystemLoader, StrictUndefined

    from .cache import folder

    where = folder()
    disk = None
    if where is not None:  # compiled templates, keyed by their source: skips compiling next time
        try:
            (where / "templates").mkdir(parents=True, exist_ok=True)
            disk = FileSystemBytecodeCache(str(where / "templates"))
        except OSError:
            disk = None
    env = _sandbox()(
        loader=FileSystemLoader(str(templates / "cards")), bytecode_cache=_bytecode(disk, compiled),
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, auto_reload=False,
        cache_size=-1,  # keep every template: a plain dict, no LRU bookkeeping on each lookup
    )
    env.filters["lower_first"] = lower_first
    return env


def compile_all(templates: Path) -> dict[str, bytes]:
    """Every card template compiled, as Jinja bytecode by cache key, for `environment`.

    Templates that do not compile are left out: rendering compiles them again and reports
    the error there."""
    from jinja2 import TemplateError as JinjaError

    compiled: dict[str, bytes] = {}
    env = environment(templates, compiled)
    for path in sorted((templates / "cards").glob("*.html")):
        try:
            env.get_template(path.name)
        except JinjaError:
            pass
    return compiled


def _bytecode(disk: Any, memory: dict[str, bytes] | None) -> Any:
    """Jinja's bytecode cache: compiled templates from `memory`, else from the disk cache;
    each template compiled or loaded here is added to `memory`. Jinja checks every entry
    against its template's source, so a changed template is compiled afresh."""
    from jinja2 import BytecodeCache

    if memory is None and disk is None:
        return None
    store: dict[str, bytes] = {} if memory is None else memory

    class Layered(BytecodeCache):
        def load_bytecode(self, bucket: Any) -> None:
            if bucket.key in store:
                bucket.bytecode_from_string(store[bucket.key])
            if bucket.code is None and disk is not None:
                disk.load_bytecode(bucket)
                if bucket.code is not None and memory is not None:
                    store[bucket.key] = bucket.bytecode_to_string()

        def dump_bytecode(self, bucket: Any) -> None:
            if memory is not None:
                store[bucket.key] = bucket.bytecode_to_string()
            if disk is not None:
                disk.dump_bytecode(bucket)

    return Layered()


def _sandbox() -> Any:
    """Jinja's immutable sandbox, with its per-access checks made cheap for card data.

    The sandbox decides whether an attribute is safe from the object's type and the attribute's
    name only, so each decision is remembered per (type, name). A card's context is plain dicts:
    `s.short` on a dict that has no attribute `short` is `s['short']` in Jinja, looked up here
    without raising and catching AttributeError first. A call of one of the templates' own
    macros skips the checks that only other callables need; a template's globals are a dict;
    output is escaped into plain text."""
    from jinja2 import Template
    from jinja2.runtime import LoopContext, Macro
    from jinja2.sandbox import ImmutableSandboxedEnvironment
    from markupsafe import Markup

    dict_attributes = frozenset(dir(dict))
    # A loop's counters and flags: numbers and booleans, which the sandbox always lets through.
    loop_numbers = frozenset(("index", "index0", "revindex", "revindex0", "first", "last", "length",
                              "depth", "depth0"))

    def escaped(value: Any) -> str:
        # What markupsafe.escape gives, as a plain str rather than Markup: Jinja calls `escape`
        # only on a value it is about to output, and output is only ever joined (a macro's or a
        # `set` block's output then made Markup whole), so the Markup object per value is waste.
        if type(value) is not str:
            if hasattr(value, "__html__"):
                return str(value.__html__())
            value = str(value)
        return _escape_text(value)

    class Compiled(Template):
        @classmethod
        def from_code(cls, environment: Any, code: Any, globals: Any, uptodate: Any = None) -> Any:
            template = super().from_code(environment, code, globals, uptodate)
            template.root_render_func.__globals__["escape"] = escaped  # the namespace of all its functions
            return template

    class Sandbox(ImmutableSandboxedEnvironment):
        _safe: dict[tuple[type, str], bool] = {}
        template_class = Compiled

        def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
            key = (type(obj), attr)
            known = self._safe.get(key)
            if known is None:
                known = self._safe[key] = bool(super().is_safe_attribute(obj, attr, value))
            return known

        def make_globals(self, d: Any) -> Any:
            # A plain dict instead of Jinja's ChainMap: every render looks a template's globals
            # over (to set up its context and each `{% from %}` import), and a ChainMap makes
            # that slow. A copy protects the environment's globals just as well; they are all
            # set before any template is loaded.
            return {**self.globals, **(d or {})}

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
            if type(__obj) is Macro:  # a template's own macro: safe, and given the evaluation context
                kwargs.pop("_block_vars", None)  # exactly as Context.call passes it, minus the look-ups
                kwargs.pop("_loop_vars", None)
                try:
                    if not kwargs and len(args) == __obj._argument_count and not (
                            __obj.caller or __obj.catch_kwargs or __obj.catch_varargs):
                        # a plain call, all arguments given by position: what Macro.__call__ comes to
                        output = __obj._func(*args)
                        return Markup(output) if __context.eval_ctx.autoescape else output
                    return __obj(__context.eval_ctx, *args, **kwargs)
                except StopIteration:
                    return __context.environment.undefined(
                        "value was undefined because a callable raised a StopIteration exception")
            return super().call(__context, __obj, *args, **kwargs)

        def getattr(self, obj: Any, attribute: str) -> Any:
            if type(obj) is dict and attribute not in dict_attributes:
                try:
                    return obj[attribute]
                except KeyError:
                    return self.undefined(obj=obj, name=attribute)
            if type(obj) is LoopContext and attribute in loop_numbers:  # loop.last: always safe
                return getattr(obj, attribute)
            return super().getattr(obj, attribute)

    return Sandbox


def _escape_replacing(text: str) -> str:
    """Text as HTML, escaped exactly as markupsafe escapes it (tests pin the two together)."""
    return (text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
            .replace("'", "&#39;").replace('"', "&#34;"))


try:  # markupsafe's own C function behind escape(), four times faster, where this version has it
    from markupsafe import _escape_inner as _escape_text  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the installed markupsafe
    _escape_text = _escape_replacing


def lower_first(text: str) -> str:
    """'Gluteus medius' → 'gluteus medius', for a name in the middle of a sentence."""
    return text[:1].lower() + text[1:] if text[1:2].islower() or len(text) < 2 else text


# Muscles rendered per chunk: a deck with no more is rendered in this process, a larger one in
# worker processes (see parallel.streamed).
CHUNK = 50


def render(facts: Facts, templates: Path) -> list[Card]:
    """Every card of the full deck, in a stable order."""
    return [Card._make(fields) for part, _ in rendered(facts, templates) for fields, _, _ in part]


def rendered(facts: Facts, templates: Path, compiled: Callable[[], dict[str, bytes]] | None = None
             ) -> Generator[tuple[list[Rendered], bytes | None], None, None]:
    """Every card of the full deck in a stable order, each with its GUID and content digest,
    in parts as they are made: the cards of each chunk of muscles, then the cards across
    muscles. Each part comes with its pickle when another process made it (else None).
    A card comes as the plain tuple of its fields (`Card._make` makes it a Card again), which
    pickles and unpickles in half the time.

    The templates are loaded (and any error in them raised) here; the cards are made as the
    parts are asked for. `compiled`: gives the templates' bytecode from `compile_all`, perhaps
    made in another process while this one was loading the facts. Close the iterator (or let it
    run out) to stop the processes at work on it."""
    import jinja2  # noqa: F401  # imported while the templates may still be compiling

    parts = _rendered(facts, Renderer(templates, compiled() if compiled else None))
    next(parts)  # started: the processes rendering are at work from here on, and closing stops them
    return parts


def _rendered(facts: Facts, renderer: Renderer
              ) -> Generator[tuple[list[Rendered], bytes | None], None, None]:
    from .lock import digest, guid
    from .parallel import Ahead, streamed
    from .relations import plans as relation_plans

    shown: dict[tuple[str, ...], list[dict[str, str]]] = {}  # cited sources, shared by the muscles citing the same

    def with_ids(cards: Iterable[Card]) -> list[Rendered]:
        return [(tuple(card), guid(card.key), digest(card)) for card in cards]

    def part(muscles: Sequence[Muscle]) -> list[Rendered]:
        return with_ids(renderer.card(plan) for muscle in muscles for plan in _muscle_plans(muscle, facts, shown))

    def across() -> list[Rendered]:
        return with_ids(renderer.card(plan) for plan in relation_plans(facts))

    if len(facts.muscles) <= CHUNK:
        yield [], None  # (started)
        yield from streamed(part, facts.muscles, CHUNK, "Rendering cards")
        yield across(), None
        return
    with Ahead(across) as relations, closing(streamed(part, facts.muscles, CHUNK, "Rendering cards")) as parts:
        yield [], None  # (started: the cards across muscles in one more process, the rest in workers)
        yield from parts
        yield relations.result(), None


class Renderer:
    """Plans → cards, each kind through its template, every template compiled once up front
    (so that worker processes share them)."""

    def __init__(self, templates: Path, compiled: dict[str, bytes] | None = None) -> None:
        from jinja2 import TemplateError as JinjaError

        self._error = JinjaError
        env = environment(templates, compiled)
        self.compiled: dict[str, Any] = {}
        for kind in KINDS:
            if (templates / "cards" / f"{kind}.html").is_file():
                try:
                    self.compiled[kind] = env.get_template(f"{kind}.html")
                except JinjaError as err:
                    raise _template_error(err, kind, None) from None
        self._env = env

    def card(self, plan: Plan) -> Card:
        try:
            template = self.compiled.get(plan.kind) or self._env.get_template(f"{plan.kind}.html")
            html = template.render(plan.context)
        except self._error as err:
            raise _template_error(err, plan.kind, plan.key) from None
        parts = html.split(_SPLIT)
        if len(parts) != 3:
            raise TemplateError(f"templates/cards/{plan.kind}.html:1:1: a card template must extend "
                                "'_card.html' and fill its blocks")
        muscles = plan.muscles
        ids: tuple[str, ...]
        if len(muscles) == 1:  # a muscle's own card: most of them
            names, ids = _names(muscles[0]), (muscles[0].id,)
        else:
            names, ids = "; ".join([_names(m) for m in muscles]), tuple([m.id for m in muscles])
        # Card(key, kind, front, back, sources, muscle_names, muscles, tags, deck)
        return Card(plan.key, plan.kind, parts[0].strip(), parts[1].strip(), parts[2].strip(), names, ids,
                    tuple(dict.fromkeys(plan.tags)), plan.deck)


def _template_error(err: Any, kind: str, key: str | None) -> TemplateError:
    where = getattr(err, "filename", None) or f"templates/cards/{kind}.html"
    line = getattr(err, "lineno", None) or 1
    during = f" (while rendering {key})" if key else ""
    return TemplateError(f"{where}:{line}:1: {err.message or err}{during}; fix the template")


def _names(muscle: Muscle) -> str:
    return ", ".join((muscle.name,) + muscle.aliases)


# --- what cards each muscle gets --------------------------------------------------------------

def _muscle_plans(muscle: Muscle, facts: Facts,
                  shown: dict[tuple[str, ...], list[dict[str, str]]] | None = None) -> Iterator[Plan]:
    """A muscle's cards to render. `shown`: cited sources already in template form, by source
    ids (to share among muscles)."""
    reg = facts.registry
    base = _Base(muscle, facts, {} if shown is None else shown)
    for kind, fact in (("origin", "origin"), ("insertion", "insertion")):
        for part, value in muscle.units(fact):
            yield base.plan(kind, part, fact, attachment=value, confusable=base.confusable)
    for part, actions in muscle.units("actions"):
        for joint, group in _by_joint(actions):  # type: ignore[arg-type]
            yield base.plan("actions", part, "actions", extra=joint, joint=reg.joints[joint].name,
                            actions=[_action(a, reg) for a in group])
    for part, supply in muscle.units("innervation"):
        yield base.plan("innervation", part, "innervation",
                        nerves=[_nerve(i, reg) for i in supply])  # type: ignore[attr-defined]
    for part, arteries in muscle.units("blood_supply"):
        yield base.plan("blood-supply", part, "blood_supply", arteries=arteries)
    if muscle.clinical:
        plan = base.plan("clinical", None, "clinical", items=[c.text for c in muscle.clinical])
        for item in muscle.clinical:
            plan.sources.extend(item.sources)
        plan.context["sources"] = cited(plan.sources, reg)
        yield plan
    split = not muscle.origin or not muscle.insertion
    for part in muscle.parts if split else (None,):
        origin = muscle.origin or (part.origin if part else None)
        insertion = muscle.insertion or (part.insertion if part else None)
        if origin and insertion:
            yield base.plan("reverse", part, "general", origin=origin, insertion=insertion,
                            confusable=base.confusable)


class _Base:
    """What every card of one muscle shares, worked out once for all of them."""

    def __init__(self, muscle: Muscle, facts: Facts, shown: dict[tuple[str, ...], list[dict[str, str]]]) -> None:
        reg = self.reg = facts.registry
        self.shown = shown
        self.muscle = muscle
        region = reg.regions[muscle.region]
        self.where = region.name + (f" › {region.groups[muscle.group]}" if muscle.group else "")
        self.subject = {"name": muscle.name, "aliases": list(muscle.aliases),
                        "description": muscle.description or ""}
        self.confusable = _confusable(muscle, facts)
        self.tags = [f"{TAG}::muscle::{muscle.id}",
                     f"{TAG}::region::{muscle.region}" + (f"::{muscle.group}" if muscle.group else "")]
        self.tags += [f"{TAG}::nerve::{nerve_path(n, reg)}" for n in muscle.nerves()]
        self.notes: dict[str, list[Any]] = {}
        for note in muscle.notes:
            self.notes.setdefault(note.about, []).append(note)
        # per fact (e.g. 'origin'): the sources cited, as ids and as the template shows them, and the notes
        self.about: dict[str, tuple[list[str], list[dict[str, str]], list[str]]] = {}
        self.muscles = (muscle,)

    def plan(self, kind: str, part: Part | None, about: str, extra: str | None = None,
             **context: Any) -> Plan:
        muscle = self.muscle
        key = muscle.identity + (f":{part.id}" if part else "") + f"/{kind}" + (f"/{extra}" if extra else "")
        about_this = self.about.get(about)
        if about_this is None:
            notes = self.notes.get(about, ())
            ids = list(muscle.sources) + [s for n in notes for s in n.sources]
            sources = self.shown.get(tuple(ids))
            if sources is None:
                sources = self.shown[tuple(ids)] = cited(ids, self.reg)
            about_this = self.about[about] = (ids, sources, [n.text for n in notes])
        source_ids, sources, notes_text = about_this
        context = {"muscle": self.subject, "part": part.name if part else "", "where": self.where,
                   "notes": notes_text, "sources": sources, **context}
        return Plan(kind, key, context, self.muscles, list(source_ids), [f"{TAG}::card::{kind}", *self.tags],
                    muscle.region)


def nerve_path(nerve_id: str, reg: Registry) -> str:
    """'sciatic::sciatic-tibial-division': a nerve under the nerves it is part of."""
    chain = [nerve_id]
    while (parent := reg.nerves[chain[0]].part_of) and parent not in chain:
        chain.insert(0, parent)
    return "::".join(chain)


def _by_joint(actions: tuple[Action, ...]) -> list[tuple[str, list[Action]]]:
    groups: dict[str, list[Action]] = {}
    for action in actions:
        groups.setdefault(action.joint, []).append(action)
    return list(groups.items())


def _action(action: Action, reg: Registry) -> dict[str, Any]:
    return {"movement": reg.movements[action.movement], "qualifier": action.qualifier or "",
            "detail": action.detail or "", "prime": action.prime}


def _nerve(supply: Innervation, reg: Registry) -> dict[str, Any]:
    nerve = reg.nerves[supply.nerve]
    return {"name": nerve.name, "roots": list(supply.roots), "main_roots": list(supply.main_roots),
            "note": supply.note or ""}


def _confusable(muscle: Muscle, facts: Facts) -> list[dict[str, str]]:
    return [{"name": facts.muscle(c.muscle).name, "cue": c.cue} for c in muscle.confusable]


def cited(ids: list[str], reg: Registry) -> list[dict[str, str]]:
    """The template context of a card's sources: each cited once, in order."""
    return [{"short": reg.sources[s].short, "citation": reg.sources[s].citation}
            for s in dict.fromkeys(ids)]
