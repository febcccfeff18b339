"""Tempo and key: accuracy and speed on real compositions, ours vs the DSP anchors, one run.

    python benchmarks/tempo_key.py [--truth DIR] [--generated] [--dev-corpus]

1. The real-music truth set (``tools/truth_corpus.py``: compositions whose own source
   file states tempo and key, rendered to audio): every analyzer gets exactly the seconds
   the plugin analyses: the middle 90 s of the music for tempo, its middle 30 s for key (our key's
   confidence also asks the rest of the 90 s) and, in three more Essentia rows, the middle
   30 s followed by the last 6 s of the music, whose final sound our key may read too. Tempo Acc1 (within 4 %), Acc2 (also at x2 x1/2
   x3 x1/3), error classes, precision of the hits; key exact (either key of a signature),
   exact-or-relative, MIREX weighted score, the relation table; accuracy by confidence
   bin; seconds per track on one core (decode excluded).
2. ``--generated``: the generated truth set (``synth.truth_spec``, 96 tracks): proves
   rules, not taste; a second, separate table.
3. ``--dev-corpus``: agreement with Essentia on the development corpus (no truth there).

Anchors run in a throwaway environment named by SONIC_ESSENTIA_PYTHON (a python with
``pip install essentia librosa``): Essentia's RhythmExtractor2013 (multifeature) and
KeyExtractor with the edma, bgate and temperley profiles, and librosa's beat_track.
Essentia is AGPL: never a dependency of the plugin. Without it, our side prints alone.
"""

from __future__ import annotations

import argparse
import csv
import glob
import hashlib
import inspect
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core: no BLAS threads spinning
import numpy as np  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
CACHE = os.path.join(ROOT, "benchmarks", ".cache")

from beetsplug.sonic import audio, synth  # noqa: E402
from beetsplug.sonic.dj import ending, estimate, keys, run  # noqa: E402

SR = 22050
PROFILES = ("edma", "bgate", "temperley")
ANCHOR_CHILD = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np
PROFILES = sys.argv[1].split(",")
out = []
try:
    import essentia
    essentia.log.warningActive = False
    import essentia.standard as es
    rhythm = es.RhythmExtractor2013(method="multifeature")
    keyx = {p: es.KeyExtractor(profileType=p) for p in PROFILES}
except ImportError:
    es = None
try:
    import librosa
except ImportError:
    librosa = None
for pair in sys.argv[2:]:
    path, middle, *end = pair.split("|")
    row = {}
    if es is not None:
        audio = es.MonoLoader(filename=path, sampleRate=44100)()
        centre = es.MonoLoader(filename=middle, sampleRate=44100)()
        t = time.process_time()
        bpm, _, conf, _, _ = rhythm(audio)
        row["ess_bpm"], row["ess_bpm_conf"] = float(bpm), float(conf)
        row["ess_s"] = time.process_time() - t
        for p, kx in keyx.items():
            t = time.process_time()
            k, scale, strength = kx(centre)
            row["ess_key_" + p] = f"{k} {scale}"
            row["ess_key_s_" + p] = time.process_time() - t
            if end:
                k, scale, strength = kx(es.MonoLoader(filename=end[0], sampleRate=44100)())
                row["ess_key_end_" + p] = f"{k} {scale}"
    if librosa is not None:
        y, sr = librosa.load(path, sr=22050)
        t = time.process_time()
        tempo = librosa.beat.beat_track(y=y, sr=sr)[0]
        row["lib_bpm"] = float(np.atleast_1d(tempo)[0])
        row["lib_s"] = time.process_time() - t
    out.append(row)
print(json.dumps(out))
"""


# ---------------------------------------------------------------------------- scoring

TEMPO_CLASSES = (("x2", 2.0), ("x1/2", 0.5), ("x2/3", 2 / 3), ("x3/2", 1.5), ("x3", 3.0), ("x1/3", 1 / 3))


def tempo_class(est: float | None, truths: list[float], tol: float = 0.04) -> str:
    """``hit`` (within ``tol`` of any accepted truth), an error class, ``other`` or ``none``."""
    if not est:
        return "none"
    if any(abs(est / t - 1) <= tol for t in truths):
        return "hit"
    for name, r in TEMPO_CLASSES:
        if abs(est / (truths[0] * r) - 1) <= tol:
            return name
    return "other"


def acc2(cls: str) -> bool:
    return cls in ("hit", "x2", "x1/2", "x3", "x1/3")


def key_relation(truth: keys.Key, est: keys.Key | None) -> str:
    """MIREX classes: same, fifth above / below (same mode), relative, parallel, other."""
    if est is None:
        return "none"
    if est == truth:
        return "same"
    if est.minor == truth.minor and (est.tonic - truth.tonic) % 12 == 7:
        return "fifth above"
    if est.minor == truth.minor and (est.tonic - truth.tonic) % 12 == 5:
        return "fifth below"
    if est == truth.relative:
        return "relative"
    if est.tonic == truth.tonic:
        return "parallel"
    return "other"


MIREX = {"same": 1.0, "fifth above": 0.5, "fifth below": 0.5, "relative": 0.3, "parallel": 0.2}


def key_score(truths: list[keys.Key], est: keys.Key | None) -> tuple[str, float]:
    """The best relation over the accepted truths (both keys of a bare signature)."""
    rels = [key_relation(t, est) for t in truths]
    best = max(rels, key=lambda r: MIREX.get(r, 0.0))
    return best, MIREX.get(best, 0.0)


# ---------------------------------------------------------------------------- data

def load_truth(folder: str) -> list[dict]:
    path = os.path.join(folder, "truth.tsv")
    if not os.path.exists(path):
        return []
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            p = r["path"] if os.path.isabs(r["path"]) else os.path.join(folder, r["path"])
            bpms = [float(r["bpm"])] if r.get("bpm") else []
            if r.get("beat_bpm") and r["beat_bpm"] not in ("", r.get("bpm")):
                bpms.append(float(r["beat_bpm"]))
            ks = [keys.parse(k) for k in (r.get("key") or "").split("|") if k.strip()]
            rows.append({"path": p, "source": r.get("source", ""), "bpms": bpms,
                         "keys": [k for k in ks if k], "key_kind": r.get("key_kind", ""),
                         "meter": r.get("meter", "")})
    return [r for r in rows if os.path.exists(r["path"])]


def segments(paths: list[str]) -> list[np.ndarray]:
    """The spans the plugin analyses (:func:`.run.analysis_span`: the middle
    :data:`estimate.SPAN` seconds of the music), decoded once and cached."""
    h = hashlib.sha1("\n".join([f"music span {estimate.SPAN}"] + [f"{p}:{os.path.getmtime(p)}" for p in paths])
                     .encode()).hexdigest()[:12]
    cached = os.path.join(CACHE, f"segments-{h}.npz")
    if os.path.exists(cached):
        with np.load(cached) as z:
            return [z[f"a{i}"] for i in range(len(paths))]
    ys = [run.analysis_span(p) for p in paths]
    os.makedirs(CACHE, exist_ok=True)
    np.savez(cached, **{f"a{i}": y for i, y in enumerate(ys)})
    return ys


def endings(paths: list[str]) -> list[np.ndarray | None]:
    """The last :data:`.ending.SECONDS` of each track's music (:func:`.audio.load_ending`,
    as :func:`.run.analyse_file` reads them), decoded once and cached."""
    h = hashlib.sha1("\n".join([f"ending {ending.SECONDS} {audio.ENDING_SEARCH}"] +
                                [f"{p}:{os.path.getmtime(p)}" for p in paths]).encode()).hexdigest()[:12]
    cached = os.path.join(CACHE, f"endings-{h}.npz")
    if os.path.exists(cached):
        with np.load(cached) as z:
            return [z[f"a{i}"] if z[f"a{i}"].size else None for i in range(len(paths))]
    ys = [audio.load_ending(p, sr=SR, length=ending.SECONDS) for p in paths]
    os.makedirs(CACHE, exist_ok=True)
    np.savez(cached, **{f"a{i}": np.zeros(0, np.float32) if y is None else y for i, y in enumerate(ys)})
    return ys


def middle(y: np.ndarray) -> np.ndarray:
    """The middle window of a span: what key analysis (ours and the anchors') reads."""
    return estimate.middle(y, SR)


def ours(segs: list[np.ndarray], ends: list[np.ndarray | None], module=estimate,
         ) -> tuple[list[dict], float]:
    """Estimates and mean seconds per track (tempo, key, energy, the final sound; one core).
    A ``module`` from before the 90 s span reads the middle 30 s, one from before the final
    sound reads no ending, as they did."""
    res, spent = [], 0.0
    if not hasattr(module, "SPAN"):
        segs = [middle(y) for y in segs]
    reads_ending = "read_ending" in inspect.signature(module.analyse).parameters
    for y, e in zip(segs, ends):
        t = time.process_time()
        res.append((module.analyse(y, SR, read_ending=lambda e=e: e) if reads_ending else module.analyse(y, SR))
                   .to_json())
        spent += time.process_time() - t
    return res, spent / max(1, len(segs))


def previous(ref: str):
    """The ``dj`` package as it was at git ``ref`` (its own copy, imported beside today's),
    or None when git can't show it."""
    import importlib

    try:
        names = subprocess.run(["git", "-C", ROOT, "ls-tree", "--name-only", f"{ref}:beetsplug/sonic/dj"],
                               capture_output=True, text=True, check=True).stdout.split()
    except (subprocess.CalledProcessError, OSError):
        return None
    pkg = os.path.join(tempfile.mkdtemp(), "sonic_previous_dj")
    os.makedirs(pkg)
    for name in names:
        if name.endswith(".py"):
            src = subprocess.run(["git", "-C", ROOT, "show", f"{ref}:beetsplug/sonic/dj/{name}"],
                                 capture_output=True, text=True, check=True).stdout
            with open(os.path.join(pkg, name), "w") as f:
                f.write(src)
    sys.path.insert(0, os.path.dirname(pkg))
    return importlib.import_module("sonic_previous_dj.estimate")


def anchors(segs: list[np.ndarray], ends: list[np.ndarray | None] | None = None) -> list[dict] | None:
    py = os.environ.get("SONIC_ESSENTIA_PYTHON")
    if not py:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i, y in enumerate(segs):
            pair = []
            parts = [(f"{i}.wav", y), (f"{i}-middle.wav", middle(y))]
            if ends is not None:
                e = ends[i]
                parts.append((f"{i}-end.wav", middle(y) if e is None else np.concatenate([middle(y), e])))
            for name, z in parts:
                pair.append(os.path.join(tmp, name))
                # the same samples at 44.1 kHz (Essentia's default rate), linear interpolation
                t = np.arange(0, z.size * 2) / 2.0
                synth.write(pair[-1], np.interp(t, np.arange(z.size), z)[None, :].astype(np.float32), sr=44100)
            files.append("|".join(pair))
        env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        out = subprocess.run(["taskset", "-c", "0", py, "-c", ANCHOR_CHILD, ",".join(PROFILES), *files], env=env,
                             capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- report

def pct(n: int, d: int) -> str:
    return f"{n / d:.0%} ({n})" if d else "-"


def tempo_table(truth: list[dict], readings: dict[str, list[float | None]]) -> dict[str, list[str]]:
    print("| tempo | Acc1 (4 %) | Acc2 (x2 x1/2 x3 x1/3) | x2 | x1/2 | x2/3 | x3/2 | other | "
          "median error of hits |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    classes = {}
    for name, bpms in readings.items():
        cls = [tempo_class(b, t["bpms"]) for b, t in zip(bpms, truth)]
        classes[name] = cls
        c = Counter(cls)
        errs = [min(abs(b / x - 1) for x in t["bpms"]) for b, t, k in zip(bpms, truth, cls) if k == "hit"]
        n = len(truth)
        print(f"| {name} | {pct(c['hit'], n)} | {pct(sum(map(acc2, cls)), n)} | {c['x2']} | {c['x1/2']} | "
              f"{c['x2/3']} | {c['x3/2']} | {c['other'] + c['x3'] + c['x1/3'] + c['none']} | "
              f"{np.median(errs) * 100 if errs else float('nan'):.2f} % |")
    return classes


def key_table(truth: list[dict], readings: dict[str, list[str | None]]) -> None:
    rows = [i for i, t in enumerate(truth) if t["keys"]]
    stated = [i for i in rows if truth[i]["key_kind"] == "stated"]
    print(f"\n{len(rows)} tracks with a key ({len(stated)} with the mode stated; the others count "
          "either key of their signature)\n")
    print("| key | exact | exact or relative | MIREX (all) | MIREX (mode stated) | fifth above | "
          "fifth below | relative | parallel | other |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | "
          "---: | ---: | ---: |")
    for name, ks in readings.items():
        rel, score = zip(*[key_score(truth[i]["keys"], keys.parse(ks[i] or "")) for i in rows])
        c = Counter(rel)
        sst = [key_score(truth[i]["keys"], keys.parse(ks[i] or ""))[1] for i in stated]
        n = len(rows)
        print(f"| {name} | {pct(c['same'], n)} | {pct(c['same'] + c['relative'], n)} | "
              f"{np.mean(score):.3f} | {np.mean(sst) if sst else float('nan'):.3f} | {c['fifth above']} | "
              f"{c['fifth below']} | {c['relative']} | {c['parallel']} | {c['other'] + c['none']} |")


def confidence_table(label: str, right: list[bool], conf: list[float]) -> None:
    right, conf = np.asarray(right), np.asarray(conf, float)
    edges = (0.0, 0.2, 0.4, 0.6, 0.8, 1.01)
    print(f"\n| {label} confidence | tracks | right |\n| --- | ---: | ---: |")
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf >= lo) & (conf < hi)
        print(f"| {lo:.1f}-{min(hi, 1.0):.1f} | {m.sum()} | {pct(int(right[m].sum()), int(m.sum()))} |")
    m = conf >= 0.8
    print(f"| **>= 0.8** | {m.sum()} ({m.mean():.0%} of the set) | {pct(int(right[m].sum()), int(m.sum()))} |")


def real_music(folder: str, ref: str | None) -> None:
    truth = load_truth(folder)
    if not truth:
        print(f"(no truth set in {folder}: tools/truth_corpus.py builds it)")
        return
    segs = segments([t["path"] for t in truth])
    ends = endings([t["path"] for t in truth])
    mine, spent = ours(segs, ends)
    old = previous(ref) if ref else None
    before = ours(segs, ends, old)[0] if old else None
    anc = anchors(segs, ends)
    n_key = sum(bool(t["keys"]) for t in truth)
    n_tempo = sum(bool(t["bpms"]) for t in truth)
    print(f"## 1. real compositions: {n_tempo} tracks with a stated tempo, {n_key} with a key "
          f"({len({t['source'] for t in truth})} sources); tempo from the middle {estimate.SPAN:g} s of the music, "
          f"key from its middle {estimate.WINDOW:g} s and the sound it ends on\n")
    tempos = {"beets-sonic": [r["bpm"] for r in mine]}
    key_readings = {"beets-sonic": [r["key"] for r in mine]}
    if before:
        tempos[f"beets-sonic at {ref}"] = [r["bpm"] for r in before]
        key_readings[f"beets-sonic at {ref}"] = [r["key"] for r in before]
    if anc:
        if "ess_bpm" in anc[0]:
            tempos["Essentia multifeature"] = [a["ess_bpm"] for a in anc]
            for p in PROFILES:
                key_readings[f"Essentia {p}"] = [a[f"ess_key_{p}"] for a in anc]
            for p in PROFILES:
                key_readings[f"Essentia {p}, middle + last {ending.SECONDS:g} s"] = [a[f"ess_key_end_{p}"]
                                                                                    for a in anc]
        if "lib_bpm" in anc[0]:
            tempos["librosa beat_track"] = [a["lib_bpm"] for a in anc]
    tt = [i for i, t in enumerate(truth) if t["bpms"]]
    classes = tempo_table([truth[i] for i in tt], {k: [v[i] for i in tt] for k, v in tempos.items()})
    key_table(truth, key_readings)
    confidence_table("tempo", [c == "hit" for c in classes["beets-sonic"]], [mine[i]["bpm_conf"] for i in tt])
    if before:
        confidence_table(f"tempo (at {ref})", [c == "hit" for c in classes[f"beets-sonic at {ref}"]],
                         [before[i]["bpm_conf"] for i in tt])
    kr = [i for i, t in enumerate(truth) if t["keys"]]
    confidence_table("key", [key_score(truth[i]["keys"], keys.parse(mine[i]["key"] or ""))[0] == "same"
                             for i in kr], [mine[i]["key_conf"] for i in kr])
    print(f"\nseconds per track, one core, decode excluded: beets-sonic {spent:.3f} s (tempo, key, energy)",
          end="")
    if anc and "ess_s" in anc[0]:
        print(f"; Essentia {np.mean([a['ess_s'] + a['ess_key_s_edma'] for a in anc]):.3f} s (rhythm + one key)",
              end="")
    if anc and "lib_s" in anc[0]:
        print(f"; librosa {np.mean([a['lib_s'] for a in anc]):.3f} s (beat_track)", end="")
    print()
    by_source = {}
    for t, c in zip([truth[i] for i in tt], classes["beets-sonic"]):
        by_source.setdefault(t["source"], []).append(c == "hit")
    print("\nours, Acc1 by source: " + ", ".join(f"{s} {np.mean(v):.0%} of {len(v)}"
                                                  for s, v in sorted(by_source.items())))
    if os.environ.get("SONIC_TRUTH_MISSES"):
        print("\n| misses | truth | ours | conf |\n| --- | ---: | ---: | ---: |")
        for t, r, c in zip([truth[i] for i in tt], [mine[i] for i in tt], classes["beets-sonic"]):
            if c != "hit":
                print(f"| {os.path.basename(t['path'])} | {t['bpms']} | {r['bpm']} ({c}) | {r['bpm_conf']} |")


def truth_files(n: int) -> list[tuple[str, synth.TrackSpec]]:
    folder = os.path.join(CACHE, f"truth-{n}")
    done = os.path.join(folder, ".complete")
    if not os.path.exists(done):
        print(f"generating {n} truth tracks in {folder} ...", file=sys.stderr, flush=True)
        synth.truth_library(folder, n, seconds=40.0)
        open(done, "w").close()
    return [(os.path.join(folder, f"truth_{i + 1:03d}.mp3"), synth.truth_spec(i)) for i in range(n)]


def generated() -> None:
    n = 96
    pairs = truth_files(n)
    segs = segments([p for p, _ in pairs])
    mine, _ = ours(segs, endings([p for p, _ in pairs]))
    anc = anchors(segs)
    print(f"\n## 2. generated tracks of known truth ({n}: 4 styles x 24 keys, 70-180 BPM): rules, not taste\n")
    print("| analyzer | tempo within 2 % | octave-equivalent | key exact | exact, relative or fifth |\n"
          "| --- | ---: | ---: | ---: | ---: |")
    rows = [("beets-sonic", [r["bpm"] for r in mine], [r["key"] for r in mine])]
    if anc and "ess_bpm" in anc[0]:
        rows.append(("Essentia", [a["ess_bpm"] for a in anc], [a["ess_key_edma"] for a in anc]))
    for name, bpms, ks in rows:
        cls = [tempo_class(b, [s.bpm], 0.02) for b, (_, s) in zip(bpms, pairs)]
        rels = [key_relation(keys.parse(s.key), keys.parse(k or "")) for k, (_, s) in zip(ks, pairs)]
        near = sum(r in ("same", "relative", "fifth above", "fifth below") for r in rels)
        print(f"| {name} | {pct(cls.count('hit'), n)} | {pct(sum(c in ('hit', 'x2', 'x1/2') for c in cls), n)} | "
              f"{pct(rels.count('same'), n)} | {pct(near, n)} |")


def dev_corpus(folder: str) -> None:
    files = sorted(glob.glob(os.path.join(folder, "*", "*.ogg")))
    if not files:
        print("\n(no development corpus: tools/dev_corpus.py builds it)")
        return
    segs = segments(files)
    mine, _ = ours(segs, endings(files))
    anc = anchors(segs)
    if not anc or "ess_bpm" not in anc[0]:
        return
    m = len(files)
    t4 = sum(tempo_class(a["bpm"], [b["ess_bpm"]]) == "hit" for a, b in zip(mine, anc))
    rels = [key_relation(keys.parse(b["ess_key_edma"]), keys.parse(a["key"] or "")) for a, b in zip(mine, anc)]
    print(f"\n## 3. development corpus ({m} soundtrack tracks, no truth): agreement with Essentia\n")
    print(f"tempo within 4 %: {pct(t4, m)}; key (edma) exact: {pct(rels.count('same'), m)}, "
          f"exact or relative: {pct(rels.count('same') + rels.count('relative'), m)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--truth", default=os.path.expanduser("~/.cache/sonic-truth"))
    ap.add_argument("--generated", action="store_true", help="also the generated truth set")
    ap.add_argument("--previous", metavar="REF", default="b4aac4a",
                    help="also the analysis as it was at this git revision (default: the release "
                         "before the evidence-based tempo; '' for none)")
    ap.add_argument("--dev-corpus", nargs="?", const=os.path.expanduser("~/.cache/sonic-corpus/corpus"),
                    help="also agreement with Essentia on the development corpus")
    args = ap.parse_args()
    real_music(args.truth, args.previous or None)
    if args.generated:
        generated()
    if args.dev_corpus:
        dev_corpus(args.dev_corpus)


if __name__ == "__main__":
    main()
