"""The contributor tools: `export`, `stats`, `schema` and `new`, as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import DECKS, ROOT, TEMPLATES, run

from builder import schema
from builder.diff import Note, notes
from builder.load import shown
from builder.scaffold import COMMENT, FACT_SCHEMA, REGISTRY_SCHEMA

SCHEMAS = ROOT / "schema"
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's where PyYAML has it: ten times as fast




def last_error(err: str) -> str:
    return err.strip().splitlines()[-1]


def build_notes(decks: Path, tmp_path: Path, *filters: str) -> dict[str, Note]:
    out = tmp_path / "build.apkg"
    code, _, err = run("build", "--decks", str(decks), "-o", str(out), *filters)
    assert code == 0, err
    return notes(out)


# --- export --------------------------------------------------------------------------------

def table_rows(text: str, delimiter: str = ",") -> list[list[str]]:
    """The column names (from Anki's `#columns:` header), then the rows; other `#` lines skipped."""
    lines = text.splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    assert header[:2] == [f"#separator:{'tab' if delimiter == chr(9) else 'comma'}\n", "#html:true\n"]
    columns = next(line for line in header if line.startswith("#columns:"))[len("#columns:"):].strip()
    body = "".join(lines[len(header):])
    return [columns.split(delimiter), *csv.reader(io.StringIO(body, newline=""), delimiter=delimiter)]


def test_export_csv_round_trips_with_one_row_per_note(mini: Path, tmp_path: Path) -> None:
    code, out, err = run("export", "--format", "csv", "--decks", str(mini))
    assert code == 0, err
    rows = table_rows(out)
    assert rows[0] == ["Front", "Back", "Sources", "Muscle", "Kind", "Tags", "GUID"]
    built = build_notes(mini, tmp_path)
    assert len(rows) - 1 == len(built)
    for front, back, sources, muscle, kind, tags, guid in rows[1:]:
        assert list(built[guid].fields) == [front, back, sources, muscle, kind]  # HTML kept as is
        assert tuple(sorted(tags.split())) == built[guid].tags


def test_export_tsv_to_a_file(mini: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "cards.tsv"
    code, out, err = run("export", "--format", "tsv", "-o", str(target), "--decks", str(mini))
    assert code == 0, err
    built = build_notes(mini, tmp_path)
    assert out == f"Wrote {target}: {len(built)} notes as tsv\n"
    rows = table_rows(target.read_text(encoding="utf-8"), "\t")
    assert rows[0][-1] == "GUID" and len(rows) - 1 == len(built)
    assert {r[-1] for r in rows[1:]} == set(built)
    assert [p.name for p in target.parent.iterdir()] == ["cards.tsv"]  # no temporary file left


def test_export_overwrites_atomically(mini: Path, tmp_path: Path) -> None:
    target = tmp_path / "cards.csv"
    target.write_text("old\n", encoding="utf-8")
    code, _, _ = run("export", "--format", "csv", "-o", str(target), "--decks", str(mini),
                     "--muscle", "gluteus-minimus", "--card", "origin")
    assert code == 0
    rows = table_rows(target.read_text(encoding="utf-8"))
    assert len(rows) == 2 and rows[1][3:5] == ["Gluteus minimus", "origin"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cards.csv", "decks"]


def test_anki_text_import_of_the_csv_updates_the_decks_own_notes(mini: Path, tmp_path: Path) -> None:
    from anki.collection import ImportCsvRequest
    from conftest import collection, import_apkg

    apkg, table = tmp_path / "deck.apkg", tmp_path / "cards.csv"
    assert run("build", "--decks", str(mini), "-o", str(apkg))[0] == 0
    assert run("export", "--format", "csv", "--decks", str(mini), "-o", str(table))[0] == 0
    text = table.read_text(encoding="utf-8")
    table.write_text(text.replace("Origin of the", "Origin (edited) of the", 1), encoding="utf-8")
    with collection(tmp_path / "col.anki2") as col:
        import_apkg(col, apkg)
        metadata = col.get_csv_metadata(path=str(table), delimiter=None)
        log = col.import_csv(ImportCsvRequest(path=str(table), metadata=metadata)).log
        assert (len(log.new), len(log.updated), len(log.duplicate)) == (0, 1, len(notes(apkg)) - 1)
        assert len(col.find_notes('"Front:*Origin (edited) of the*"')) == 1


@pytest.mark.parametrize(
    ("args", "muscles", "kinds"),
    [
        (["--region", "lower-limb"], {"Gluteus medius", "Gluteus minimus", "Biceps femoris"}, None),
        (["--group", "posterior-thigh", "--card", "origin"], {"Biceps femoris"}, {"origin"}),
        (["--nerve", "superior-gluteal", "--card", "innervation"], {"Gluteus medius", "Gluteus minimus"},
         {"innervation"}),
        (["--tag", "card::reverse"], None, {"reverse"}),
    ],
)
def test_export_filters_select_like_build(mini: Path, tmp_path: Path, args: list[str],
                                          muscles: set[str] | None, kinds: set[str] | None) -> None:
    code, out, _ = run("export", "--format", "csv", "--decks", str(mini), *args)
    assert code == 0
    columns, *table = table_rows(out)
    rows = [dict(zip(columns, row, strict=True)) for row in table]
    assert {r["GUID"] for r in rows} == set(build_notes(mini, tmp_path, *args))
    if muscles is not None:
        assert {r["Muscle"] for r in rows if "muscle-deck::muscle::" in r["Tags"]} == muscles  # their own cards
    if kinds is not None:
        assert {r["Kind"] for r in rows} == kinds


def test_export_markdown_is_a_plain_study_sheet(mini: Path) -> None:
    code, out, err = run("export", "--format", "markdown", "--decks", str(mini))
    assert code == 0, err
    assert not re.search(r"</?[A-Za-z!][^>]*>", out), "HTML tag in the Markdown export"
    assert "&" not in out.replace("&amp;", "")  # entities unescaped
    lines = out.splitlines()
    assert lines[0] == "# Muscle anatomy"
    assert "## Lower limb" in lines
    order = [line[4:] for line in lines if line.startswith("### ")]
    assert order[:3] == ["Gluteus medius", "Gluteus minimus", "Biceps femoris"]  # by group, then name
    assert "- Origin of the gluteus medius? → External surface of the ilium between the anterior and " \
           "posterior gluteal lines" in lines
    assert "- Hip: what does the gluteus medius do? (2 actions) → 1. Abduction (prime mover); 2. Medial rotation " \
           "(anterior fibres)" in lines
    assert lines[2].startswith("Root levels in bold are the main segments.")
    assert "- Nerve and root levels of the gluteus medius? → Superior gluteal nerve – L4, **L5**, **S1**" in lines
    assert "  - Note: Some references give L4, L5 and S1." in lines
    assert "- Paralysis of gluteus medius: what happens to the pelvis in single-leg stance on the affected side? → " \
           "It drops on the opposite, unsupported side (positive Trendelenburg sign)." in lines
    assert ".;" not in out and "; ;" not in out
    medius = lines[lines.index("### Gluteus medius"):lines.index("### Gluteus minimus")]
    assert "Sources: Moore COA 8e; Wikipedia" in medius
    assert "- **Moore COA 8e**: Moore KL, Dalley AF, Agur AMR. Clinically Oriented Anatomy. 8th ed. 2018." in lines


def test_export_markdown_of_a_subset(mini: Path, tmp_path: Path) -> None:
    target = tmp_path / "sheet.md"
    code, out, _ = run("export", "--format", "markdown", "-o", str(target), "--decks", str(mini),
                       "--muscle", "biceps-femoris", "--card", "origin")
    assert code == 0 and out == f"Wrote {target}: 2 notes as markdown\n"
    text = target.read_text(encoding="utf-8")
    assert "### Biceps femoris" in text and "Gluteus" not in text
    assert text.count("\n- Origin of the ") == 2 and text.count("head of the biceps femoris?") == 2


def test_export_markdown_escapes_markdown(mini: Path) -> None:
    path = mini / "lower-limb" / "gluteal" / "gluteus-minimus.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("Anterior surface", "Anterior *surface* <b>&amp; [x]"))
    code, out, _ = run("export", "--format", "markdown", "--decks", str(mini), "--muscle", "gluteus-minimus",
                       "--card", "insertion")
    assert code == 0
    assert r"→ Anterior \*surface\* \<b\>&amp; \[x\] of the greater trochanter" in out


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        (["--format", "xml"], 2, "Error: Invalid value for '--format': 'xml' is not one of 'csv', 'tsv', "
                                 "'markdown'."),
        ([], 2, "Error: Missing option '--format'. Choose from:"),
        (["--format", "csv", "--region", "head"], 1,
         "Error: --region 'head' matches nothing; valid values: lower-limb"),
        (["--format", "csv", "--muscle", "gluteus-minimus", "--card", "blood-supply"], 1,
         "Error: no card matches all of these filters together: --muscle gluteus-minimus, --card blood-supply; "
         "loosen one of them"),
    ],
)
def test_export_bad_input(mini: Path, args: list[str], code: int, error: str) -> None:
    got, out, err = run("export", "--decks", str(mini), *args)
    assert got == code
    assert out == ""
    lines = err.strip().splitlines()
    assert error in lines or (error.endswith(":") and any(line.startswith(error) for line in lines))


def test_export_refuses_to_write_into_the_decks_folder(mini: Path) -> None:
    target = mini / "cards.csv"
    code, _, err = run("export", "--format", "csv", "--decks", str(mini), "-o", str(target))
    assert code == 1
    assert last_error(err) == (f"Error: {target}: the output would be written inside {mini}, the deck's own "
                               "sources; choose another path with -o")
    assert not target.exists()


def test_export_to_a_folder_is_an_error(mini: Path, tmp_path: Path) -> None:
    code, _, err = run("export", "--format", "csv", "--decks", str(mini), "-o", str(tmp_path))
    assert code == 2
    assert last_error(err) == f"Error: Invalid value for '-o' / '--output': File '{tmp_path}' is a directory."


# --- stats ---------------------------------------------------------------------------------

def test_stats(mini: Path, tmp_path: Path) -> None:
    code, out, err = run("stats", "--decks", str(mini))
    assert code == 0, err
    sections = out.split("\n\n")
    assert sections[0].splitlines() == [
        "Muscles by region and group",
        "  lower-limb         3",
        "    gluteal          2",
        "    posterior-thigh  1",
        "  upper-limb         0",
        "  total              3",
    ]
    kinds = sections[1].splitlines()
    assert kinds[0] == "Cards by kind"
    counts = {line.split()[0]: int(line.split()[1]) for line in kinds[1:]}
    assert counts["total"] == len(build_notes(mini, tmp_path))
    assert sum(n for k, n in counts.items() if k != "total") == counts["total"]
    assert (counts["origin"], counts["clinical"], counts["reverse"]) == (4, 2, 4)
    assert len({len(line) for line in kinds[1:]}) == 1  # aligned
    missing = sections[2].splitlines()
    assert missing[0] == "Optional facts missing (muscles without them)"
    assert missing[1:3] == ["  blood_supply    2 of 3:", "      biceps-femoris, gluteus-minimus"]
    assert "  aliases         3 of 3:" in missing
    assert missing[-1] == "  group           0 of 3"


def test_stats_counts_a_part_s_blood_supply(mini: Path) -> None:
    path = mini / "lower-limb" / "posterior-thigh" / "biceps-femoris.yaml"
    text = path.read_text(encoding="utf-8")
    assert "blood_supply" not in text
    data = yaml.safe_load(text)
    for part in data["parts"]:
        part["blood_supply"] = "Perforating arteries"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    code, out, _ = run("stats", "--decks", str(mini))
    assert code == 0
    assert "  blood_supply    1 of 3:\n      gluteus-minimus\n" in out


def test_stats_of_a_missing_folder(tmp_path: Path) -> None:
    code, _, err = run("stats", "--decks", str(tmp_path / "nowhere"))
    assert code == 1
    assert err.splitlines()[0].endswith("nowhere:1:1: no such folder; pass --decks a folder laid out like decks/")
    assert last_error(err) == "Error: 1 problem in the fact files; fix them and run again (nothing was written)"


# --- schema --------------------------------------------------------------------------------

def test_the_committed_schemas_are_current() -> None:
    code, out, err = run("schema", "--check")
    assert code == 0, err
    assert out.endswith("fact-file.schema.json and " + shown(SCHEMAS / REGISTRY_SCHEMA) + " are current\n")


def test_schema_writes_the_committed_files(tmp_path: Path) -> None:
    code, out, _ = run("schema", "--out", str(tmp_path))
    assert code == 0
    assert out == f"{tmp_path / FACT_SCHEMA} and {tmp_path / REGISTRY_SCHEMA} written\n"
    for name in (FACT_SCHEMA, REGISTRY_SCHEMA):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert text == (SCHEMAS / name).read_text(encoding="utf-8")
        assert text.endswith("}\n") and text == json.dumps(json.loads(text), sort_keys=True, indent=2,
                                                           ensure_ascii=False) + "\n"
    code, out, _ = run("schema", "--check", "--out", str(tmp_path))
    assert code == 0 and out.endswith(" are current\n")


def test_schema_check_fails_on_missing_or_stale_files(tmp_path: Path) -> None:
    fact, registry = tmp_path / FACT_SCHEMA, tmp_path / REGISTRY_SCHEMA
    code, _, err = run("schema", "--check", "--out", str(tmp_path))
    assert code == 1
    assert last_error(err) == (f"Error: {fact} is missing; {registry} is missing; run `muscle-deck schema` "
                               "and commit the result")
    run("schema", "--out", str(tmp_path))
    fact.write_text(fact.read_text(encoding="utf-8").replace('"maxLength": 80', '"maxLength": 81', 1))
    code, _, err = run("schema", "--check", "--out", str(tmp_path))
    assert code == 1
    assert last_error(err) == (f"Error: {fact} differs from builder/schema.py; run `muscle-deck schema` "
                               "and commit the result")
    assert '"maxLength": 81' in fact.read_text(encoding="utf-8")  # --check never writes


def test_the_json_schema_follows_the_validator_s_spec() -> None:
    fact = json.loads((SCHEMAS / FACT_SCHEMA).read_text(encoding="utf-8"))
    assert list(fact["properties"]) == sorted(k.name for k in schema.FACT_FILE.keys)
    assert fact["required"] == [k.name for k in schema.FACT_FILE.keys if k.required]
    assert fact["properties"]["id"]["pattern"] == schema.KEBAB.replace("\\Z", "$")  # ECMAScript's end
    registry = json.loads((SCHEMAS / REGISTRY_SCHEMA).read_text(encoding="utf-8"))
    assert set(registry["properties"]) == {k.name for k in schema.REGISTRY_FILE.keys}


def test_every_deck_file_has_its_schema_line_and_validates_against_it() -> None:
    import jsonschema

    validators = {}
    for name in (FACT_SCHEMA, REGISTRY_SCHEMA):
        spec = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
        jsonschema.Draft202012Validator.check_schema(spec)
        validators[name] = jsonschema.Draft202012Validator(spec)
    files = sorted(DECKS.rglob("*.yaml"))
    assert len(files) > 200
    failures = []  # every file that fails, not only the first
    for path in files:
        text = path.read_text(encoding="utf-8")
        name = REGISTRY_SCHEMA if path.relative_to(DECKS).parts[0] == "registry" else FACT_SCHEMA
        first = text.splitlines()[0]
        if not first.startswith(COMMENT) or (path.parent / first[len(COMMENT):]).resolve() != SCHEMAS / name:
            failures.append(f"{path}: the first line must be `{COMMENT}` and the path of {name}")
            continue
        failures += [f"{path}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
                     for e in validators[name].iter_errors(yaml.load(text, Loader=SAFE_LOADER))]
    assert not failures, "\n".join(failures)


def test_the_json_schema_rejects_what_the_validator_rejects(mini: Path) -> None:
    import jsonschema

    spec = json.loads((SCHEMAS / FACT_SCHEMA).read_text(encoding="utf-8"))
    data = yaml.safe_load((mini / "lower-limb" / "gluteal" / "gluteus-medius.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(data, spec)
    for bad in ({"orgin": data["origin"]}, {"id": "Gluteus medius"}, {"notes": [{"about": "colour"}]},
                {"innervation": [{"nerve": "superior-gluteal", "roots": ["L9"]}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**data, **bad}, spec)


def test_adding_the_schema_line_changes_nothing_else(mini: Path) -> None:
    from builder.scaffold import add_schema_line

    fact = mini / "lower-limb" / "gluteal" / "gluteus-medius.yaml"
    registry = mini / "registry" / "registry.yaml"
    before = {p: p.read_bytes() for p in (fact, registry)}
    assert add_schema_line(fact, mini) and add_schema_line(registry, mini)
    assert fact.read_bytes() == (b"# yaml-language-server: $schema=../../../schema/fact-file.schema.json\n"
                                 + before[fact])
    assert registry.read_bytes() == (b"# yaml-language-server: $schema=../../schema/registry-file.schema.json\n"
                                     + before[registry])
    assert not add_schema_line(fact, mini)  # once only
    code, _, _ = run("validate", "--decks", str(mini))
    assert code == 0
    crlf = mini / "lower-limb" / "gluteal" / "gluteus-minimus.yaml"
    crlf.write_bytes(crlf.read_bytes().replace(b"\n", b"\r\n"))
    assert add_schema_line(crlf, mini)
    assert crlf.read_bytes().startswith(b"# yaml-language-server: $schema=../../../schema/fact-file.schema.json\r\nid:")


# --- new -----------------------------------------------------------------------------------

def test_new_scaffolds_every_key(mini: Path) -> None:
    code, out, err = run("new", "piriformis", "--region", "lower-limb", "--group", "gluteal", "--decks", str(mini))
    assert code == 0, err
    path = mini / "lower-limb" / "gluteal" / "piriformis.yaml"
    assert out == (f"Wrote {shown(path)}. It does not validate yet: fill in the TODO values, then run "
                   "muscle-deck validate\n")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# yaml-language-server: $schema=../../../schema/fact-file.schema.json"
    keys = {m.group(1): line for line in lines if (m := re.match(r"(?:# )?([a-z_]+):", line))}
    assert set(keys) == {k.name for k in schema.FACT_FILE.keys}
    for key in schema.FACT_FILE.keys:
        assert "  # " in keys[key.name], f"no comment on {key.name}"
    assert keys["id"].startswith("id: piriformis  # ")
    assert keys["region"].startswith("region: lower-limb  # ")
    assert keys["group"].startswith("group: gluteal  # ")
    assert keys["name"] == "name:  # TODO: " + schema.FACT_FILE.keys[2].spec.doc
    assert "TODO" in keys["origin"] and "optional" in keys["blood_supply"]
    assert "      sites: []  # TODO: Landmark ids" not in lines  # nested keys are indented by depth
    assert "  sites: []  # TODO: Landmark ids (registry `landmarks:`) that the text names." in lines
    assert "  - joint:  # TODO: A joint of decks/registry/movements.yaml." in lines


FILLED = {  # a value for each TODO of a new lower-limb muscle, by key
    "name": "Test abductor", "text": "Lateral surface of the ilium", "sites": "[ischial-tuberosity]",
    "joint": "hip", "movement": "abduction", "nerve": "superior-gluteal", "roots": "[L5, S1]",
    "blood_supply": "Superior gluteal artery", "sources": "[moore-coa-8]",
}


def test_a_new_fact_file_validates_once_its_todo_values_are_filled(real_copy: Path) -> None:
    code, _, err = run("new", "test-abductor", "--region", "lower-limb", "--group", "gluteal", "--decks",
                       str(real_copy))
    assert code == 0, err
    path = real_copy / "lower-limb" / "gluteal" / "test-abductor.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    filled = []
    for line in lines:
        found = re.match(r"(\s*(?:- )?)([a-z_]+):( \[\])?  # TODO", line)
        known = found and found.group(2) in FILLED  # not a record's own line ('origin:')
        filled.append(f"{found.group(1)}{found.group(2)}: {FILLED[found.group(2)]}" if known else line)
    left = [line for line in filled if "TODO" in line and not line.lstrip().startswith("#")]
    assert all(re.match(r"\s*[a-z_]+:  # TODO", line) for line in left), left  # record headers only
    path.write_text("\n".join(filled) + "\n", encoding="utf-8")
    code, out, err = run("validate", "--decks", str(real_copy))
    assert code == 0, err
    from builder.build import cards
    assert {c.kind for c in cards(real_copy, TEMPLATES).every if "test-abductor" in c.muscles} >= {
        "origin", "insertion", "actions", "innervation", "blood-supply", "reverse"}


def test_new_does_not_validate_until_filled_in(mini: Path) -> None:
    run("new", "piriformis", "--region", "lower-limb", "--group", "gluteal", "--decks", str(mini))
    code, _, err = run("validate", "--decks", str(mini))
    assert code == 1
    problems = err.strip().splitlines()[:-1]
    assert problems and all("piriformis.yaml" in p for p in problems)
    # only unfilled values are reported: the structure itself is right
    assert all(p.endswith(("fill it in or remove the key", "add them or remove the key")) for p in problems)


def test_new_without_a_group(mini: Path) -> None:
    code, _, _ = run("new", "deltoid", "--region", "upper-limb", "--decks", str(mini))
    assert code == 0
    text = (mini / "upper-limb" / "deltoid.yaml").read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../../schema/fact-file.schema.json\n")
    assert "\n# group:  # optional: " in text  # optional keys come commented out


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["Piriformis", "--region", "lower-limb"],
         "Error: 'Piriformis' is not a valid id: use lower-case words joined by hyphens, e.g. 'gluteus-medius'"),
        (["piri_formis", "--region", "lower-limb"],
         "Error: 'piri_formis' is not a valid id: use lower-case words joined by hyphens, e.g. 'gluteus-medius'"),
        (["piriformis", "--region", "leg"], "Error: unknown region 'leg'; valid values: lower-limb, upper-limb"),
        (["piriformis", "--region", "lower-limbs"],
         "Error: unknown region 'lower-limbs' (did you mean 'lower-limb'?); valid values: lower-limb, upper-limb"),
        (["piriformis", "--region", "lower-limb", "--group", "thigh"],
         "Error: unknown group 'thigh' in region 'lower-limb'; valid values: gluteal, posterior-thigh"),
        (["piriformis", "--region", "lower-limb", "--group", "gluteus"],
         "Error: unknown group 'gluteus' in region 'lower-limb' (did you mean 'gluteal'?); valid values: gluteal, "
         "posterior-thigh"),
        (["deltoid", "--region", "upper-limb", "--group", "shoulder"],
         "Error: region 'upper-limb' has no groups yet; leave out --group, or add the group to "
         "decks/registry/regions.yaml"),
    ],
)
def test_new_rejects_bad_input(mini: Path, args: list[str], error: str) -> None:
    before = sorted(mini.rglob("*"))
    code, out, err = run("new", *args, "--decks", str(mini))
    assert code == 1 and out == ""
    assert last_error(err) == error
    assert sorted(mini.rglob("*")) == before


def test_new_needs_a_region(mini: Path) -> None:
    code, _, err = run("new", "piriformis", "--decks", str(mini))
    assert code == 2
    assert last_error(err) == "Error: Missing option '--region'."


def test_new_never_overwrites(mini: Path) -> None:
    path = mini / "lower-limb" / "gluteal" / "gluteus-medius.yaml"
    before = path.read_text(encoding="utf-8")
    code, _, err = run("new", "gluteus-medius", "--region", "lower-limb", "--group", "gluteal", "--decks", str(mini))
    assert code == 1
    assert last_error(err) == f"Error: {shown(path)} already exists; edit it instead (nothing was written)"
    assert path.read_text(encoding="utf-8") == before
    # the same id elsewhere in the deck: ids are unique across the deck
    code, _, err = run("new", "gluteus-medius", "--region", "lower-limb", "--group", "posterior-thigh",
                       "--decks", str(mini))
    assert code == 1
    assert last_error(err) == f"Error: {shown(path)} already exists; edit it instead (nothing was written)"
    assert not (mini / "lower-limb" / "posterior-thigh" / "gluteus-medius.yaml").exists()


def test_new_never_reuses_a_removed_id(mini: Path) -> None:
    (mini / "registry" / "removed.yaml").write_text("removed:\n  piriformis: merged into another muscle\n",
                                                     encoding="utf-8")
    code, _, err = run("new", "piriformis", "--region", "lower-limb", "--decks", str(mini))
    assert code == 1
    assert last_error(err) == ("Error: 'piriformis' is the id of a removed muscle, and ids are never reused; "
                               "choose another")


# --- repository files ----------------------------------------------------------------------

def test_pre_commit_and_workflows() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hook = hooks["repos"][0]["hooks"][0]
    assert hooks["repos"][0]["repo"] == "local"
    assert hook["entry"].startswith("muscle-deck validate")
    assert (hook["language"], hook["pass_filenames"], hook["files"]) == ("system", False, "^decks/")
    test = (ROOT / ".github" / "workflows" / "test.yml").read_text(encoding="utf-8")
    assert 'python3 -m pip install ".[test]" && python3 -m pytest' in test
    matrix = yaml.safe_load(test)["jobs"]["test"]["strategy"]["matrix"]
    assert set(matrix["os"]) == {"ubuntu-latest", "macos-latest", "windows-latest"}
    oldest = re.search(r'requires-python = ">=(3\.\d+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert oldest and matrix["python-version"][0] == oldest.group(1) and len(matrix["python-version"]) == 2
    assert "muscle-deck validate" in test
    release = (ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    assert 'gh release create "$GITHUB_REF_NAME" dist/*.apkg --generate-notes' in release
    for text in (test, release):
        hosts = set(re.findall(r"https?://([^/\s\"']+)", text))
        assert hosts <= {"github.com"}, hosts


def test_schema_command_adds_missing_schema_lines(mini: Path, tmp_path: Path) -> None:
    from builder.scaffold import ScaffoldError, write_schemas

    out = tmp_path / "schema"
    write_schemas(out, decks=mini)  # gives every file of the sample deck its line
    fact = mini / "lower-limb" / "gluteal" / "gluteus-minimus.yaml"
    body = fact.read_text(encoding="utf-8").split("\n", 1)[1]
    fact.write_text(body, encoding="utf-8")  # a contributor's new file, without the line
    with pytest.raises(ScaffoldError, match="gluteus-minimus.yaml has no schema line"):
        write_schemas(out, check=True, decks=mini)
    write_schemas(out, decks=mini)
    line = "# yaml-language-server: $schema=../../../schema/fact-file.schema.json\n"
    assert fact.read_text(encoding="utf-8") == line + body
    write_schemas(out, check=True, decks=mini)


def test_the_study_sheet_holds_every_answer_item_of_every_kind(real: object) -> None:
    from builder.export import markdown, md
    from builder.kinds import KINDS

    chosen = real.every  # type: ignore[attr-defined]
    sheet = markdown(real.facts, chosen, TEMPLATES)  # type: ignore[attr-defined]
    kinds = set()
    for card in chosen:
        for item in card.answer:
            assert str(md(item.text)) in sheet, (card.key, item.text)
        if card.hint:
            assert str(md(card.hint)) in sheet, card.key
        kinds.add(card.kind)
    assert kinds == {k.name for k in KINDS} - ({"location"} if "location" not in kinds else set())


def test_csv_cells_never_start_a_spreadsheet_formula(mini: Path) -> None:
    path = mini / "lower-limb" / "gluteal" / "gluteus-minimus.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("name: Gluteus minimus", "name: '=HYPERLINK(1)'"),
                    encoding="utf-8")
    code, out, err = run("export", "--format", "csv", "--decks", str(mini), "--muscle", "gluteus-minimus")
    assert code == 0, err
    rows = list(csv.reader(line for line in out.splitlines() if not line.startswith("#")))
    muscles = {row[3] for row in rows}
    assert "'=HYPERLINK(1)" in muscles  # the cell that began with '=' is quoted as text
    assert not any(cell[:1] in ("=", "+", "-", "@") for row in rows for cell in row)
