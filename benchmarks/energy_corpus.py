"""Does sonic_energy order real music sensibly? The development corpus, listed.

    python benchmarks/energy_corpus.py DIR

DIR: the development corpus (tools/dev_corpus.py): one folder per soundtrack. Each track's
energy is computed exactly as ``beet embed`` does (the middle 30 s, dj.estimate.analyse).
Printed: the 5 highest and 5 lowest tracks with their soundtrack, each soundtrack's
median, and -- where the offline vibe analyzer can assess a track from its tags -- the
correlation of sonic_energy with vibe_energy (the corpus' files carry few tags: the count
says how many pairs there are).
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from beetsplug.sonic.audio import load_segments  # noqa: E402
from beetsplug.sonic.dj import estimate  # noqa: E402
from beetsplug.sonic.errors import ItemError  # noqa: E402
from beetsplug.sonic.vibe import local  # noqa: E402
from beetsplug.sonic.vibe.vocabulary import Vocabulary  # noqa: E402

SR = 22050


class Tags(dict):
    def get(self, key, default=None):
        return super().get(key, default)


def tags_of(path: str) -> Tags:
    from mediafile import MediaFile

    m = MediaFile(path)
    return Tags(genres=[m.genre] if m.genre else [], style=None, comments=m.comments,
                title=m.title or "", bpm=m.bpm, year=m.year)


def main() -> None:
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/sonic-corpus/corpus")
    rows = []
    for label in sorted(os.listdir(folder)):
        sub = os.path.join(folder, label)
        if not os.path.isdir(sub):
            continue
        for name in sorted(os.listdir(sub)):
            path = os.path.join(sub, name)
            try:
                y = load_segments(path, sr=SR, length=30.0, positions=(0.5,))[0]
            except ItemError:
                continue
            a = estimate.analyse(y, SR)
            try:
                vibe = local.assess(tags_of(path), Vocabulary()).energy
            except ItemError:
                vibe = None
            rows.append((a.energy, label, name, a.bpm, vibe))
    rows.sort()
    print(f"{len(rows)} tracks of {len({r[1] for r in rows})} soundtracks\n")
    print("| | energy | BPM | soundtrack | track |\n| --- | ---: | ---: | --- | --- |")
    for tag, part in (("highest", rows[::-1][:5]), ("lowest", rows[:5])):
        for e, label, name, bpm, _ in part:
            print(f"| {tag} | {e:.1f} | {bpm or '-'} | {label} | {name} |")
    print("\n| soundtrack | tracks | median energy | range |\n| --- | ---: | ---: | --- |")
    for label in sorted({r[1] for r in rows}, key=lambda lab: np.median([r[0] for r in rows if r[1] == lab])):
        e = [r[0] for r in rows if r[1] == label]
        print(f"| {label} | {len(e)} | {np.median(e):.1f} | {min(e):.1f}–{max(e):.1f} |")
    pairs = [(r[0], r[4]) for r in rows if r[4] is not None]
    if len(pairs) >= 3:
        a, b = np.array(pairs).T
        print(f"\nvibe_energy (offline, from tags) for {len(pairs)} tracks: Pearson r = "
              f"{np.corrcoef(a, b)[0, 1]:.2f}")
    else:
        print(f"\nvibe_energy: only {len(pairs)} of {len(rows)} tracks have tags the offline vibe "
              "analyzer can assess (genre, style, comments or bpm): no correlation to report")


if __name__ == "__main__":
    main()
