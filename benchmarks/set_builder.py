"""`beet set`: seconds for a 12-track set from 5,000 and 50,000-track pools, beam search vs
the greedy baseline in the same run, with transition quality and curve error.

Synthetic pool: 188-dim unit vectors in 40 clusters, tempos 118-134 BPM, random keys,
energies 2-10, 800 artists.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from beetsplug.sonic import analysis, sets  # noqa: E402
from beetsplug.sonic.dj import keys  # noqa: E402
from beetsplug.sonic.dj.fields import Mixable  # noqa: E402


def pool(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, 188))
    X = analysis.normalize(centres[rng.integers(0, 40, n)] + 0.8 * rng.standard_normal((n, 188)))
    bpm = rng.uniform(118, 134, n)
    codes = [f"{rng.integers(1, 13)}{'AB'[rng.integers(0, 2)]}" for _ in range(n)]
    mix = [Mixable(i, float(bpm[i]), "tag", keys.parse(codes[i]), "tag") for i in range(n)]
    energy = rng.uniform(2, 10, n)
    artists = [f"artist{rng.integers(0, 800)}" for _ in range(n)]
    return X.astype(np.float32), mix, energy, artists


def quality(built: sets.Built, energy: np.ndarray) -> tuple[float, float]:
    t = [s.transition for s in built.steps[1:]]
    err = [abs(energy[s.row] - s.target) for s in built.steps]
    return float(np.mean(t)) if t else 0.0, float(np.mean(err))


def main() -> None:
    targets = sets.curve("journey", 12)
    rules = sets.Rules()
    print("| pool | method | seconds | complete | mean transition | mean curve error |")
    print("| ---: | --- | ---: | --- | ---: | ---: |")
    for n in (5000, 50000):
        X, mix, energy, artists = pool(n)
        start = int(np.argmin(np.abs(energy - targets[0])))
        for name, width in (("beam (beet set)", 24), ("greedy nearest-next", 1)):
            def fn(width=width, X=X, mix=mix, energy=energy, artists=artists, start=start):
                return sets.build_set(X, mix, energy, artists, n=12, targets=targets, rules=rules,
                                      start=[start], beam=width, fanout=12 if width > 1 else 1)

            t = time.perf_counter()
            built = fn()
            dt = time.perf_counter() - t
            tq, err = quality(built, energy)
            print(f"| {n} | {name} | {dt:.2f} | {built.complete} | {tq:.3f} | {err:.2f} |", flush=True)


if __name__ == "__main__":
    main()
