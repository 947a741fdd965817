"""The `muscle-deck` command: parse options, call one library function, report."""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from . import __version__

if TYPE_CHECKING:
    from pathlib import Path

F = TypeVar("F", bound=Callable[..., Any])

# Large results kept until the process ends (see `run`): a deck of 10,000 muscles takes a
# tenth of a second to free one object at a time.
_KEPT: list[object] = []


class PathType(click.Path):
    """click.Path giving a pathlib.Path; pathlib is imported only when a path is given (fast --help)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from pathlib import Path

        return Path(str(super().convert(value, param, ctx)))


def _default_decks() -> Path:
    from .paths import default_decks

    return default_decks()


def decks_option(f: F) -> F:
    """--decks DIR: a folder laid out like decks/."""
    return click.option(
        "--decks", "decks", type=PathType(file_okay=False), default=None,
        help="A folder laid out like decks/ (default: the deck's own facts).")(f)


def filter_options(f: F) -> F:
    """The subset filters shared by `build` and `list`."""
    options = [
        click.option("--region", multiple=True, help="Only this region (e.g. lower-limb). Repeatable."),
        click.option("--group", multiple=True, help="Only this group (e.g. gluteal). Repeatable."),
        click.option("--muscle", multiple=True, help="Only this muscle id (e.g. gluteus-medius). Repeatable."),
        click.option("--nerve", multiple=True, help="Only muscles this nerve (or a branch) supplies. Repeatable."),
        click.option("--card", multiple=True, help="Only this card kind (see `list --cards`). Repeatable."),
        click.option("--tag", multiple=True,
                     help="Only cards with this tag, e.g. nerve::superior-gluteal. Repeatable."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _selection(kw: dict[str, Any]) -> Any:
    from .select import Selection

    return Selection(regions=kw["region"], groups=kw["group"], muscles=kw["muscle"],
                     nerves=kw["nerve"], cards=kw["card"], tags=kw["tag"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="muscle-deck")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Build Anki decks of human muscle anatomy from cited YAML fact files.

    Filters (--region, --group, --muscle, --nerve, --card, --tag) may be repeated: a card is
    kept if it matches any value of each filter given (OR within a filter, AND across).
    """
    if sys.stderr.isatty():  # progress bars for long steps, on a terminal only
        from .progress import showing

        ctx.with_resource(showing(_progress_bar))


def _progress_bar(items: Any, label: str) -> Any:
    with click.progressbar(items, label=label, file=sys.stderr) as bar:
        yield from bar


@main.command()
@filter_options
@decks_option
@click.option("-o", "--output", type=PathType(dir_okay=False),
              default="dist/muscle-deck.apkg", show_default=True, help="Where to write the .apkg.")
@click.option("--templates", type=PathType(file_okay=False), default=None,
              help="A folder laid out like templates/ (default: the deck's own).")
def build(output: Path, decks: Path | None, templates: Path | None, **filters: Any) -> None:
    """Build an Anki package (.apkg) of the whole deck or of a subset."""
    from .build import build as run
    from .paths import default_templates

    result = run(decks or _default_decks(), templates or default_templates(), output, _selection(filters))
    _KEPT.append(result)  # its deck is freed whole when the process ends (see `run`), not object by object
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(result.by_kind.items()))
    click.echo(f"Wrote {output}: {result.notes} notes ({result.notes} cards) "
               f"from {result.muscles} muscles")
    click.echo(f"  by card kind: {kinds}")
    if result.unlocked and decks is None:
        click.echo(f"  note: {result.unlocked} notes differ from decks/notes.lock and carry this "
                   "build's time; run `muscle-deck lock` before a release", err=True)


@main.command(name="list")
@filter_options
@decks_option
@click.option("--cards", "show_cards", is_flag=True, help="List the card kinds instead of muscles.")
def list_(decks: Path | None, show_cards: bool, **filters: Any) -> None:
    """List the muscles the filters select (id, name, region), or the card kinds."""
    from .render import KINDS

    if show_cards:
        width = max(map(len, KINDS))
        for kind, about in KINDS.items():
            click.echo(f"{kind:<{width}}  {about}")
        return
    from .load import load
    from .select import muscles

    facts = load(decks or _default_decks())
    chosen = muscles(facts, _selection(filters))
    width = max(len(m.id) for m in chosen)
    for m in chosen:
        click.echo(f"{m.id:<{width}}  {m.name}  ({m.region}{'/' + m.group if m.group else ''})")


@main.command()
@decks_option
def validate(decks: Path | None) -> None:
    """Check every fact file; list each problem as file:line:col and exit 1 if any."""
    from .load import load

    facts = load(decks or _default_decks())
    click.echo(f"OK: {len(facts.muscles)} muscles, {len(facts.registry.nerves)} nerves, "
               f"{len(facts.registry.sources)} sources")


@main.command()
@decks_option
@click.option("--check", is_flag=True, help="Only check that the lock is current; exit 1 if not.")
def lock(decks: Path | None, check: bool) -> None:
    """Record each note's content and version time in decks/notes.lock (before a release)."""
    from .build import lock_problems, relock
    from .errors import LockError
    from .paths import default_templates

    folder = decks or _default_decks()
    if check:
        found = lock_problems(folder, default_templates())
        if found:
            raise LockError("; ".join(found))
        click.echo("notes.lock is current")
        return
    changed, removed = relock(folder, default_templates())
    click.echo(f"Updated {folder / 'notes.lock'}: {changed} notes new or changed, "
               f"{removed} recorded as removed")


@main.command()
@click.argument("old", type=PathType(dir_okay=False, exists=True))
@click.argument("new", type=PathType(dir_okay=False, exists=True))
def diff(old: Path, new: Path) -> None:
    """List the notes added, changed and removed between two .apkg builds."""
    from .diff import diff as run

    result = run(old, new)
    for label, keys in (("added", result.added), ("changed", result.changed),
                        ("removed", result.removed)):
        for key in keys:
            click.echo(f"{label:<8} {key}")
    click.echo(f"{len(result.added)} added, {len(result.changed)} changed, "
               f"{len(result.removed)} removed, {result.unchanged} unchanged")


@main.command()
@filter_options
@decks_option
@click.option("-o", "--output", "out_dir", type=PathType(file_okay=False),
              default="dist/preview", show_default=True, metavar="DIR",
              help="The folder to write index.html into.")
@click.option("--templates", type=PathType(file_okay=False), default=None,
              help="A folder laid out like templates/ (default: the deck's own).")
def preview(out_dir: Path, decks: Path | None, templates: Path | None, **filters: Any) -> None:
    """Write an HTML gallery of the cards (front and back) as Anki shows them.

    Open DIR/index.html in a browser: search by muscle name, alias or id, switch night mode.
    Add ?q=WORDS or ?night=1 to its address to open it that way.
    """
    from .paths import default_templates
    from .preview import write_preview

    result = write_preview(decks or _default_decks(), templates or default_templates(), out_dir,
                           _selection(filters))
    click.echo(f"Wrote {result.index}: {result.cards} cards from {result.muscles} muscles")


@main.command()
@filter_options
@decks_option
@click.option("--format", "fmt", type=click.Choice(["csv", "tsv", "markdown"]), required=True,
              help="csv or tsv: a header row and one row per note (Front, Back, Sources, Muscle, Kind, "
                   "Tags, GUID) for Anki's text import or other apps; markdown: a printable study sheet.")
@click.option("-o", "--output", type=PathType(dir_okay=False), default=None,
              help="The file to write (default: standard output).")
def export(fmt: str, output: Path | None, decks: Path | None, **filters: Any) -> None:
    """Export the selected cards as CSV, TSV or a Markdown study sheet."""
    from .export import export as run
    from .paths import default_templates

    text, count = run(decks or _default_decks(), default_templates(), fmt, _selection(filters), output)
    if output is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"Wrote {output}: {count} notes as {fmt}")


@main.command()
@decks_option
def stats(decks: Path | None) -> None:
    """Count muscles by region and group and cards by kind; list missing optional facts."""
    from .paths import default_templates
    from .stats import stats as run

    click.echo(run(decks or _default_decks(), default_templates()), nl=False)


@main.command(name="schema")
@click.option("--check", is_flag=True, help="Only check that the committed schema files are current; exit 1 if not.")
@click.option("--out", "out_dir", type=PathType(file_okay=False), default=None, metavar="DIR",
              help="The folder of the schema files (default: schema/ beside the deck's decks/ folder).")
def schema_(check: bool, out_dir: Path | None) -> None:
    """Write the JSON Schemas of fact and registry files (for editors) from the validator's rules.

    Without --out, also add the `# yaml-language-server: $schema=…` line to any file of decks/
    that lacks it (with --check, report those files)."""
    from .load import shown
    from .scaffold import write_schemas

    decks = _default_decks()
    paths = write_schemas(out_dir or decks.parent / "schema", check=check,
                          decks=None if out_dir else decks)
    names = " and ".join(shown(p) for p in paths)
    click.echo(f"{names} {'are current' if check else 'written'}")


@main.command()
@click.argument("muscle_id", metavar="ID")
@click.option("--region", required=True, help="The region, e.g. lower-limb (decks/registry/regions.yaml).")
@click.option("--group", default=None, help="The group within the region, e.g. gluteal.")
@decks_option
def new(muscle_id: str, region: str, group: str | None, decks: Path | None) -> None:
    """Start a fact file for a new muscle: decks/REGION/GROUP/ID.yaml with every key commented."""
    from .load import shown
    from .scaffold import new as run

    path = run(decks or _default_decks(), muscle_id, region, group)
    click.echo(f"Wrote {shown(path)}. It does not validate yet: fill in the TODO values, then run "
               "muscle-deck validate")


def run() -> None:
    """The console script: `main`, then an immediate exit.

    Freeing a finished build's objects one by one as the interpreter shuts down takes longer
    than a small build itself (tens of milliseconds; seconds for a large deck). Output files are
    closed by then and the output streams are flushed here, so the process ends at once and the
    system reclaims its memory whole. Errors that escape as tracebacks end the usual way.

    Cyclic garbage collection stays off: a command is short, and a build pauses it anyway.
    Turned back on after a large build, its first pass would walk every object the build made
    (a fifth of a second for a large deck) just before the process ends."""
    gc.disable()
    code: int = 0
    try:
        main(prog_name="muscle-deck")
    except SystemExit as done:
        if isinstance(done.code, int):
            code = done.code
        elif done.code is not None:  # sys.exit("message")
            sys.stderr.write(f"{done.code}\n")
            code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (e.g. `muscle-deck list | head`)
            code = code or 1
    os._exit(code)
