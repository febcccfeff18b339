"""Which rule tells an intruder from a member? Measured on real music.

    python benchmarks/cohesion_outliers.py DIR [--cache DIR] [--sets N]

DIR: the development corpus (tools/dev_corpus.py). Vectors: the shipped musicnn recipe
(benchmarks/quality.py's cache). Sets of 8 tracks are drawn from one label; half get one
member swapped for a track of another label (the planted intruder). Per rule: how often
the intruder is flagged (recall), how often a true member is flagged, and how often a
set without an intruder shows any flag. Rules:

- ``min-max worst``: the first version -- the worst-fitting track always looks worst;
- ``loo top>T%``: leave-one-out standing against the library (analysis.loo_standing):
  flagged when at least T% of library tracks are as close to the rest of the set;
- ``... & >Kx others' median``: and K times as many as for the set's typical member;
- ``... & fit gap>Zx spread``: and its cosine to the rest below the typical member's by Z
  standard deviations of the library's cosines to it (shipped: all three).

``--tight`` draws the sets a DJ would build (a seed and its nearest tracks of the same
label); the default draws random tracks of one label, however loose the label is.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))
sys.path.insert(0, os.path.dirname(__file__))

from quality import shipped  # noqa: E402
from quality_features import load_all  # noqa: E402

from beetsplug.sonic import analysis, cohesion  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/sonic-quality"))
    ap.add_argument("--sets", type=int, default=400)
    ap.add_argument("--size", type=int, default=8)
    ap.add_argument("--tight", action="store_true",
                    help="sets a DJ would build: a seed and its nearest tracks of the same label "
                         "(default: random tracks of one label, however loose)")
    args = ap.parse_args()
    tracks, feats = load_all(args.folder, args.cache)
    labels = np.array([t.label for t in tracks])
    X = analysis.normalize(shipped().build(feats))
    rng = np.random.default_rng(0)
    big = [lab for lab in np.unique(labels) if (labels == lab).sum() >= args.size + 2]
    thresholds = (50, 30)
    ratios = ((50, 2), (30, 3), (25, 4), (20, 5))
    gaps = ((25, 0.5), (25, 1.0), (20, 0.75), (15, 1.0))
    rules = (["min-max worst"] + [f"loo top>{t}%" for t in thresholds]
             + [f"loo top>{t}% & >{k}x others' median" for t, k in ratios]
             + [f"loo top>{t}% & fit gap>{z}x spread" for t, z in gaps]
             + ["loo top>25% & >4x others' median & fit gap>0.5x spread"])
    hit = dict.fromkeys(rules, 0)
    false_member = dict.fromkeys(rules, 0)
    clean_any = dict.fromkeys(rules, 0)
    members = planted = clean = 0
    for s in range(args.sets):
        lab = big[rng.integers(len(big))]
        pool = np.flatnonzero(labels == lab)
        if args.tight:
            seed = rng.choice(pool)
            rows = pool[np.argsort(-(X[pool] @ X[seed]), kind="stable")[:args.size]]
            rng.shuffle(rows)
        else:
            rows = rng.choice(pool, args.size, replace=False)
        intruder = None
        if s % 2:
            intruder = int(rng.choice(np.flatnonzero(labels != lab)))
            rows[0] = intruder
        ref = np.setdiff1d(np.arange(len(X)), rows)
        fit, top, spread = analysis.loo_standing(X[rows], X[ref])
        fit_all = analysis.fit(X[rows])
        flags = {"min-max worst": fit_all == fit_all.min()}
        for t in thresholds:
            flags[f"loo top>{t}%"] = top > t
        others = np.array([np.median(np.delete(top, i)) for i in range(len(top))])
        for t, k in ratios:
            flags[f"loo top>{t}% & >{k}x others' median"] = (top > t) & (top > k * others)
        gap = np.array([np.median(np.delete(fit, i)) for i in range(len(fit))]) - fit
        for t, z in gaps:
            flags[f"loo top>{t}% & fit gap>{z}x spread"] = (top > t) & (gap > z * spread)
        flags["loo top>25% & >4x others' median & fit gap>0.5x spread"] = cohesion.outliers(fit, top, spread)
        for r in rules:
            f = flags[r]
            if intruder is None:
                clean_any[r] += bool(f.any())
            else:
                hit[r] += bool(f[0])
                false_member[r] += int(f[1:].sum())
        if intruder is None:
            clean += 1
        else:
            planted += 1
            members += args.size - 1
    print(f"{len(X)} tracks, {len(big)} labels with >= {args.size + 2} tracks; {args.sets} "
          f"{'tight' if args.tight else 'random'} sets of {args.size} ({planted} with a planted intruder)")
    print("\n| rule | intruder flagged | members flagged | clean sets with a flag |")
    print("| --- | ---: | ---: | ---: |")
    for r in rules:
        shipped_rule = " (SHIPPED: cohesion.outliers)" if r.count("&") == 2 else ""
        print(f"| {r}{shipped_rule} | {100 * hit[r] / planted:.1f}% | {100 * false_member[r] / members:.1f}% | "
              f"{100 * clean_any[r] / clean:.1f}% |")


if __name__ == "__main__":
    main()
