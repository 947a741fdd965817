"""The fast paths give exactly what the careful ones give.

A build reads YAML without recording positions, checks the sandbox's decisions once per type,
inserts rows in bulk, compiles templates in a second process and splits large decks across
processes. Each of these is checked here against the slower way it replaced."""

from __future__ import annotations

import pickle
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import DECKS, MINI, TEMPLATES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder import load as load_module
from builder import parallel, yamlsafe
from builder.build import build
from builder.errors import MuscleDeckError, ValidationError
from builder.select import Selection

AT = 1_800_000_000


# --- YAML: the fast walk against the careful one ------------------------------------------------

def careful(text: str) -> tuple[Any, list[tuple[int, int, str]]]:
    """What reading gave before the fast walk: compose, then walk recording every position."""
    text = text.removeprefix("\ufeff")
    tabs = yamlsafe._tab_indents(text, "f.yaml")
    if tabs:
        return None, [(p.line, p.col, p.message) for p in tabs]
    try:
        node = yamlsafe._compose(text)
    except yaml.MarkedYAMLError as err:
        problem = yamlsafe._syntax_problem(err, "f.yaml")
        return None, [(problem.line, problem.col, problem.message)]
    if node is None:
        return None, [(1, 1, "file is empty; write the muscle's facts in it or delete it")]
    doc = yamlsafe.Document("f.yaml", None, text, _marks={})
    try:
        return yamlsafe._value(node, (), doc, set(), 0), []  # type: ignore[arg-type]
    except yamlsafe._Reject as err:
        mark = err.node.start_mark
        return None, [(mark.line + 1, mark.column + 1, err.message)]


def fast(text: str) -> tuple[Any, list[tuple[int, int, str]]]:
    doc, problems = yamlsafe.parse(text, "f.yaml")
    return (doc.data if doc else None), [(p.line, p.col, p.message) for p in problems]


TRICKY = [
    "a: &x 1\nb: *x\n",
    "a: &x [1, 2]\nb: *x\n",
    "a: 'AT&T'\nb: 2 * 3\n",  # & and * inside text: no anchor
    "base: &b {x: 1}\nother:\n  <<: *b\n",
    "a: !!python/object:os.system x\n",
    "a: !custom 1\n",
    "!!set {a, b}\n",
    "a: 1\na: 2\n",
    "yes: 1\nno: 2\n",
    "1: one\n0x10: sixteen\n1_000: thousand\n1.5: x\n",
    "'yes': 1\n\"2\": two\n",
    "? [a, b]\n: c\n",
    "~: nothing\nnull: x\n'': empty\n",
    "a: yes\nb: 'yes'\nc: null\nd: ~\ne: 0o17\nf: 1e3\ng: .inf\nh: -.5\ni: 2001-12-14\nj: 012\n",
    "a: " + "x" * 5000 + "\n",
    "? " + "x" * 5000 + "\n: 1\n",
    "a:\n" + "".join("  " * i + "- \n" for i in range(1, 30)),
    "a: [" * 25 + "]" * 25 + "\n",
    "list:\n- a\n- &n b\n- *n\n",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_yaml_reads_the_same(text: str) -> None:
    assert fast(text) == careful(text)


def test_every_file_of_the_deck_reads_the_same() -> None:
    for path in sorted(DECKS.rglob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert fast(text) == careful(text), path


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12),
                    st.sampled_from(["yes", "No", "~", "null", "0x1F", "1_000", "0o17", "-.inf", "2001-12-14",
                                     "&a", "*a", "!t", "<<", "a: b", "- x", "#", "'", '"']))
keys = st.one_of(st.text(max_size=8), st.sampled_from(["yes", "on", "1", "0x10", "1.0", "null", "~", "<<", ""]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)), max_leaves=15)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=values, flow=st.booleans())
def test_generated_yaml_reads_the_same(data: Any, flow: bool) -> None:
    text = yaml.safe_dump(data, allow_unicode=True, default_flow_style=flow)
    got, problems = fast(text)
    assert (got, problems) == careful(text)
    if not problems:  # what our own loader accepts, it reads as PyYAML's safe loader does
        assert got == yaml.safe_load(text)


def test_positions_are_worked_out_when_a_problem_needs_them(mini: Path) -> None:
    path = next(mini.rglob("*.yaml"))
    doc, problems = yamlsafe.read(path, "f.yaml")
    assert doc is not None and not problems
    assert doc._marks is None  # a file without problems never needed them
    first_key = next(iter(doc.data))
    line = 1 + next(i for i, text in enumerate(doc.text.splitlines()) if text.startswith(f"{first_key}:"))
    assert doc.where((first_key,))[0] == line


@pytest.mark.parametrize("here", ["/", "/tmp", "decks"])
def test_paths_are_shown_as_relpath_shows_them(here: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.chdir(DECKS if here == "decks" else here)
    cwd = os.getcwd()
    for text in [f"{cwd}/a.yaml", f"{cwd}/x/../a.yaml", f"{cwd}x/a.yaml", "a.yaml", "x/./a.yaml", "x//a.yaml",
                 "./a", ".", "../a.yaml", "/tmp/a.yaml", "/", cwd, str(DECKS / "lower-limb")]:
        for path in (text, Path(text)):
            rel = os.path.relpath(path)
            assert load_module.shown(path) == (str(path) if rel.startswith("..") else rel), path


# --- the sandbox: remembered decisions against Jinja's own ------------------------------------------

EXPRESSIONS = [
    "{{ d.name }}", "{{ d.items() | list }}", "{{ d.missing is defined }}", "{{ d.keys | string }}",
    "{{ d.__class__ }}", "{{ d.pop('name') }}", "{{ l.append(1) }}", "{{ l.__len__() }}", "{{ s.upper() }}",
    "{{ s.format(1) }}", "{{ s.__class__.__mro__ }}", "{{ d.name.__class__ }}", "{{ d.items }}",
    "{{ f.__globals__ }}", "{{ f.__code__ }}", "{{ d.get('name') }}", "{{ d.update({}) }}", "{{ n.real }}",
    "{% macro m(a, b=2) %}<{{ a }}{{ b }}>{% endmacro %}{{ m('&') }}{{ m(1, b='<') }}{{ m(b=4, a=5) }}",
    "{% macro m() %}[{{ caller() }}]{% endmacro %}{% call m() %}x{% endcall %}",
    "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, z=3) }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}", "{% macro m(a) %}{% endmacro %}{{ m(b=1) }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{% for i in l %}{% set x = i %}{{ m(x) }}{% endfor %}",
    "{{ h }}{{ h ~ h }}{{ [h, h] | join(h) }}{{ h | safe }}{{ h | e }}{{ h | upper }}{{ n }}{{ d }}{{ l }}",
    "{% set x %}<{{ h }}>{% endset %}{{ x }}{{ x | length }}{{ x ~ h }}",
    "{% macro m(a) %}<i>{{ a }}</i>{% endmacro %}{{ m(h) }}{{ m(m(h)) }}{{ m(h) | length }}{{ m(h) ~ h }}",
    "{% macro m() %}[{{ caller() }}]{% endmacro %}{% call m() %}{{ h }}{% endcall %}",
    "{% filter upper %}{{ h }}{% endfilter %}{% for c in h %}{{ c }}{% endfor %}{{ h[0] }}",
    "{% autoescape false %}{{ h }}{% endautoescape %}{{ h }}",
    "{% for i in l + l %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}"
    "{{ loop.last }}{{ loop.length }}{{ loop.depth }}{{ loop.depth0 }}{{ loop.previtem }}{{ loop.cycle('a', 'b') }}"
    "{{ loop.__class__ }}{{ loop._after }}{{ loop.nothing }}{% endfor %}",
    "{% macro m(a, b) %}<{{ a }}|{{ b }}>{% endmacro %}{{ m(h, 1) }}{{ m(h) }}{{ m(1, 2, 3) }}",
    "{% macro m(a, caller) %}{{ a }}{{ caller }}{% endmacro %}{{ m(h, 2) }}",
    "{% macro m(a) %}{{ a }}{{ caller() }}{% endmacro %}{{ m(h) }}",
    "{% macro m(a) %}{{ a }}{% endmacro %}{% autoescape false %}{{ m(h) }}{{ m(h) | length }}{% endautoescape %}",
]


@given(st.text(alphabet=st.sampled_from("&<>'\"a é\n;#")) | st.text())
def test_output_is_escaped_as_markupsafe_escapes_it(text: str) -> None:
    from markupsafe import escape

    from builder.render import _escape_replacing, _escape_text

    assert _escape_text(text) == _escape_replacing(text) == str(escape(text))


@pytest.mark.parametrize("source", EXPRESSIONS)
def test_the_sandbox_decides_as_jinja_does(source: str) -> None:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from builder.render import _sandbox

    context = {"d": {"name": "x", "items": "shadow"}, "l": [1], "s": "a{}", "f": lambda: 1, "n": 3,
               "h": "<a href='x'>&amp;\"</a>"}

    def outcome(env: Any) -> str:
        try:
            template = env.from_string(source)
            return template.render(context) + "|" + template.render(context)  # twice: remembered decisions
        except Exception as err:  # noqa: BLE001 - the kind and text of the error are compared
            return f"{type(err).__name__}: {err}"

    ours = _sandbox()(autoescape=True, undefined=StrictUndefined)
    jinjas = ImmutableSandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
    assert outcome(ours) == outcome(jinjas)


# --- the package: bulk rows against genanki's own note writer ---------------------------------------

def dump(apkg: Path, folder: Path) -> list[str]:
    with zipfile.ZipFile(apkg) as archive:
        archive.extract("collection.anki2", folder)
    conn = sqlite3.connect(folder / "collection.anki2")
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_bulk_rows_are_the_rows_genanki_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import genanki

    from builder import package

    build(DECKS, TEMPLATES, tmp_path / "ours.apkg", Selection(), at=AT)

    def genanki_notes(notes: Any, model: Any, names: Any, model_mod: int, path: Path) -> None:
        notes = list(notes)
        regions = sorted({n.card.deck for n in notes} - {""})
        decks = [genanki.Deck(package.deck_id(r), f"{package.TOP_DECK}::{names[r]}" if r else package.TOP_DECK)
                 for r in ["", *regions]]
        for deck in decks:
            deck.add_model(model)
        db = tmp_path / "genanki.anki2"
        conn = sqlite3.connect(db)
        cursor = conn.cursor()
        ids = count(model_mod * 1000)
        genanki.Package(decks).write_to_db(cursor, model_mod, ids)  # the collection, decks and note type
        for stamped in notes:  # then the notes, by genanki's Note.write_to_db, one by one, in order
            card = stamped.card
            note = genanki.Note(model=model, guid=stamped.guid, tags=list(card.tags),
                                fields=[card.front, card.back, card.sources, card.muscle_names, card.kind])
            note.write_to_db(cursor, stamped.mod, package.deck_id(card.deck), ids)
        conn.commit()
        conn.close()
        with zipfile.ZipFile(path, "w") as archive:
            archive.write(db, "collection.anki2")

    monkeypatch.setattr(package, "_write_zip", genanki_notes)
    build(DECKS, TEMPLATES, tmp_path / "genanki.apkg", Selection(), at=AT)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    ours, theirs = dump(tmp_path / "ours.apkg", tmp_path / "a"), dump(tmp_path / "genanki.apkg", tmp_path / "b")
    assert len(ours) > 2000
    assert ours == theirs


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_collection_deflated_in_chunks_reads_back_whole(tmp_path: Path, jobs: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from builder import package

    build(DECKS, TEMPLATES, tmp_path / "whole.apkg", Selection(), at=AT)
    monkeypatch.setenv("MUSCLE_DECK_JOBS", jobs)
    monkeypatch.setattr(package, "_CHUNK", 50_000)  # the real deck's collection in dozens of chunks
    build(DECKS, TEMPLATES, tmp_path / "chunked.apkg", Selection(), at=AT)
    with zipfile.ZipFile(tmp_path / "whole.apkg") as whole, zipfile.ZipFile(tmp_path / "chunked.apkg") as chunked:
        assert chunked.testzip() is None  # every entry's CRC checks out
        assert chunked.namelist() == ["collection.anki2", "media"]
        assert chunked.read("media") == b"{}"
        collection = whole.read("collection.anki2")
        assert len(collection) > 30 * 50_000
        assert chunked.read("collection.anki2") == collection
        info = chunked.getinfo("collection.anki2")
        assert info.compress_type == zipfile.ZIP_DEFLATED and info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.compress_size < len(collection) // 4


def test_a_package_too_large_for_a_zip_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from builder import package
    from builder.errors import OutputError

    monkeypatch.setattr(package, "_ZIP_LIMIT", 1_000_000)  # stands for 4 GB
    with pytest.raises(OutputError, match="build a subset"):
        build(DECKS, TEMPLATES, tmp_path / "big.apkg", Selection(), at=AT)
    assert list(tmp_path.iterdir()) == []


# --- processes: a split build is the single-process build ---------------------------------------

@pytest.fixture
def split_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks small enough that the real deck's loading and rendering are both split."""
    from builder import render

    monkeypatch.setattr(load_module, "CHUNK", 10)
    monkeypatch.setattr(render, "CHUNK", 10)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="processes are split by fork")
@pytest.mark.parametrize("jobs", ["2", "3"])
def test_a_split_build_writes_the_same_bytes(real_copy: Path, tmp_path: Path, jobs: str,
                                             monkeypatch: pytest.MonkeyPatch, split_everything: None) -> None:
    monkeypatch.setenv("MUSCLE_DECK_JOBS", "1")
    build(real_copy, TEMPLATES, tmp_path / "one.apkg", Selection(), at=AT)
    monkeypatch.setenv("MUSCLE_DECK_JOBS", jobs)
    started: list[int] = []
    real_start = parallel._Worker.start

    def counting(fn: Any, chunks: Any, tasks: int) -> Any:
        started.append(len(chunks))
        return real_start(fn, chunks, tasks)

    monkeypatch.setattr(parallel._Worker, "start", counting)
    build(real_copy, TEMPLATES, tmp_path / "split.apkg", Selection(), at=AT)
    # workers for the fact files, then for the cards (of 10 chunks each); the rest are Ahead's single jobs
    assert [n for n in started if n != 1] == [10] * int(jobs) + [10] * int(jobs)
    assert (tmp_path / "one.apkg").read_bytes() == (tmp_path / "split.apkg").read_bytes()


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="processes are split by fork")
@pytest.mark.parametrize("value", [None, [], {"cards": 3}])
def test_a_result_from_another_process_is_used_as_it_came(value: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a worker returns (None too) is its result: the work is not done again here."""
    import os

    monkeypatch.setenv("MUSCLE_DECK_JOBS", "2")
    here = os.getpid()
    ran_here: list[str] = []

    def once() -> Any:
        if os.getpid() == here:
            ran_here.append("ahead")
        return value

    with parallel.Ahead(once) as ahead:
        assert ahead.result() == value

    def chunk(items: Any) -> Any:
        if os.getpid() == here:
            ran_here.append(f"chunk from {items[0]}")
        return value

    results = list(parallel.streamed(chunk, range(8), 2, ""))
    assert [r for r, _ in results] == [value] * 4
    assert all(pickled is not None and pickle.loads(pickled) == value for _, pickled in results)  # as sent
    assert ran_here == []


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="processes are split by fork")
def test_results_come_in_order_while_workers_are_still_at_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first result is taken while the last chunk is not yet done (here: not even begun)."""
    import os
    import select

    monkeypatch.setenv("MUSCLE_DECK_JOBS", "2")
    read, write = os.pipe()

    def chunk(items: Any) -> list[int]:
        if items[0] == 6:  # the last chunk waits for a word from the consumer (at most 20 s)
            ready, _, _ = select.select([read], [], [], 20)
            if not ready:
                return [-1]
        return [i * 2 for i in items]

    results = []
    for got, _ in parallel.streamed(chunk, range(8), 2, ""):
        results.append(got)
        if len(results) == 1:
            os.write(write, b"!")
    assert results == [[0, 2], [4, 6], [8, 10], [12, 14]]
    os.close(read)
    os.close(write)


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="processes are split by fork")
@pytest.mark.parametrize("dies_on", [{4}, {0, 2, 4, 6, 8, 10}, set(range(12))])
def test_a_failed_process_has_its_work_done_here(dies_on: set[int], monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that dies on a chunk leaves that chunk to this process and the rest to the other
    workers; with no worker left, this process does the rest. The results are the same, in order."""
    import os

    monkeypatch.setenv("MUSCLE_DECK_JOBS", "2")
    here = os.getpid()
    ran_here: list[int] = []

    def chunk(items: Any) -> list[int]:
        if os.getpid() != here and items[0] // 2 in dies_on:
            os._exit(3)  # a worker that dies without a result
        if os.getpid() == here:
            ran_here.append(items[0] // 2)
        return [i * 2 for i in items]

    assert [r for got, _ in parallel.streamed(chunk, range(24), 2, "") for r in got] == [i * 2 for i in range(24)]
    if len(dies_on) == 1:
        assert ran_here == sorted(dies_on)  # the other worker took every other chunk
    else:
        assert dies_on <= set(ran_here)  # whichever worker took such a chunk died on it
        assert ran_here == sorted(ran_here)

    def once() -> int:
        if os.getpid() != here:
            os._exit(3)  # the worker dies without a result
        return 84  # only this process gets this far

    with parallel.Ahead(once) as ahead:
        assert ahead.result() == 84


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="processes are split by fork")
def test_an_error_is_raised_here_as_without_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSCLE_DECK_JOBS", "2")

    def chunk(items: Any) -> list[int]:
        if 5 in items:
            raise ValueError("five")
        return list(items)

    with pytest.raises(ValueError, match="five"):
        [r for r, _ in parallel.streamed(chunk, range(8), 2, "")]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="processes are split by fork")
def test_stopping_early_stops_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import time

    monkeypatch.setenv("MUSCLE_DECK_JOBS", "2")
    pids: list[int] = []
    real_start = parallel._Worker.start

    def recording(fn: Any, chunks: Any, tasks: int) -> Any:
        worker = real_start(fn, chunks, tasks)
        pids.append(worker.pid)
        return worker

    monkeypatch.setattr(parallel._Worker, "start", recording)

    def chunk(items: Any) -> list[int]:
        if items[0] > 0:
            time.sleep(60)  # still at work when the consumer stops
        return list(items)

    stream = parallel.streamed(chunk, range(8), 2, "")
    assert next(stream)[0] == [0, 1]
    stream.close()
    assert len(pids) == 2
    for pid in pids:  # stopped and reaped: no such process any more
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_without_a_temporary_file_the_work_is_done_here(monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    def no_room() -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setenv("MUSCLE_DECK_JOBS", "2")
    monkeypatch.setattr(tempfile, "TemporaryFile", no_room)
    assert [r for r, _ in parallel.streamed(lambda items: [i * 2 for i in items], range(8), 4, "")] == [[0, 2, 4, 6],
                                                                                          [8, 10, 12, 14]]
    with parallel.Ahead(lambda: 42) as ahead:
        assert ahead.result() == 42


def problems_of(decks: Path) -> str:
    with pytest.raises(ValidationError) as caught:
        build(decks, TEMPLATES, decks.parent / "out.apkg", Selection(), at=AT)
    assert not (decks.parent / "out.apkg").exists()
    return "\n".join(map(str, caught.value.problems))


def test_problems_found_in_other_processes_are_reported_alike(real_copy: Path, monkeypatch: pytest.MonkeyPatch,
                                                             split_everything: None) -> None:
    files = sorted(p for p in real_copy.rglob("*.yaml") if "registry" not in p.parts)
    for path in (files[3], files[-3]):  # one in the first part, one in the last
        path.write_text(path.read_text(encoding="utf-8").replace("\nname:", "\nname: [oops]\nnmae:", 1),
                        encoding="utf-8")
    monkeypatch.setenv("MUSCLE_DECK_JOBS", "1")
    alone = problems_of(real_copy)
    monkeypatch.setenv("MUSCLE_DECK_JOBS", "2")
    assert problems_of(real_copy) == alone
    assert alone.count("unknown key 'nmae'") == 2


def test_a_template_error_in_another_process_is_reported_alike(real_copy: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch,
                                                               split_everything: None) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    last = sorted(p.stem for p in real_copy.rglob("*.yaml") if "registry" not in p.parts)[-1]
    origin = templates / "cards" / "origin.html"
    name = yaml.safe_load(next(real_copy.rglob(f"{last}.yaml")).read_text(encoding="utf-8"))["name"]
    origin.write_text(origin.read_text(encoding="utf-8").replace(  # fails for the last muscle only
        "{% block answer %}", "{% block answer %}{% if muscle.name == '" + name + "' %}{{ no_such_value }}{% endif %}",
        1), encoding="utf-8")
    monkeypatch.setenv("MUSCLE_DECK_CACHE", str(tmp_path / "cache"))
    for jobs in ("1", "2"):
        monkeypatch.setenv("MUSCLE_DECK_JOBS", jobs)
        with pytest.raises(MuscleDeckError) as caught:
            build(real_copy, templates, tmp_path / "out.apkg", Selection(), at=AT)
        message = caught.value.format_message()
        assert "origin.html" in message and "'no_such_value' is undefined" in message
        assert f"while rendering {last}" in message
        assert not (tmp_path / "out.apkg").exists()
        # nothing cached, not even half a deck
        assert [p.name for p in (tmp_path / "cache").iterdir() if p.is_file()] == []


def test_a_changed_template_is_compiled_afresh(mini: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSCLE_DECK_CACHE", str(tmp_path / "cache"))  # compiled templates kept on disk
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    build(mini, templates, tmp_path / "a.apkg", Selection(), at=AT)
    origin = templates / "cards" / "origin.html"
    origin.write_text(origin.read_text(encoding="utf-8").replace("Origin of the", "Where does the"),
                      encoding="utf-8")
    build(mini, templates, tmp_path / "b.apkg", Selection(), at=AT)
    (tmp_path / "x").mkdir()
    rows = "\n".join(dump(tmp_path / "b.apkg", tmp_path / "x"))
    assert "Where does the" in rows and "Origin of the" not in rows


# --- the console script ----------------------------------------------------------------------------

def test_the_command_ends_with_its_exit_code_and_all_its_output(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "builder", "list", "--decks", str(MINI)],
                        capture_output=True, text=True, cwd=tmp_path)
    assert ok.returncode == 0 and len(ok.stdout.splitlines()) == 3
    out = tmp_path / "deck.apkg"
    made = subprocess.run([sys.executable, "-m", "builder", "build", "--decks", str(DECKS), "-o", str(out)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert made.returncode == 0 and made.stdout.startswith(f"Wrote {out}") and zipfile.is_zipfile(out)
    bad = subprocess.run([sys.executable, "-m", "builder", "build", "--decks", str(tmp_path / "none")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode == 1 and "no such folder" in bad.stderr


def test_the_cache_is_whole_when_the_command_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from builder.build import _cached
    from builder.load import load

    env = {**os.environ, "MUSCLE_DECK_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "builder", "build", "--decks", str(DECKS), "-o",
                           str(tmp_path / "deck.apkg")], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    [entry] = (tmp_path / "cache").glob("deck-*.pickle")
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.is_file()] == [entry.name]  # no temporary file
    monkeypatch.setenv("MUSCLE_DECK_CACHE", env["MUSCLE_DECK_CACHE"])
    deck = _cached(entry.stem)
    assert deck is not None
    assert len(deck.cards) == len(deck.guids) == int(done.stdout.split(": ")[1].split()[0])
    assert [m.id for m in deck.facts.muscles] == [m.id for m in load(DECKS).muscles]


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="processes are split by fork")
def test_a_deck_cached_from_worker_processes_is_the_deck(real_copy: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         split_everything: None) -> None:
    """Fact files read and cards rendered in other processes are cached as they came; the
    deck read back from the cache has the same facts and cards, and builds the same bytes."""
    from builder.build import _cached
    from builder.load import load

    monkeypatch.setenv("MUSCLE_DECK_JOBS", "2")
    monkeypatch.setenv("MUSCLE_DECK_CACHE", str(tmp_path / "cache"))
    result = build(real_copy, TEMPLATES, tmp_path / "first.apkg", Selection(), at=AT)
    [entry] = (tmp_path / "cache").glob("deck-*.pickle")
    deck = _cached(entry.stem)
    assert deck is not None and deck.read_parts == 10  # 100 fact files, 10 a part
    assert deck.cards == result.deck.cards and deck.digests == result.deck.digests
    assert deck.facts == load(real_copy)
    build(real_copy, TEMPLATES, tmp_path / "again.apkg", Selection(regions=("upper-limb",)), at=AT)
    build(real_copy, TEMPLATES, tmp_path / "second.apkg", Selection(), at=AT)
    assert (tmp_path / "first.apkg").read_bytes() == (tmp_path / "second.apkg").read_bytes()


def test_guids_are_genankis() -> None:
    import genanki

    from builder import lock

    versions = lock.read(DECKS)
    keys = list(versions) + [f"muscle-{i}/kind:{i * 7919}" for i in range(2000)] + ["", "ü/ß", "a" * 300]
    for key in keys:
        assert lock.guid(key) == genanki.guid_for("muscle-deck", key), key
    assert all(lock.guid(k) == v.guid for k, v in versions.items())
