"""Benchmark: muscle-deck builds against a bare-genanki baseline, as whole processes.

Usage: python benchmarks/run.py [--sizes 1000,10000] [--repeat 3]

For the real deck and synthetic decks (the real fact files copied under new ids), it times
`muscle-deck build` and a baseline process that writes the same notes with genanki alone (no
loading, validation or rendering), in the same run, and prints times, ratios and peak memory.
It also times `muscle-deck --help` against a process that only imports click, and
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from builder import lock  # noqa: E402
from builder.load import load  # noqa: E402
from builder.package import FIELDS, MODEL_ID, TOP_DECK_ID, note_type  # noqa: E402
from builder.render import render  # noqa: E402

CLI = [sys.executable, "-m", "builder"]


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


def timed(cmd: list[str], repeat: int) -> tuple[float, float, float]:
    """Best wall time, its CPU time, and the peak memory (MB) of a command, over `repeat` runs."""
    best = (float("inf"), 0.0, 0.0)
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        wait = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env={**os.environ})
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if wait.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed:\n{wait.stderr}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if wall < best[0]:
            best = (wall, cpu, after.ru_maxrss / 1024)
    return best


def peak_rss(cmd: list[str]) -> float:
    """Peak resident memory (MB) of one run of a command, measured by GNU time's -f %M when present."""
    script = ("import resource,subprocess,sys;subprocess.run(sys.argv[1:],check=True,capture_output=True);"
              "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", script, *cmd], cwd=ROOT, capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="synthetic deck sizes (muscles)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best is kept)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        decks_list = [("real deck", ROOT / "decks")]
        decks_list += [(f"{int(s):,} muscles", synthetic(int(s), folder)) for s in args.sizes.split(",") if s]
        for label, decks in decks_list:
            notes = notes_json(decks, folder / "notes.json")
            muscles = len(load(decks).muscles)
            build = timed(CLI + ["build", "--decks", str(decks), "-o", str(folder / "a.apkg")], args.repeat)
            base = timed([sys.executable, str(ROOT / "benchmarks/baseline.py"), str(folder / "notes.json"),
                          str(folder / "b.apkg")], args.repeat)
            mem = peak_rss(CLI + ["build", "--decks", str(decks), "-o", str(folder / "a.apkg")])
            rows.append((label, muscles, notes, build[0], base[0], build[0] / base[0], mem))
        help_ = timed(CLI + ["--help"], max(args.repeat, 5))
        click_only = timed([sys.executable, "-c", "import click"], max(args.repeat, 5))
        validate = timed(CLI + ["validate"], args.repeat)
    print(f"{'deck':<16}{'muscles':>9}{'notes':>9}{'build s':>10}{'genanki s':>11}{'ratio':>8}{'peak MB':>9}")
    for label, muscles, notes, b, g, ratio, mem in rows:
        print(f"{label:<16}{muscles:>9,}{notes:>9,}{b:>10.3f}{g:>11.3f}{ratio:>8.2f}{mem:>9.0f}")
    if len(rows) >= 3:
        small, large = rows[-2], rows[-1]
        print(f"scaling {small[0]} → {large[0]}: {large[3] / small[3]:.2f}× the time for "
              f"{large[1] / small[1]:.1f}× the muscles")
    print(f"muscle-deck --help: {help_[0]:.3f} s; import click alone: {click_only[0]:.3f} s; "
          f"ratio {help_[0] / click_only[0]:.2f}")
    print(f"muscle-deck validate (real deck): {validate[0]:.3f} s wall, {validate[1]:.3f} s CPU")


if __name__ == "__main__":
    main()
