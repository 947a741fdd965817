"""The `muscle-deck` command: parse options, call one library function, report."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from . import __version__
from .errors import MuscleDeckError, printable

if TYPE_CHECKING:
    from pathlib import Path

F = TypeVar("F", bound=Callable[..., Any])


class Failure(click.ClickException):
    """A library error as the command line reports it: each problem of a ValidationError on its
    own line, then `Error: …`, exit code 1."""

    exit_code = 1

    def __init__(self, error: MuscleDeckError) -> None:
        super().__init__(str(error))
        self.problems = [str(p) for p in getattr(error, "problems", ())]

    def show(self, file: Any = None) -> None:
        for problem in self.problems:
            click.echo(problem, err=True)
        super().show(file)


class Commands(click.Group):
    """The command group: the one place where the library's errors become click's."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MuscleDeckError as err:
            raise Failure(err) from None


def say(text: str, nl: bool = True) -> None:
    """Write to standard output; a write that fails (a full disk) is a one-line error. A closed
    pipe (`| head`) is left to click, which ends quietly."""
    import errno

    try:
        click.echo(text, nl=nl)
    except OSError as err:
        if err.errno == errno.EPIPE:
            raise
        _silence_stdout()
        raise click.ClickException(f"cannot write to standard output: {err.strerror or err}") from None


def _silence_stdout() -> None:
    """Send what is still buffered for standard output nowhere, so that Python's own flush at
    exit does not fail a second time with a traceback."""
    import os
    import sys

    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (a test runner's stream)
        pass


class PathType(click.Path):
    """click.Path giving a pathlib.Path, imported only once a path is given: `--help` stays as
    quick as click itself."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        import os
        from pathlib import Path

        return Path(os.fsdecode(super().convert(value, param, ctx)))


def _decks(given: Path | None) -> Path:
    from .paths import default_decks

    return given or default_decks()


def _templates(given: Path | None) -> Path:
    from .paths import default_templates

    return given or default_templates()


def decks_option(f: F) -> F:
    """--decks DIR: a folder laid out like decks/."""
    return click.option("--decks", type=PathType(file_okay=False), default=None,
                        help="A folder laid out like decks/ (default: the deck's own facts).")(f)


def templates_option(f: F) -> F:
    """--templates DIR: a folder laid out like templates/."""
    return click.option("--templates", type=PathType(file_okay=False), default=None,
                        help="A folder laid out like templates/ (default: the deck's own).")(f)


def filter_options(f: F) -> F:
    """The subset filters shared by `build`, `list`, `preview` and `export`."""
    options = [
        click.option("--region", multiple=True, help="Only this region (e.g. lower-limb). Repeatable."),
        click.option("--group", multiple=True, help="Only this group (e.g. gluteal). Repeatable."),
        click.option("--muscle", multiple=True,
                     help="Only this muscle: its id, name or alias, in any case (e.g. 'Gluteus medius'). Repeatable."),
        click.option("--nerve", multiple=True, help="Only muscles this nerve (or a branch) supplies. Repeatable."),
        click.option("--card", multiple=True, help="Only this card kind (see `muscle-deck kinds`). Repeatable."),
        click.option("--tag", multiple=True,
                     help="Only cards with this tag, e.g. nerve::superior-gluteal. Repeatable."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _selection(filters: dict[str, Any]) -> Any:
    from .select import Selection

    return Selection(regions=filters["region"], groups=filters["group"], muscles=filters["muscle"],
                     nerves=filters["nerve"], cards=filters["card"], tags=filters["tag"])


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="muscle-deck")
def main() -> None:
    """Build Anki decks of human muscle anatomy from cited YAML fact files.

    Filters (--region, --group, --muscle, --nerve, --card, --tag) may be repeated: a card is
    kept if it matches any value of each filter given (OR within a filter, AND across).
    """


@main.command(short_help="Build an Anki package of the whole deck or a subset.")
@filter_options
@decks_option
@templates_option
@click.option("-o", "--output", type=PathType(dir_okay=False),
              default="dist/muscle-deck.apkg", show_default=True, help="Where to write the .apkg.")
def build(output: Path, decks: Path | None, templates: Path | None, **filters: Any) -> None:
    """Build an Anki package (.apkg) of the whole deck or of a subset."""
    from .build import build as run

    result = run(_decks(decks), _templates(templates), output, _selection(filters))
    say(f"Wrote {output}: {result.notes} notes about {result.muscles} muscles: {result.own_cards} cards "
        f"about one muscle each, {result.across} cards across muscles")
    say("  by card kind: " + ", ".join(f"{k} {n}" for k, n in sorted(result.by_kind.items())))
    if result.unlocked:
        click.echo(f"  note: {result.unlocked} notes differ from notes.lock: they carry a time older than the "
                   "released notes, so importing this package changes none of them in a collection that has the "
                   "released deck (use a new Anki profile to check them); run `muscle-deck lock` to release them",
                   err=True)


@main.command(name="list", short_help="List the muscles the filters select.")
@filter_options
@decks_option
@templates_option
def list_(decks: Path | None, templates: Path | None, **filters: Any) -> None:
    """List the muscles the filters select (id, name, region/group). With --card or --tag, only
    the muscles that have such cards."""
    from .build import cards
    from .select import select_muscles

    selection = _selection(filters)
    kept = cards(_decks(decks), _templates(templates), selection)
    chosen = select_muscles(kept.facts, selection)
    if selection.cards or selection.tags:
        having = {m for c in kept.cards if c.own for m in c.muscles}
        chosen = [m for m in chosen if m.id in having]
    width = max((len(m.id) for m in chosen), default=0)
    for m in chosen:
        say(printable(f"{m.id:<{width}}  {m.name}  ({m.region}{'/' + m.group if m.group else ''})"))


@main.command(short_help="List the kinds of card, for --card.")
def kinds() -> None:
    """List the kinds of card (the values of --card) and what each asks."""
    from .kinds import KINDS

    width = max(len(k.name) for k in KINDS)
    for kind in KINDS:
        say(f"{kind.name:<{width}}  {kind.asks}")


@main.command(short_help="Check every fact file.")
@decks_option
def validate(decks: Path | None) -> None:
    """Check every fact file; list each problem as file:line:col and exit 1 if any."""
    from .load import load

    facts = load(_decks(decks))
    say(f"OK: {len(facts.muscles)} muscles, {len(facts.registry.nerves)} nerves, "
        f"{len(facts.registry.sources)} sources")


@main.command(short_help="Record note versions in decks/notes.lock.")
@decks_option
@click.option("--check", is_flag=True, help="Only check that the lock is current; exit 1 if not.")
def lock(decks: Path | None, check: bool) -> None:
    """Record each note's content and version time in decks/notes.lock (before a release)."""
    from .build import lock_problems, relock
    from .errors import LockError
    from .paths import writable

    folder = _decks(decks)
    if check:
        found = lock_problems(folder, _templates(None))
        if found:
            raise LockError("; ".join(found))
        say("notes.lock is current")
        return
    changed, removed = relock(writable(folder), _templates(None))
    say(f"Updated {folder / 'notes.lock'}: {changed} notes new or changed, {removed} recorded as removed")


@main.command(short_help="List the notes two .apkg builds add, change and remove.")
@click.argument("old", type=PathType(dir_okay=False, exists=True))
@click.argument("new", type=PathType(dir_okay=False, exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "markdown"]), default="text", show_default=True,
              help="text: a line for each note added, changed or removed, then the counts; markdown: a report "
                   "of those notes, each changed one field by field (before and after), as readable text.")
def diff(old: Path, new: Path, fmt: str) -> None:
    """List the notes added, changed and removed between two .apkg builds (matched by GUID, as
    Anki matches them). Reads muscle-deck's packages, and Anki's with 'Support older Anki
    versions' ticked."""
    from .diff import diff as run
    from .diff import report

    say(report(run(old, new), fmt), nl=False)


@main.command(short_help="Write an HTML gallery of the cards.")
@filter_options
@decks_option
@templates_option
@click.option("-o", "--output", "out_dir", type=PathType(file_okay=False),
              default="dist/preview", show_default=True, metavar="DIR",
              help="The folder to write index.html into.")
def preview(out_dir: Path, decks: Path | None, templates: Path | None, **filters: Any) -> None:
    """Write an HTML gallery of the cards (front and back) as Anki shows them.

    Open DIR/index.html in a browser: search by muscle name, alias or id, switch night mode.
    Add ?q=WORDS or ?night=1 to its address to open it that way.
    """
    from .preview import write_preview

    result = write_preview(_decks(decks), _templates(templates), out_dir, _selection(filters))
    say(f"Wrote {result.index}: {result.cards} cards")


@main.command(short_help="Export cards as CSV, TSV or a Markdown study sheet.")
@filter_options
@decks_option
@click.option("--format", "fmt", type=click.Choice(["csv", "tsv", "markdown"]), required=True,
              help="csv or tsv: a header row and one row per note (Front, Back, Sources, Muscle, Kind, Tags, GUID) "
                   "for Anki's text import or other apps; markdown: a printable study sheet.")
@click.option("-o", "--output", type=PathType(dir_okay=False), default=None,
              help="The file to write (default: standard output).")
def export(fmt: str, output: Path | None, decks: Path | None, **filters: Any) -> None:
    """Export the selected cards as CSV, TSV or a Markdown study sheet."""
    from .export import export as run

    text, count = run(_decks(decks), _templates(None), fmt, _selection(filters), output)
    if output is None:
        say(text, nl=False)
    else:
        say(f"Wrote {output}: {count} notes as {fmt}")


@main.command(short_help="Count muscles and cards; list missing facts.")
@click.option("--markdown", is_flag=True, help="Print only the coverage table of README.md, in Markdown.")
@decks_option
@templates_option
def stats(markdown: bool, decks: Path | None, templates: Path | None) -> None:
    """Count muscles by region and group and cards by kind; list missing optional facts and the
    muscles without an image. With --markdown, the README's coverage table."""
    from .stats import stats as run

    say(run(_decks(decks), _templates(templates), markdown), nl=False)


@main.command(name="schema", short_help="Write the JSON Schemas editors use.")
@click.option("--check", is_flag=True, help="Only check that the committed schema files are current; exit 1 if not.")
@click.option("--out", "out_dir", type=PathType(file_okay=False), default=None, metavar="DIR",
              help="The folder of the schema files (default: schema/ beside the deck's decks/ folder).")
def schema_(check: bool, out_dir: Path | None) -> None:
    """Write the JSON Schemas of fact and registry files (for editors) from the validator's rules.

    Without --out, also add the `# yaml-language-server: $schema=…` line to any file of decks/
    that lacks it (with --check, report those files)."""
    from .load import shown
    from .paths import writable
    from .scaffold import write_schemas

    decks = _decks(None)
    if not (check or out_dir):
        writable(decks, "--out")
    paths = write_schemas(out_dir or decks.parent / "schema", check=check, decks=None if out_dir else decks)
    say(f"{' and '.join(shown(p) for p in paths)} {'are current' if check else 'written'}")


@main.command(short_help="Start a fact file for a new muscle.")
@click.argument("muscle_id", metavar="ID")
@click.option("--region", required=True, help="The region, e.g. lower-limb (decks/registry/regions.yaml).")
@click.option("--group", default=None, help="The group within the region, e.g. gluteal.")
@decks_option
def new(muscle_id: str, region: str, group: str | None, decks: Path | None) -> None:
    """Start a fact file for a new muscle: decks/REGION/GROUP/ID.yaml with every key commented."""
    from .load import shown
    from .paths import writable
    from .scaffold import new as run

    path = run(writable(_decks(decks)), muscle_id, region, group)
    say(f"Wrote {shown(path)}. It does not validate yet: fill in the TODO values, then run "
        "muscle-deck validate")


@main.command(short_help="Render the muscles' images from 3D anatomy meshes.")
@click.option("--meshes", type=PathType(file_okay=False), required=True, metavar="DIR",
              help="The folder holding z-anatomy/ (muscular.glb, skeletal.glb, insertions.glb) and bodyparts3d/.")
@click.option("--region", multiple=True, help="Only the muscles of this region (e.g. lower-limb). Repeatable.")
@click.option("--muscle", multiple=True, help="Only this muscle: its id, name or alias. Repeatable.")
@click.option("-o", "--output", "media", type=PathType(file_okay=False), default="media", show_default=True,
              metavar="DIR", help="The media folder: it holds mapping.yaml and receives the images and sources.csv.")
@decks_option
def images(meshes: Path, region: tuple[str, ...], muscle: tuple[str, ...], media: Path, decks: Path | None) -> None:
    """Render each muscle's location and attachment images from the Z-Anatomy and BodyParts3D
    meshes, as media/mapping.yaml maps them, and list them in media/sources.csv.

    Needs the optional 3D libraries (pip install ".[images]") and OSMesa (apt-get install
    libosmesa6). Each mapping is checked against the facts first; a muscle that fails is refused.
    """
    from .errors import MuscleDeckError
    from .load import load
    from .select import Selection, select_muscles

    try:
        from .images import render_images
    except ImportError as err:
        raise MuscleDeckError(f"the images command needs the optional 3D libraries ({err.name} is missing): "
                              "pip install \".[images]\"") from None
    facts = load(_decks(decks))
    chosen = select_muscles(facts, Selection(regions=region, muscles=muscle))
    report = render_images(meshes, media, facts, chosen, click.echo, everything=not (region or muscle))
    views = [f.split("-")[-2] for files in report.written.values() for f in files]
    click.echo(f"Wrote {len(views)} images of {len(report.written)} muscles ({views.count('location')} location, "
               f"{views.count('attachment')} attachment views) to {media}, listed in {media / 'sources.csv'}; "
               f"removed {len(report.removed)} stale images")
    if report.without_mesh:
        click.echo(f"  no mesh for {len(report.without_mesh)}: " + ", ".join(sorted(report.without_mesh)))
    if report.refused:
        raise MuscleDeckError(f"refused {len(report.refused)} (their mapping disagrees with the facts; fix "
                              f"{media / 'mapping.yaml'}): "
                              + "; ".join(f"{m}: {why}" for m, why in sorted(report.refused.items())))


def _terminated(signum: int, frame: object) -> NoReturn:
    raise KeyboardInterrupt


def run() -> None:
    """The console script. A termination request (SIGTERM) stops a command as Ctrl-C does: what
    it was writing is removed, and it ends with "Aborted!"."""
    import signal

    signal.signal(signal.SIGTERM, _terminated)
    main(prog_name="muscle-deck")
