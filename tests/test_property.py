"""Generated and mutated fact files: each builds a deck Anki imports, or fails with a clean error."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import yaml
from conftest import MINI, TEMPLATES, collection, import_apkg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_validation import GOOD, MINIMUS

from builder.build import build
from builder.errors import MuscleDeckError, ValidationError
from builder.select import Selection

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=40), st.sampled_from(["<script>x</script>", "L4", "hip", "ilium",
                                                           "superior-gluteal", "moore-coa-8", ""]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)
keys = st.sampled_from(["id", "name", "region", "group", "origin", "insertion", "actions", "innervation",
                        "sources", "blood_supply", "clinical", "notes", "parts", "aliases", "confusable",
                        "former_ids", "description"])


def attempt(text: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        decks = Path(folder) / "decks"
        shutil.copytree(MINI, decks)
        path = decks / MINIMUS
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        out = Path(folder) / "deck.apkg"
        try:
            result = build(decks, TEMPLATES, out, Selection(), at=1_800_000_000)
        except MuscleDeckError as err:
            # a clean error: problems in the fact files, each at a line and column, and the
            # changed file among them; nothing written
            assert isinstance(err, ValidationError), str(err)
            assert all(p.line >= 1 and p.col >= 1 and p.message for p in err.problems), err.problems
            assert path in {Path(p.path) for p in err.problems}, err.problems
            assert not out.exists()
            return
        with collection(Path(folder) / "col.anki2") as col:
            log = import_apkg(col, out)
            assert len(log.new) == result.notes == len(col.find_cards(""))
            for cid in col.find_cards(""):
                card = col.get_card(cid)
                assert card.question().strip() and len(card.answer()) > len(card.question())


@SETTINGS
@given(key=keys, value=values)
def test_replacing_a_value(key: str, value: object) -> None:
    data = yaml.safe_load(GOOD)
    data[key] = value
    attempt(yaml.safe_dump(data, allow_unicode=True))


@SETTINGS
@given(position=st.integers(0, len(GOOD)), length=st.integers(0, 20), insert=st.text(max_size=20))
def test_splicing_the_text(position: int, length: int, insert: str) -> None:
    attempt(GOOD[:position] + insert + GOOD[position + length:])


@SETTINGS
@given(position=st.integers(0, len(GOOD)), junk=st.binary(min_size=1, max_size=8))
def test_splicing_bytes(position: int, junk: bytes) -> None:
    raw = GOOD.encode()
    attempt(raw[:position] + junk + raw[position:])


@SETTINGS
@given(data=st.dictionaries(keys, values, max_size=8))
def test_whole_generated_files(data: dict[str, object]) -> None:
    attempt(yaml.safe_dump(data, allow_unicode=True))
