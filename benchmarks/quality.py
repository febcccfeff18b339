"""Does the backend separate my crates? Real-music quality of embedding recipes.

    python benchmarks/quality.py DIR [--cache DIR] [--only NAME,...] [--workers N]

DIR holds one sub-folder per label: the development corpus (tools/dev_corpus.py) or your
own ``genre/`` folders. Every track is decoded and run through the plugin's own audio
code and musicnn network once (benchmarks/quality_features.py caches every layer per
3 s patch); each recipe below is then computed from the cache. Printed per recipe:
leave-one-out precision@5 and MAP by label, separation, hubness (skewness of the
10-occurrence), s/track on one core (decode included), and per-label P@5; then the
ceiling P@5 the label sizes allow, chance by shuffled labels, and a bootstrap 95%
interval (over queries) of each recipe's P@5 gain over the first version's default.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from quality_features import load_all  # noqa: E402

from beetsplug.sonic import recipe as R  # noqa: E402

# --- metrics ------------------------------------------------------------------------------


def similarity(V: np.ndarray) -> np.ndarray:
    V = V / np.maximum(np.linalg.norm(V, axis=1, keepdims=True), 1e-12)
    S = V @ V.T
    np.fill_diagonal(S, -np.inf)
    return S


def precision_at(S: np.ndarray, labels: np.ndarray, k: int = 5) -> np.ndarray:
    """``(n,)`` per-query share of the top k that carry the query's label."""
    top = np.argsort(-S, axis=1, kind="stable")[:, :k]
    return (labels[top] == labels[:, None]).mean(axis=1)


def average_precision(S: np.ndarray, labels: np.ndarray) -> np.ndarray:
    order = np.argsort(-S, axis=1, kind="stable")[:, :-1]  # the diagonal (-inf) is last
    rel = labels[order] == labels[:, None]
    hits = np.cumsum(rel, axis=1)
    prec = hits / np.arange(1, rel.shape[1] + 1)
    return (prec * rel).sum(axis=1) / np.maximum(rel.sum(axis=1), 1)


def separation(S: np.ndarray, labels: np.ndarray) -> float:
    off = ~np.eye(len(labels), dtype=bool)
    same = (labels[:, None] == labels[None, :]) & off
    diff = labels[:, None] != labels[None, :]
    return float((S[same].mean() - S[diff].mean()) / S[off].std())


def hubness(S: np.ndarray, k: int = 10) -> float:
    top = np.argsort(-S, axis=1, kind="stable")[:, :k]
    occ = np.bincount(top.ravel(), minlength=len(S)).astype(float)
    return float(((occ - occ.mean()) ** 3).mean() / occ.std() ** 3)


def bootstrap(diff: np.ndarray, *, reps: int = 2000, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, (reps, diff.size))].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


# --- recipes ------------------------------------------------------------------------------


@dataclass
class Recipe:
    name: str
    build: Callable[[list[dict]], np.ndarray]   # features -> (n, d) track vectors
    cost: Callable[[dict], float]               # one track's features -> core-seconds
    query: str = "cosine"                       # or "csls"


def _patches(f: dict, plan: str, model: str, layer: str) -> np.ndarray:
    if plan.startswith("spread") and plan != "spread33":
        step = {"spread17": 2, "spread9": 4}[plan]
        return f[f"spread33/{model}/{layer}"][::step]
    return f[f"{plan}/{model}/{layer}"]


def _plan_cost(f: dict, plan: str, models: tuple[str, ...]) -> float:
    base = "spread33" if plan.startswith("spread") else plan
    share = {"spread17": 17 / 33, "spread9": 9 / 33}.get(plan, 1.0)
    return share * (float(f[f"{base}/decode_s"]) + float(f[f"{base}/mel_s"])
                    + sum(float(f[f"{base}/{m}/forward_s"]) for m in models))


MSD, MTT = "MSD_musicnn", "MTT_musicnn"


def pooled(plan: str, models: tuple[str, ...], layer: str, pool: str, norm: str, *,
           spectral: float = 0.0, query: str = "cosine", name: str = "") -> Recipe:
    def build(feats):
        blocks = []
        for m in models:
            P = [_patches(f, plan, m, layer) for f in feats]
            blocks.append(R.pool(P, how=pool))
        return _with_spectral(R.normalise(np.concatenate(blocks, axis=1), how=norm), feats, spectral)

    label = name or f"{plan} {'+'.join(m[:3] for m in models)} {layer} {pool} {norm}" + _suffix(spectral, query)
    return Recipe(label, build, _cost(plan, models, spectral), query)


def _with_spectral(V: np.ndarray, feats: list[dict], weight: float) -> np.ndarray:
    if not weight:
        return V
    Sp = np.stack([f["spectral_mid30"] for f in feats])
    return R.fuse(V, R.normalise(Sp, how="zscore"), weight=weight)


def _cost(plan: str, models: tuple[str, ...], spectral: float):
    return lambda f: _plan_cost(f, plan, models) + (float(f["spectral_mid30_s"]) if spectral else 0.0)


def _suffix(spectral: float, query: str) -> str:
    return (f" +spectral {spectral:g}" if spectral else "") + (f" [{query}]" if query != "cosine" else "")


def lda(plan: str, models: tuple[str, ...], layer: str, *, dims: int, shrink: float,
        spectral: float = 0.0, query: str = "cosine") -> Recipe:
    def build(feats):
        P = [np.concatenate([_patches(f, plan, m, layer) for m in models], axis=1) for f in feats]
        proj = R.fit_track_projection(P, dims=dims, shrink=shrink)
        return _with_spectral(R.apply_track_projection(proj, P), feats, spectral)

    name = f"{plan} {'+'.join(m[:3] for m in models)} {layer} LDA{dims} a={shrink:g}" + _suffix(spectral, query)
    return Recipe(name, build, _cost(plan, models, spectral), query)


def shipped() -> Recipe:
    """The musicnn backend's own fit/derive on raw vectors laid out as it stores them."""
    from beetsplug.sonic.backends import get_backend

    backend = get_backend("musicnn", segment=30.0, positions=(0.5,))

    def build(feats):
        Rw = np.stack([np.concatenate([_patches(f, "spread9", MSD, "penultimate").ravel(),
                                       f["spectral_mid30"]]) for f in feats])
        return backend.derive(Rw, backend.fit(Rw))

    def cost(f):
        return _plan_cost(f, "spread9", (MSD,)) + float(f["spectral_mid30_s"])

    return Recipe("SHIPPED musicnn: spread9 MSD penultimate LDA32 +spectral 0.3", build, cost)


def spectral(plan: str, norm: str) -> Recipe:
    """The spectral backend alone (with its group weights for ``weighted``)."""
    from beetsplug.sonic.backends import get_backend

    backend = get_backend("spectral", segment=30.0, positions=(0.5,))

    def build(feats):
        Rw = np.stack([f[f"spectral_{plan}"] for f in feats])
        if norm == "weighted":
            return backend.derive(Rw, backend.fit(Rw))
        return R.normalise(Rw, how=norm)

    return Recipe(f"spectral {plan} {norm}", build, lambda f: float(f[f"spectral_{plan}_s"]))


def recipes() -> list[Recipe]:
    both = (MSD, MTT)
    out = [pooled("mid30", (MSD,), "penultimate", "mean", "zscore", name="BASELINE first version: "
                  "mid30 MSD penultimate mean zscore"), shipped()]
    # which audio
    for plan in ("seg3x30", "spread9", "spread17", "spread33"):
        out.append(pooled(plan, (MSD,), "penultimate", "mean", "zscore"))
    # which layer
    for layer in ("dense", "mean_pool", "max_pool", "logits"):
        out.append(pooled("spread17", (MSD,), layer, "mean", "zscore"))
    # which pooling
    for pool in ("meanstd", "meanmax"):
        out.append(pooled("spread17", (MSD,), "dense", pool, "zscore"))
    # which models
    out.append(pooled("spread17", (MTT,), "dense", "mean", "zscore"))
    out.append(pooled("spread17", both, "dense", "mean", "zscore"))
    out.append(pooled("spread17", both, "penultimate", "mean", "zscore"))
    # which normalisation
    for norm in ("none", "pca", "zscore-pc1"):
        out.append(pooled("spread17", both, "dense", "mean", norm))
    # hubness reduction at query time
    out.append(pooled("spread17", both, "dense", "mean", "zscore", query="csls"))
    # fusion with the spectral vector
    for w in (0.2, 0.35, 0.5):
        out.append(pooled("spread17", both, "dense", "mean", "zscore", spectral=w))
    # the track-identity projection
    for dims in (24, 32, 48, 64):
        out.append(lda("spread17", both, "dense", dims=dims, shrink=0.05))
    for shrink in (0.01, 0.1, 0.3):
        out.append(lda("spread17", both, "dense", dims=32, shrink=shrink))
    out.append(lda("spread9", both, "dense", dims=32, shrink=0.05))
    out.append(lda("spread33", both, "dense", dims=32, shrink=0.05))
    out.append(lda("spread17", (MSD,), "dense", dims=32, shrink=0.05))
    out.append(lda("spread17", both, "penultimate", dims=32, shrink=0.05))
    out.append(lda("spread17", both, "dense", dims=32, shrink=0.05, query="csls"))
    out.append(lda("spread17", both, "dense", dims=32, shrink=0.05, spectral=0.35))
    out.append(lda("spread17", both, "dense", dims=32, shrink=0.05, spectral=0.35, query="csls"))
    out.append(lda("spread9", (MSD,), "penultimate", dims=32, shrink=0.05))
    out.append(lda("spread9", (MSD,), "penultimate", dims=32, shrink=0.05, query="csls"))
    for plan in ("mid30", "seg3x30"):
        for norm in ("weighted", "zscore", "none", "pca"):
            out.append(spectral(plan, norm))
    out.append(lda("spread9", (MSD,), "dense", dims=32, shrink=0.05, spectral=0.3))
    out.append(lda("spread17", (MSD,), "penultimate", dims=32, shrink=0.05, spectral=0.3))
    out.append(lda("spread9", (MSD,), "penultimate", dims=64, shrink=0.05, spectral=0.3))
    out.append(lda("spread9", (MSD,), "penultimate", dims=32, shrink=0.05, spectral=0.3, query="csls"))
    return out


def scores(V: np.ndarray, query: str) -> np.ndarray:
    S = similarity(V)
    if query == "csls":
        S = 2 * S - R.hub_scores(S)[None, :]  # the query's own r is the same for every candidate
        np.fill_diagonal(S, -np.inf)
    return S


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder")
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/sonic-quality"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated substrings of recipe names")
    args = ap.parse_args()
    tracks, feats = load_all(args.folder, args.cache, workers=args.workers)
    labels = np.array([t.label for t in tracks])
    names, sizes = np.unique(labels, return_counts=True)
    ceiling = np.mean([min(5, sizes[names == lab][0] - 1) / 5 for lab in labels])
    rng = np.random.default_rng(0)
    print(f"{len(tracks)} tracks, {len(names)} labels: "
          + ", ".join(f"{n} {c}" for n, c in zip(names, sizes)))
    print(f"ceiling P@5 (label sizes) {ceiling:.3f}")
    chosen = [r for r in recipes() if not args.only or any(s in r.name for s in args.only.split(","))]
    rows = []
    base_p = None
    print("\n| recipe | dims | P@5 | MAP | separation | hubness | s/track | ΔP@5 vs first version [95% CI] |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for rec in chosen:
        V = rec.build(feats)
        S = scores(V, rec.query)
        p = precision_at(S, labels)
        if base_p is None:
            base_p = p
            chance = np.mean([precision_at(S, rng.permutation(labels)).mean() for _ in range(20)])
        lo, hi = bootstrap(p - base_p)
        cost = float(np.mean([rec.cost(f) for f in feats]))
        rows.append((rec, p))
        print(f"| {rec.name} | {V.shape[1]} | {p.mean():.3f} | {average_precision(S, labels).mean():.3f} | "
              f"{separation(similarity(V), labels):.2f} | {hubness(S):.2f} | {cost:.2f} | "
              f"{(p - base_p).mean():+.3f} [{lo:+.3f}, {hi:+.3f}] |", flush=True)
    print(f"\nchance P@5 (shuffled labels, first recipe): {chance:.3f}")
    print("\nP@5 by label:\n")
    print("| recipe | " + " | ".join(f"{n} ({c})" for n, c in zip(names, sizes)) + " |")
    print("| --- |" + " ---: |" * len(names))
    for rec, p in rows:
        print(f"| {rec.name} | " + " | ".join(f"{p[labels == n].mean():.2f}" for n in names) + " |")


if __name__ == "__main__":
    main()
