"""Benchmark: muscle-deck builds against bare genanki, as whole processes.

Usage: python benchmarks/run.py [--sizes 325,650] [--repeat 5]

For the real deck and synthetic decks of the given numbers of muscles (the real fact files
copied under new ids), it times a cold `muscle-deck build` next to `benchmarks/baseline.py`, a
process that writes the very same notes with genanki alone into a package deflated as the
build's is (no loading, checking or rendering), and prints times, ratios, time per note and
peak memory. It also times `muscle-deck --help` against a process that only imports click,
and the process time of `muscle-deck validate` on the real deck. Run it from a regular install
(`pip install .`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from builder import lock  # noqa: E402
from builder.build import cards, notes  # noqa: E402
from builder.package import FIELDS, MODEL_ID, TOP_DECK_ID, note_type  # noqa: E402

TARGETS = {"real deck": 3.5, "synthetic": 4.5}


def synthetic(size: int, folder: Path) -> Path:
    """A decks folder of `size` muscles: the real ones, then copies under new ids and names,
    each copy's reverse card given a clue of its own so that every question fits one muscle."""
    decks = folder / f"decks-{size}"
    shutil.copytree(ROOT / "decks" / "registry", decks / "registry")
    files = sorted(p for p in (ROOT / "decks").rglob("*.yaml") if "registry" not in p.parts)
    made, copy = 0, 0
    while made < size:
        for path in files[: size - made]:
            rel = path.relative_to(ROOT / "decks")
            text = path.read_text(encoding="utf-8")
            if copy:
                data = yaml.safe_load(text)
                data["id"] = f"{data['id']}-copy-{copy}"
                data["name"] = f"{data['name']} (copy {copy})"
                if data.get("aliases"):  # a name or alias belongs to one muscle
                    data["aliases"] = [f"{alias} (copy {copy})" for alias in data["aliases"]]
                data.pop("confusable", None)
                if data.get("origin") and data.get("insertion"):
                    data["clue"] = f"is copy {copy} of {data['id']}"
                else:
                    for part in data.get("parts", []):
                        part["clue"] = f"is copy {copy} of the {part['name']} of {data['id']}"
                text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
                rel = rel.with_name(f"{data['id']}.yaml")
            (decks / rel).parent.mkdir(parents=True, exist_ok=True)
            (decks / rel).write_text(text, encoding="utf-8")
            made += 1
        copy += 1
    return decks


def notes_json(decks: Path, out: Path) -> int:
    """The notes a full build writes, rendered, for the baseline to package."""
    chosen = cards(decks, ROOT / "templates")
    fields = notes(chosen.every, ROOT / "templates")
    templates, css = note_type(ROOT / "templates")
    out.write_text(json.dumps({
        "model_id": MODEL_ID, "deck_id": TOP_DECK_ID, "fields": FIELDS, "templates": templates, "css": css,
        "notes": [{"fields": list(f), "tags": list(c.tags), "guid": lock.guid(c.key)}
                  for c, f in zip(chosen.every, fields, strict=True)],
    }), encoding="utf-8")
    return len(chosen.every)


def timed(cmd: list[str], repeat: int) -> tuple[float, float, float]:
    """Best wall time of a command over `repeat` runs, with that run's process time (user +
    system) and peak memory in MB."""
    script = ("import resource,subprocess,sys,time;t=time.perf_counter();"
              "r=subprocess.run(sys.argv[1:],capture_output=True,text=True);w=time.perf_counter()-t;"
              "u=resource.getrusage(resource.RUSAGE_CHILDREN);sys.stderr.write(r.stderr);"
              "print(r.returncode,w,u.ru_utime+u.ru_stime,u.ru_maxrss)")
    best = (float("inf"), 0.0, 0.0)
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", script, *cmd], cwd=ROOT, capture_output=True, text=True)
        code, wall, cpu, rss = done.stdout.split()
        if code != "0":
            raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
        if float(wall) < best[0]:
            best = (float(wall), float(cpu), int(rss) / 1024)
    return best


def command() -> list[str]:
    """`muscle-deck` as users run it: the installed console script, else `python -m builder`."""
    script = Path(sys.executable).parent / ("muscle-deck.exe" if os.name == "nt" else "muscle-deck")
    return [str(script)] if script.exists() else [sys.executable, "-m", "builder"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="325,650", help="synthetic deck sizes, in muscles")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (the best is kept)")
    args = parser.parse_args()
    cli = command()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        decks = [("real deck", ROOT / "decks")]
        decks += [(f"{int(s):,} muscles", synthetic(int(s), folder)) for s in args.sizes.split(",") if s]
        for label, path in decks:
            notes = notes_json(path, folder / "notes.json")
            base = timed([sys.executable, str(ROOT / "benchmarks" / "baseline.py"), str(folder / "notes.json"),
                          str(folder / "baseline.apkg")], args.repeat)
            ours = timed([*cli, "build", "--decks", str(path), "-o", str(folder / "build.apkg")], args.repeat)
            rows.append((label, notes, base, ours))
        help_ = timed([*cli, "--help"], max(args.repeat, 10))
        click_only = timed([sys.executable, "-c", "import click"], max(args.repeat, 10))
        validate = timed([*cli, "validate"], args.repeat)
    print(f"{'deck':<16}{'notes':>7}  {'genanki':>8}{'MB':>5}  {'build':>7}{'MB':>5}  {'ratio':>5}  {'µs/note':>8}")
    for label, notes, base, ours in rows:
        print(f"{label:<16}{notes:>7,}  {base[0]:>7.2f}s{base[2]:>5.0f}  {ours[0]:>6.2f}s{ours[2]:>5.0f}  "
              f"{ours[0] / base[0]:>5.2f}  {ours[0] / notes * 1e6:>8.0f}")
    print(f"muscle-deck --help: {help_[0]:.3f} s; a process that imports click: {click_only[0]:.3f} s; "
          f"ratio {help_[0] / click_only[0]:.2f}")
    print(f"muscle-deck validate (real deck): {validate[0]:.3f} s wall, {validate[1]:.3f} s process time")
    failed = [f"{label}: {ours[0] / base[0]:.2f}× bare genanki"
              for label, _, base, ours in rows
              if ours[0] / base[0] > TARGETS["real deck" if label == "real deck" else "synthetic"]]
    failed += [f"{label}: {ours[2]:.0f} MB" for label, _, _, ours in rows if ours[2] >= 300]
    if help_[0] / click_only[0] > 1.3:
        failed.append(f"--help: {help_[0] / click_only[0]:.2f}× importing click")
    if validate[1] >= 0.3:
        failed.append(f"validate: {validate[1]:.2f} s of process time")
    print("targets: " + ("all met" if not failed else "missed: " + "; ".join(failed)))


if __name__ == "__main__":
    main()
