"""What auto-embedding costs `beet import` (real `beet import`, same files, same run).

Three ways to get the same library, each from a fresh library, interleaved and
repeated (``--rounds``), median wall time of the whole processes:

* ``auto: no``: beets alone;
* ``auto: yes``: the import embeds (its worker pool, ``workers: 0`` = one per core);
* ``auto: no`` + ``beet embed -w 2``: beets alone, then the catch-up run.

Tracks: the first ``--tracks`` of the real-music dev corpus (``tools/dev_corpus.py``,
Ogg Vorbis) when it is there, else generated tracks; backend ``--backend`` (musicnn).

    .venv/bin/python benchmarks/import_overhead.py [--tracks 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from _audio import tracks

CORPUS = os.path.expanduser("~/.cache/sonic-corpus/corpus")


def real_tracks(n: int) -> list[str]:
    found = []
    for root, _, files in sorted(os.walk(CORPUS, followlinks=True)):
        found += [os.path.join(root, f) for f in sorted(files) if f.endswith(".ogg")]
    return found[:n]


def run(home: str, *args: str) -> float:
    env = dict(os.environ, BEETSDIR=home)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "beets", *args], env=env, check=True, capture_output=True)
    return time.perf_counter() - t


def one(folder: str, way: str, backend: str) -> float:
    with tempfile.TemporaryDirectory() as home:
        with open(os.path.join(home, "config.yaml"), "w") as f:
            f.write(f"directory: {home}/music\nlibrary: {home}/l.db\nplugins: sonic\n"
                    "import: {copy: no, write: no, autotag: no, quiet: yes, singletons: yes, duplicate_action: keep}\n"
                    f"sonic: {{backend: {backend}, auto: {'yes' if way == 'auto: yes' else 'no'}}}\n")
        seconds = run(home, "import", folder)
        if way == "auto: no + embed -w 2":
            seconds += run(home, "embed", "-w", "2")
        return seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tracks", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--backend", default="musicnn")
    a = ap.parse_args()
    paths = real_tracks(a.tracks)
    what = f"{len(paths)} dev-corpus tracks (Ogg Vorbis)"
    if len(paths) < a.tracks:
        paths = tracks("quality", per_family=6, seconds=60, formats=("mp3", "flac", "ogg", "m4a", "wav"))
        what = f"{len(paths)} generated 60 s tracks (5 formats)"
    folder = tempfile.mkdtemp(prefix="sonic-import-")
    for p in paths:
        os.symlink(os.path.realpath(p), os.path.join(folder, os.path.basename(p)))
    ways = ("auto: no", "auto: yes", "auto: no + embed -w 2")
    times: dict[str, list[float]] = {w: [] for w in ways}
    for _ in range(a.rounds):
        for way in ways:
            times[way].append(one(folder, way, a.backend))
    n = len(paths)
    print(f"beet import of {what}, backend {a.backend}, median of {a.rounds} interleaved rounds:")
    for way in ways:
        m = statistics.median(times[way])
        print(f"  {way:<24} {m:6.1f} s  ({m / n * 1000:5.0f} ms/track)   runs: "
              + ", ".join(f"{t:.1f}" for t in times[way]))
    ratio = statistics.median(times["auto: yes"]) / statistics.median(times["auto: no + embed -w 2"])
    print(f"  auto: yes / (auto: no + embed -w 2) = {ratio:.2f}")


if __name__ == "__main__":
    main()
