"""Tempo and key: accuracy and speed, ours vs Essentia, side by side in one run.

    python benchmarks/tempo_key.py [CORPUS_DIR]

1. Generated tracks of known truth (synth.truth_spec: 4 rhythm styles, 70-180 BPM, all
   24 keys), written as MP3 and decoded by the plugin like any file: tempo within 2 %
   (and octave-equivalent), key exact / exact-or-relative-or-fifth.
2. Real music (the development corpus): agreement with Essentia's RhythmExtractor2013
   and KeyExtractor on the same 30 s midpoint segments (tempo within 4 %, with and
   without octave equivalence; key exact, exact-or-relative).
3. Seconds per track on one core for both, on the same decoded segments.

Essentia is AGPL: it is never a dependency of the plugin. It runs in a throwaway
environment named by SONIC_ESSENTIA_PYTHON (a python with ``pip install essentia``);
without it, our side is printed alone.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core: no BLAS threads spinning
import numpy as np  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
CACHE = os.path.join(ROOT, "benchmarks", ".cache")

from beetsplug.sonic import synth  # noqa: E402
from beetsplug.sonic.audio import load_segments  # noqa: E402
from beetsplug.sonic.dj import estimate, keys  # noqa: E402

SR = 22050
ESSENTIA_CHILD = r"""
import json, sys, time
import essentia.standard as es
out = []
rhythm = es.RhythmExtractor2013(method="multifeature")
key = es.KeyExtractor()
for path in sys.argv[1:]:
    audio = es.MonoLoader(filename=path, sampleRate=44100)()
    t = time.process_time()
    bpm = rhythm(audio)[0]
    k, scale, strength = key(audio)
    out.append({"bpm": float(bpm), "key": f"{k} {scale}", "s": time.process_time() - t})
print(json.dumps(out))
"""


def truth_files(n: int) -> list[tuple[str, synth.TrackSpec]]:
    folder = os.path.join(CACHE, f"truth-{n}")
    done = os.path.join(folder, ".complete")
    if not os.path.exists(done):
        print(f"generating {n} truth tracks in {folder} ...", file=sys.stderr, flush=True)
        synth.truth_library(folder, n, seconds=40.0)
        open(done, "w").close()
    return [(os.path.join(folder, f"truth_{i + 1:03d}.mp3"), synth.truth_spec(i)) for i in range(n)]


def ours(paths: list[str]) -> tuple[list[dict], list[np.ndarray], float, float]:
    """Estimates, the decoded 30 s midpoints, and mean seconds (decode, analysis) per track."""
    res, segs, dec, ana = [], [], 0.0, 0.0
    for p in paths:
        t = time.process_time()
        ys = load_segments(p, sr=SR, length=30.0, positions=(0.5,))
        dec += time.process_time() - t
        t = time.process_time()
        res.append(estimate.analyse(ys[0], SR).to_json())
        ana += time.process_time() - t
        segs.append(ys[0])
    return res, segs, dec / len(paths), ana / len(paths)


def theirs(segments: list[np.ndarray]) -> list[dict] | None:
    py = os.environ.get("SONIC_ESSENTIA_PYTHON")
    if not py:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, y in enumerate(segments):
            files.append(os.path.join(tmp, f"{i}.wav"))
            # the same samples at 44.1 kHz (Essentia's default rate), linear interpolation
            t = np.arange(0, y.size * 2) / 2.0
            synth.write(files[-1], np.interp(t, np.arange(y.size), y)[None, :].astype(np.float32), sr=44100)
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        out = subprocess.run(["taskset", "-c", "0", py, "-c", ESSENTIA_CHILD, *files], env=env,
                             capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def within(a: float | None, b: float | None, tol: float, octave: bool) -> bool:
    if not a or not b:
        return False
    ratios = (1.0, 2.0, 0.5) if octave else (1.0,)
    return any(abs(a / (b * r) - 1) <= tol for r in ratios)


def key_rel(a: str | None, b: str | None) -> str:
    ka, kb = keys.parse(a or ""), keys.parse(b or "")
    return keys.relation(ka, kb) if ka and kb else "none"


def main() -> None:
    n = 96
    pairs = truth_files(n)
    mine, segs, dec, ana = ours([p for p, _ in pairs])
    ess = theirs(segs)
    print(f"## 1. generated tracks of known truth ({n}: 4 styles x 24 keys, 70-180 BPM)\n")
    print("| analyzer | tempo within 2 % | octave-equivalent | octave errors | key exact | "
          "exact, relative or fifth |\n| --- | ---: | ---: | ---: | ---: | ---: |")
    rows = [("beets-sonic", mine)] + ([("Essentia", ess)] if ess else [])
    for name, res in rows:
        t2 = sum(within(r["bpm"], s.bpm, 0.02, False) for r, (_, s) in zip(res, pairs))
        t2o = sum(within(r["bpm"], s.bpm, 0.02, True) for r, (_, s) in zip(res, pairs))
        rels = [key_rel(s.key, r["key"]) for r, (_, s) in zip(res, pairs)]
        print(f"| {name} | {t2 / n:.0%} ({t2}) | {t2o / n:.0%} | {t2o - t2} | "
              f"{rels.count('same') / n:.0%} | "
              f"{sum(x in ('same', 'relative', '+1', '-1') for x in rels) / n:.0%} |", flush=True)
    by_style = {}
    for r, (_, s) in zip(mine, pairs):
        by_style.setdefault(s.family, []).append(within(r["bpm"], s.bpm, 0.02, False))
    print("\nours, tempo within 2 % by style: "
          + ", ".join(f"{k.split('-')[1]} {np.mean(v):.0%}" for k, v in by_style.items()))

    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/sonic-corpus/corpus")
    files = sorted(glob.glob(os.path.join(corpus, "*", "*.ogg")))
    if not files:
        print("\n(no development corpus: tools/dev_corpus.py builds it)")
        return
    mine, segs, dec, ana = ours(files)
    ess = theirs(segs)
    print(f"\n## 2. real music: {len(files)} dev-corpus tracks, 30 s midpoint\n")
    print(f"ours: decode {dec * 1e3:.0f} ms + tempo/key {ana * 1e3:.0f} ms per track (one core)")
    if ess is None:
        print("(set SONIC_ESSENTIA_PYTHON to compare with Essentia)")
        return
    m = len(files)
    t4 = sum(within(a["bpm"], b["bpm"], 0.04, False) for a, b in zip(mine, ess))
    t4o = sum(within(a["bpm"], b["bpm"], 0.04, True) for a, b in zip(mine, ess))
    rels = [key_rel(b["key"], a["key"]) for a, b in zip(mine, ess)]
    print(f"Essentia: RhythmExtractor2013 + KeyExtractor {np.mean([e['s'] for e in ess]) * 1e3:.0f} ms "
          "per track (one core, same segments)\n")
    print("| agreement with Essentia | rate |\n| --- | ---: |")
    print(f"| tempo within 4 % | {t4 / m:.0%} |")
    print(f"| tempo within 4 %, octave-equivalent | {t4o / m:.0%} |")
    print(f"| key exact | {rels.count('same') / m:.0%} |")
    print(f"| key exact or relative | {sum(x in ('same', 'relative') for x in rels) / m:.0%} |")
    print(f"| key exact, relative or fifth | {sum(x in ('same', 'relative', '+1', '-1') for x in rels) / m:.0%} |")


if __name__ == "__main__":
    main()
