"""Benchmark: muscle-deck builds against a bare-genanki baseline, as whole processes.

Usage: python benchmarks/run.py [--sizes 1000,10000] [--repeat 3]

For the real deck and synthetic decks (the real fact files copied under new ids), it times
`muscle-deck build` and a baseline process that writes the same notes with genanki alone (no
loading, validation or rendering), in the same run, and prints times, ratios and peak memory.
Builds are measured cold (MUSCLE_DECK_CACHE=off: load, check, render, package), first (the
same with an empty cache, which the build also fills, as a user's first build does) and cached
(a rebuild whose inputs did not change: the checked facts and rendered cards come from the
cache). Run it from a regular install (`pip install .`): an editable install's import hook
slows every process's start. It also times `muscle-deck --help` against a process that only imports click, and
`muscle-deck validate` on the real deck.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from builder import lock  # noqa: E402
from builder.load import load  # noqa: E402
from builder.package import FIELDS, MODEL_ID, TOP_DECK_ID, note_type  # noqa: E402
from builder.render import render  # noqa: E402


def synthetic(size: int, folder: Path) -> Path:
    """A decks folder of `size` muscles: the real ones, then copies under new ids and names."""
    decks = folder / f"decks-{size}"
    shutil.copytree(ROOT / "decks" / "registry", decks / "registry")
    shutil.copy(ROOT / "decks" / "notes.lock", decks / "notes.lock")
    files = sorted(p for p in (ROOT / "decks").rglob("*.yaml") if "registry" not in p.parts)
    made = 0
    copy = 0
    while made < size:
        for path in files:
            if made >= size:
                break
            text = path.read_text(encoding="utf-8")
            rel = path.relative_to(ROOT / "decks")
            if copy:
                old = re.search(r"^id: (\S+)", text, re.M).group(1)  # type: ignore[union-attr]
                text = re.sub(r"^id: \S+", f"id: {old}-copy-{copy}", text, flags=re.M)
                text = re.sub(r"^name: (.*)$", rf"name: \1 (copy {copy})", text, flags=re.M)
                text = re.sub(r"^confusable:\n(?:  .*\n)+", "", text, flags=re.M)
                rel = rel.with_name(f"{old}-copy-{copy}.yaml")
            (decks / rel).parent.mkdir(parents=True, exist_ok=True)
            (decks / rel).write_text(text, encoding="utf-8")
            made += 1
        copy += 1
    return decks


def notes_json(decks: Path, out: Path) -> int:
    """The notes a full build writes, rendered, for the baseline to package."""
    cards = render(load(decks), ROOT / "templates")
    templates, css = note_type(ROOT / "templates")
    out.write_text(json.dumps({
        "model_id": MODEL_ID, "deck_id": TOP_DECK_ID, "fields": FIELDS, "templates": templates, "css": css,
        "notes": [{"fields": [c.front, c.back, c.sources, c.muscle_names, c.kind], "tags": list(c.tags),
                   "guid": lock.guid(c.key)} for c in cards],
    }), encoding="utf-8")
    return len(cards)


def timed(cmd: list[str], repeat: int, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Best wall time of a command over `repeat` runs, and the peak memory (MB) of that process."""
    best = (float("inf"), 0.0)
    script = ("import resource,subprocess,sys,time;t=time.perf_counter();"
              "r=subprocess.run(sys.argv[1:],capture_output=True,text=True);w=time.perf_counter()-t;"
              "sys.stderr.write(r.stderr);"
              "print(r.returncode,w,resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    for _ in range(repeat):
        os.sync()  # the files earlier steps wrote go to disk now, not while this run is timed
        done = subprocess.run([sys.executable, "-c", script, *cmd], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, **(env or {})})
        code, wall, rss = done.stdout.split()
        if code != "0":
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
        if float(wall) < best[0]:
            best = (float(wall), int(rss) / 1024)
    return best


def command() -> list[str]:
    """`muscle-deck` as users run it: the installed console script, else `python -m builder`."""
    script = Path(sys.executable).parent / "muscle-deck"
    return [str(script)] if script.exists() else [sys.executable, "-m", "builder"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="synthetic deck sizes (muscles)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best is kept)")
    args = parser.parse_args()
    cli = command()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cold = {"MUSCLE_DECK_CACHE": "off"}
        warm = {"MUSCLE_DECK_CACHE": str(folder / "cache")}
        decks_list = [("real deck", ROOT / "decks")]
        decks_list += [(f"{int(s):,} muscles", synthetic(int(s), folder)) for s in args.sizes.split(",") if s]
        for label, decks in decks_list:
            notes = notes_json(decks, folder / "notes.json")
            build = cli + ["build", "--decks", str(decks), "-o", str(folder / "a.apkg")]
            base = timed([sys.executable, str(ROOT / "benchmarks/baseline.py"), str(folder / "notes.json"),
                          str(folder / "b.apkg")], args.repeat)
            first = timed(build, args.repeat, cold)
            empty = min(timed(build, 1, {"MUSCLE_DECK_CACHE": str(folder / f"empty-{label}-{i}")})
                        for i in range(args.repeat))
            timed(build, 1, warm)  # fills the cache
            again = timed(build, args.repeat, warm)
            rows.append((label, notes, base, first, empty, again))
        help_ = timed(cli + ["--help"], max(args.repeat, 10))
        click_only = timed([sys.executable, "-c", "import click"], max(args.repeat, 10))
        start = resource.getrusage(resource.RUSAGE_CHILDREN)
        validate = timed(cli + ["validate"], args.repeat)
        end = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"{'deck':<16}{'notes':>8}{'genanki':>9}{'MB':>5} |{'cold':>7}{'ratio':>6}{'MB':>5} |{'first':>7}"
          f"{'ratio':>6}{'MB':>5} |{'cached':>7}{'ratio':>6}{'MB':>5}")
    for label, notes, base, *builds in rows:
        print(f"{label:<16}{notes:>8,}{base[0]:>8.2f}s{base[1]:>5.0f} |"
              + " |".join(f"{b[0]:>6.2f}s{b[0] / base[0]:>6.2f}{b[1]:>5.0f}" for b in builds))
    if len(rows) >= 3:
        small, large = rows[-2], rows[-1]
        size = large[1] / small[1]
        print(f"scaling {small[0]} → {large[0]} ({size:.1f}× the notes): cold {large[3][0] / small[3][0]:.2f}×, "
              f"first {large[4][0] / small[4][0]:.2f}×, cached {large[5][0] / small[5][0]:.2f}×, "
              f"genanki {large[2][0] / small[2][0]:.2f}× the time")
    print(f"muscle-deck --help: {help_[0]:.3f} s; import click alone: {click_only[0]:.3f} s; "
          f"ratio {help_[0] / click_only[0]:.2f}")
    cpu = (end.ru_utime - start.ru_utime + end.ru_stime - start.ru_stime) / args.repeat
    print(f"muscle-deck validate (real deck): {validate[0]:.3f} s wall, {cpu:.3f} s process time (mean)")


if __name__ == "__main__":
    main()
