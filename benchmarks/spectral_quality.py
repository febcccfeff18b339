"""Family separation on generated audio: the seed's mean-of-28, spectral, and musicnn layers.

Prints, for each approach, how many tracks have only their own family among
their 3 nearest neighbours, and the cosine of the most and least similar pairs.
"""

from __future__ import annotations

import os

import numpy as np
from _audio import tracks
from seed_approach import seed_features

from beetsplug.sonic import analysis
from beetsplug.sonic.backends import get_backend
from beetsplug.sonic.backends.spectral import group_weights


def report(name: str, V: np.ndarray, families: list[str]) -> None:
    idx, _ = analysis.knn(V, k=3)
    ok = sum({families[j] for j in row} == {families[i]} for i, row in enumerate(idx))
    S = analysis.similarity_matrix(V)
    off = S[~np.eye(len(V), dtype=bool)]
    same = np.equal.outer(families, families) & ~np.eye(len(V), dtype=bool)
    print(f"{name:<34} {ok:>3}/{len(V)} | max {off.max():6.3f} | min {off.min():6.3f} | "
          f"spread {off.max() - off.min():5.3f} | same-family mean {S[same].mean():6.3f} | "
          f"other-family mean {S[~np.equal.outer(families, families)].mean():6.3f}")


def main() -> None:
    paths = tracks("quality", per_family=6, seconds=60, formats=("mp3", "flac", "ogg", "m4a", "wav"))
    families = [os.path.basename(p).split("_")[0] for p in paths]
    print(f"{len(paths)} tracks, {len(set(families))} families; nearest-3 all own family | cosine")
    seed = np.stack([seed_features(p) for p in paths])
    report("seed: mean of 28 features", analysis.normalize(seed), families)
    for positions in ((0.5,), (0.25, 0.5, 0.75)):
        backend = get_backend("spectral", segment=30, positions=positions)
        R = np.stack([backend.embed(p).vector for p in paths])
        mean, scale = analysis.fit_standardizer(R)
        tag = "mid" if len(positions) == 1 else "25/50/75"
        report(f"spectral {tag}, raw", analysis.normalize(R), families)
        report(f"spectral {tag}, standardised", analysis.standardize(R, mean=mean, scale=scale), families)
        report(f"spectral {tag}, std + group weights",
               analysis.standardize(R, mean=mean, scale=scale, weights=group_weights()), families)
    from beetsplug.sonic.musicnn.checkpoint import find_weights

    if find_weights() is None:
        print("(musicnn weights not installed: pip install --no-deps musicnn==0.1.0)")
        return
    from beetsplug.sonic.audio import load_segments
    from beetsplug.sonic.musicnn.model import MusiCNN, log_mel, patches

    net = MusiCNN.load()
    layers = {"penultimate mean (shipped)": [], "mid-end mean+max pools": [], "tag probabilities": []}
    for p in paths:
        (y,) = load_segments(p, sr=16000, length=30, positions=(0.5,))
        o = net.forward(patches(log_mel(y)))
        layers["penultimate mean (shipped)"].append(o["penultimate"].mean(0))
        layers["mid-end mean+max pools"].append(np.concatenate([o["mean_pool"].mean(0), o["max_pool"].mean(0)]))
        layers["tag probabilities"].append(o["taggram"].mean(0))
    for name, rows in layers.items():
        R = np.stack(rows)
        mean, scale = analysis.fit_standardizer(R)
        report(f"musicnn {name}, raw", analysis.normalize(R), families)
        report(f"musicnn {name}, std", analysis.standardize(R, mean=mean, scale=scale), families)


if __name__ == "__main__":
    main()
